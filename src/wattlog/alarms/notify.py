"""Notification channels: e-mail (SMTP with STARTTLS), Telegram bot API, LINE Messaging API push,
a generic JSON webhook, MQTT. Each `send` blocks (run it off the event loop) and raises on failure;
base URLs are settings, so tests point them at local servers.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from ..errors import SendError

TYPES = ("smtp", "telegram", "line", "webhook", "mqtt")
TIMEOUT = 15.0


@dataclass(frozen=True)
class Channel:
    name: str  # the config key: [alarms.channels.NAME]
    type: str
    options: dict[str, Any] = field(default_factory=dict)
    secret: str = ""  # password or token, from the environment or a file
    quiet: tuple[time, time] | None = None  # local [start, end): held until the end
    per_hour: int = 20  # at most this many messages an hour; the rest wait

    def __repr__(self) -> str:  # never print the secret
        return f"Channel({self.name!r}, {self.type!r})"


def send(channel: Channel, message: dict[str, Any]) -> None:
    """Deliver one message: {"title", "text", "state", "event": {...}, "id"}."""
    import smtplib  # here, not at import: the config loads this module and `wattlog --help` stays quick

    try:
        SENDERS[channel.type](channel, message)
    except SendError:
        raise
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        raise SendError(f"{type(exc).__name__}: {exc}") from exc


def _smtp(ch: Channel, message: dict[str, Any]) -> None:
    import smtplib
    import ssl
    from email.message import EmailMessage

    o = ch.options
    mail = EmailMessage()
    mail["Subject"] = message["title"]
    mail["From"] = o["from"]
    mail["To"] = ", ".join(o["to"])
    mail.set_content(message["text"])
    context = ssl.create_default_context(cafile=o.get("ca_file") or None)
    with smtplib.SMTP(o["host"], int(o.get("port", 587)), timeout=TIMEOUT) as s:
        s.ehlo()
        if o.get("starttls", True):
            s.starttls(context=context)
            s.ehlo()
        if o.get("username"):
            s.login(o["username"], ch.secret)
        s.send_message(mail)


def _post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    import urllib.error
    import urllib.request

    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            resp.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:200].decode("utf-8", "replace")
        shown = url.split("/bot")[0] + "/bot…" if "/bot" in url else url  # never log a Telegram token
        raise SendError(f"HTTP {exc.code} from {shown}: {detail}") from None


def _telegram(ch: Channel, message: dict[str, Any]) -> None:
    base = ch.options.get("base_url", "https://api.telegram.org").rstrip("/")
    _post(f"{base}/bot{ch.secret}/sendMessage",
          {"chat_id": ch.options["chat_id"], "text": message["text"], "disable_web_page_preview": True})


def _line(ch: Channel, message: dict[str, Any]) -> None:
    base = ch.options.get("base_url", "https://api.line.me").rstrip("/")
    # X-Line-Retry-Key: LINE drops a retried push it already delivered (the same key, as a UUID)
    retry_key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"wattlog:{message['id']}"))
    _post(f"{base}/v2/bot/message/push", {"to": ch.options["to"], "messages": [{"type": "text", "text": message["text"]}]},
          {"Authorization": f"Bearer {ch.secret}", "X-Line-Retry-Key": retry_key})


def _webhook(ch: Channel, message: dict[str, Any]) -> None:
    headers = dict(ch.options.get("headers", {}))
    if ch.secret:
        headers["Authorization"] = f"Bearer {ch.secret}"
    _post(ch.options["url"], {"title": message["title"], "text": message["text"], "state": message["state"],
                              "event": message["event"]}, headers)


def _mqtt(ch: Channel, message: dict[str, Any]) -> None:
    import paho.mqtt.client as mqtt  # only where a site uses it

    o = ch.options
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"wattlog-alarm-{uuid.uuid4().hex[:8]}")
    if o.get("username"):
        client.username_pw_set(o["username"], ch.secret)
    try:
        client.connect(o.get("host", "127.0.0.1"), int(o.get("port", 1883)), keepalive=30)
        client.loop_start()
        info = client.publish(o["topic"], json.dumps({"title": message["title"], "text": message["text"],
                                                      "state": message["state"], "event": message["event"]}),
                              qos=1)
        info.wait_for_publish(timeout=TIMEOUT)
        if not info.is_published():
            raise SendError(f"the broker {o.get('host')}:{o.get('port', 1883)} did not acknowledge")
    finally:
        client.loop_stop()
        client.disconnect()


SENDERS = {"smtp": _smtp, "telegram": _telegram, "line": _line, "webhook": _webhook, "mqtt": _mqtt}
