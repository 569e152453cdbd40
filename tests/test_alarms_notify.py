"""Alarm channels against real local servers (aiosmtpd with STARTTLS, HTTP stand-ins for Telegram,
LINE and a webhook, Mosquitto), and the durable outbox: down channels get the alarm when they are
back, also after a restart; dedupe, quiet hours and the rate limit hold messages, never drop them."""

from __future__ import annotations

import json
import threading
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from wattlog.alarms.notify import Channel, SendError, send
from wattlog.alarms.outbox import Outbox

TZ = ZoneInfo("Asia/Kuala_Lumpur")
MSG = {"id": "hv/office/x|raised|c", "title": "[plant] Over-voltage: office", "state": "raised",
       "text": "Over-voltage at office: 258.0 V on L2, above 253.0 V, since 14:05 (local time).",
       "event": {"key": "hv/office/x", "kind": "overvoltage", "peak": 258.0, "unit": "V"}}


def test_smtp_with_starttls_and_login(smtp_server):
    ch = Channel("mail", "smtp", {"host": "127.0.0.1", "port": smtp_server.port, "from": "wattlog@plant.example",
                                  "to": ["ops@plant.example"], "username": "alarms", "ca_file": str(smtp_server.cert)},
                 secret="s3cret")
    send(ch, MSG)
    [(sender, to, text, tls)] = smtp_server.messages
    assert sender == "wattlog@plant.example" and to == ["ops@plant.example"] and tls
    assert "Subject: [plant] Over-voltage: office" in text and "258.0 V on L2" in text
    with pytest.raises(SendError):  # a server that is down is a failure the outbox retries
        send(Channel("mail", "smtp", {**ch.options, "port": 1}, secret="s3cret"), MSG)


def test_smtp_refuses_an_untrusted_certificate(smtp_server):
    ch = Channel("mail", "smtp", {"host": "127.0.0.1", "port": smtp_server.port, "from": "a@b.example",
                                  "to": ["c@d.example"], "username": "alarms"}, secret="s3cret")
    with pytest.raises(SendError, match="CERTIFICATE_VERIFY_FAILED|certificate"):
        send(ch, MSG)
    assert smtp_server.messages == []


def test_telegram_line_webhook_requests(http_recorder):
    base = http_recorder.url
    send(Channel("tg", "telegram", {"base_url": base, "chat_id": "-100123"}, secret="123:ABC"), MSG)
    send(Channel("line", "line", {"base_url": base, "to": "U0123456789abcdef"}, secret="line-token"), MSG)
    send(Channel("hook", "webhook", {"url": base + "/hooks/wa", "headers": {"X-Source": "wattlog"}},
                 secret="hook-token"), MSG)
    (m1, p1, h1, b1), (m2, p2, h2, b2), (m3, p3, h3, b3) = http_recorder.requests
    assert (m1, p1) == ("POST", "/bot123:ABC/sendMessage")
    assert h1["content-type"] == "application/json; charset=utf-8"
    assert b1 == {"chat_id": "-100123", "text": MSG["text"], "disable_web_page_preview": True}
    assert p2 == "/v2/bot/message/push" and h2["authorization"] == "Bearer line-token"
    assert len(h2["x-line-retry-key"]) == 36  # a UUID: LINE ignores a retried push it already took
    assert b2 == {"to": "U0123456789abcdef", "messages": [{"type": "text", "text": MSG["text"]}]}
    assert p3 == "/hooks/wa" and h3["authorization"] == "Bearer hook-token" and h3["x-source"] == "wattlog"
    assert b3 == {"title": MSG["title"], "text": MSG["text"], "state": "raised", "event": MSG["event"]}


def test_http_error_is_a_send_error_without_the_token(http_recorder):
    http_recorder.status = 503
    with pytest.raises(SendError) as err:
        send(Channel("tg", "telegram", {"base_url": http_recorder.url, "chat_id": "1"}, secret="123:SECRET"), MSG)
    assert "503" in str(err.value) and "SECRET" not in str(err.value)


