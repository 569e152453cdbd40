"""MQTT against a real Mosquitto: every reading published, the status retained, and a broker
outage in the middle of a run costs nothing."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import paho.mqtt.client as mqtt
from test_service import UNITS, run_for, site_config

from wattlog.service.runner import Service
from wattlog.sim import SimOptions, SimThread


class Subscriber:
    """A persistent-session QoS 1 subscriber collecting (meter, timestamp) per message."""

    def __init__(self, port: int, topic: str, client_id: str) -> None:
        self.messages: list[tuple[str, dict]] = []
        self.status: list[str] = []
        self.values: list[tuple[str, str]] = []
        self.ready = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        c.on_connect = lambda cl, u, f, rc, p=None: (cl.subscribe(topic, qos=1), self.ready.set())
        c.on_message = self._message
        c.reconnect_delay_set(0.2, 1)
        c.connect("127.0.0.1", port)
        c.loop_start()
        self.client = c
        assert self.ready.wait(5)

    def _message(self, _c, _u, msg) -> None:
        if msg.topic.endswith("/status"):
            self.status.append(msg.payload.decode())
        elif msg.topic.count("/") == 2 and not msg.retain:
            # readings only: the shared broker may hold other retained topics under the same prefix
            # (a non-JSON one would end paho's network thread here, and every later message with it)
            self.messages.append((msg.topic, json.loads(msg.payload)))
        else:
            self.values.append((msg.topic, msg.payload.decode()))

    def keys(self) -> set[tuple[str, str]]:
        return {(t.rsplit("/", 1)[1], m["timestamp"]) for t, m in self.messages}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def spooled_keys(svc: Service) -> int:
    return svc.spooled


def test_every_reading_is_published(mqtt_broker, tmp_path):
    with SimThread(SimOptions(units=dict(UNITS), tcp=[("127.0.0.1", 0)])) as sim:
        cfg = site_config(sim.endpoints[0], tmp_path / "data",
                          extra={"mqtt": {"host": "127.0.0.1", "port": mqtt_broker, "topic_prefix": "wltest"}})
        sub = Subscriber(mqtt_broker, "wltest/t/#", f"wattlog-test-{time.time()}")
        svc = Service(cfg)
        run_for(svc, 2.5)
        time.sleep(0.5)
        sub.close()
    assert len(sub.keys()) == svc.spooled >= 6
    topic, first = sub.messages[0]
    assert topic in {f"wltest/t/{n}" for n in UNITS.values()}
    assert 200 < first["values"]["voltage_l1"] < 260 and first["model"] == "rx380"
    assert "online" in sub.status and sub.status[-1] == "offline"  # the first may be last run's, retained


def test_broker_outage_loses_nothing(throwaway_broker, tmp_path):
    broker = throwaway_broker
    with SimThread(SimOptions(units=dict(UNITS), tcp=[("127.0.0.1", 0)])) as sim:
        cfg = site_config(sim.endpoints[0], tmp_path / "data",
                          extra={"mqtt": {"host": "127.0.0.1", "port": broker.port}})
        sub = Subscriber(broker.port, "wattlog/t/#", "wattlog-outage-test")
        svc = Service(cfg)
        seen = {}

        async def outage(svc: Service) -> None:
            worker = next(w for w in svc.workers if w.sink.name == "mqtt")
            await asyncio.sleep(1.5)
            assert worker.state == "ok"
            await asyncio.to_thread(broker.stop)
            await asyncio.sleep(2.5)
            seen["state"], seen["pending"] = worker.state, await svc.spool.pending("mqtt")
            await asyncio.to_thread(broker.start)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (worker.state != "ok" or await svc.spool.pending("mqtt")):
                await asyncio.sleep(0.2)

        run_for(svc, 0, during=outage)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(sub.keys()) < svc.spooled:
            time.sleep(0.2)
        sub.close()
    assert seen["state"] == "down" and seen["pending"] > 0
    assert len(sub.keys()) == svc.spooled, "every reading reached the broker after it came back"
    # the plain-number topics too: each reading's timestamp topic, once per reading at least
    stamps = {(t.split("/")[2], p) for t, p in sub.values if t.endswith("/timestamp")}
    assert stamps == sub.keys()