def test_mqtt_channel_on_real_mosquitto(mqtt_broker):
    import paho.mqtt.client as mqtt

    got, ready = [], threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_connect = lambda c, u, f, rc, p: (c.subscribe("wattlog/test-alarms/#", qos=1), None)
    sub.on_subscribe = lambda *a: ready.set()
    sub.on_message = lambda c, u, m: got.append((m.topic, json.loads(m.payload)))
    sub.connect("127.0.0.1", mqtt_broker)
    sub.loop_start()
    try:
        assert ready.wait(5)
        send(Channel("mq", "mqtt", {"host": "127.0.0.1", "port": mqtt_broker, "topic": "wattlog/test-alarms/plant"}), MSG)
        for _ in range(50):
            if got:
                break
            threading.Event().wait(0.1)
        assert got == [("wattlog/test-alarms/plant", {"title": MSG["title"], "text": MSG["text"], "state": "raised",
                                                       "event": MSG["event"]})]
    finally:
        sub.loop_stop()
        sub.disconnect()


def _box(tmp_path, recorder, **kw):
    ch = Channel("hook", "webhook", {"url": recorder.url + "/h"}, **kw)
    sent = []
    return Outbox(tmp_path / "outbox.db", [ch], TZ, on_sent=lambda *a: sent.append(a)), sent


def test_outbox_retries_a_down_channel_and_survives_a_restart(tmp_path, http_recorder):
    box, sent = _box(tmp_path, http_recorder)
    assert box.put("e1", "raised", {"title": "t", "text": "x1", "state": "raised", "event": {}}, now=1000) == 1
    assert box.put("e1", "raised", {"title": "t", "text": "x1", "state": "raised", "event": {}}, now=1001) == 0  # dedupe
    http_recorder.status = 503
    assert box.deliver_due(now=1000) == [("hook", "e1", False)]
    assert box.deliver_due(now=1005) == []  # backoff: not yet
    assert box.deliver_due(now=1010) == [("hook", "e1", False)]  # 10 s later; next wait 20 s
    assert box.pending()[0]["attempts"] == 2 and "503" in box.pending()[0]["error"]
    box.close()
    http_recorder.status = 200
    box, sent = _box(tmp_path, http_recorder)  # a restart: the outbox file still has it
    assert box.deliver_due(now=1029) == []
    assert box.deliver_due(now=1030) == [("hook", "e1", True)]
    assert [r[3]["text"] for r in http_recorder.requests] == ["x1"]
    assert sent and sent[0][:3] == ("e1", "hook", "raised")
    assert box.pending() == [] and box.deliver_due(now=5000) == []  # delivered once


def test_quiet_hours_hold_and_rate_limit_defers(tmp_path, http_recorder):
    box, _ = _box(tmp_path, http_recorder, quiet=(time(22), time(7)), per_hour=2)
    night = datetime(2026, 12, 2, 23, 0, tzinfo=TZ).timestamp()
    box.put("e1", "raised", {"title": "t", "text": "a", "state": "raised", "event": {}}, now=night)
    assert box.deliver_due(now=night) == []
    morning = datetime(2026, 12, 3, 7, 0, tzinfo=TZ).timestamp()
    assert box.pending()[0]["next_try"] == morning  # held to the end of the quiet hours, not dropped
    for i in (2, 3):
        box.put(f"e{i}", "raised", {"title": "t", "text": f"{'abc'[i - 1]}", "state": "raised", "event": {}}, now=morning)
    assert [d[1] for d in box.deliver_due(now=morning)] == ["e1", "e2"]  # two an hour
    assert box.pending()[0]["key"] == "e3" and box.pending()[0]["next_try"] == morning + 3600
    assert [d[1] for d in box.deliver_due(now=morning + 3600)] == ["e3"]
    assert [r[3]["text"] for r in http_recorder.requests] == ["a", "b", "c"]
