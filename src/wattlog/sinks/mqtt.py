"""MQTT: one JSON message per reading at PREFIX/SITE/METER, QoS 1, taken off the spool on PUBACK.

The service's status is retained at PREFIX/SITE/status ("online", or "offline" by last will).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from ..reading import Reading
from ..validate import Checker
from .base import Sink, SinkSection

PUBLISH_TIMEOUT = 10.0


@dataclass(frozen=True)
class MqttConfig:
    host: str
    port: int = 1883
    username: str = ""
    password: str = ""
    topic_prefix: str = "wattlog"
    qos: int = 1
    tls: bool = False
    client_id: str = ""


def topic_for(cfg: MqttConfig, site: str, meter: str) -> str:
    return f"{cfg.topic_prefix}/{site}/{meter}"


def payload(reading: Reading) -> bytes:
    data = reading.to_json()
    data.pop("meter")
    return json.dumps(data, separators=(",", ":")).encode()


class MqttSink(Sink):
    name = "mqtt"

    def __init__(self, cfg: MqttConfig, site: str) -> None:
        self.cfg, self.site = cfg, site
        self.client: mqtt.Client | None = None
        self._connected = threading.Event()
        self.status_topic = f"{cfg.topic_prefix}/{site}/status"

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, rc: object, _p: object = None) -> None:
        if not getattr(rc, "is_failure", False):
            client.publish(self.status_topic, "online", qos=1, retain=True)
            self._connected.set()

    def _on_disconnect(self, *_args: object) -> None:
        self._connected.clear()

    def _open(self) -> None:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.cfg.client_id or f"wattlog-{self.site}")
        if self.cfg.username:
            c.username_pw_set(self.cfg.username, self.cfg.password or None)
        if self.cfg.tls:
            c.tls_set()
        c.will_set(self.status_topic, "offline", qos=1, retain=True)
        c.on_connect, c.on_disconnect = self._on_connect, self._on_disconnect
        c.reconnect_delay_set(1, 30)
        self._connected.clear()
        c.connect_async(self.cfg.host, self.cfg.port, keepalive=30)
        c.loop_start()
        self.client = c
        if not self._connected.wait(5.0):
            self._close()
            raise ConnectionError(f"cannot connect to MQTT broker {self.cfg.host}:{self.cfg.port}")

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    def _publish(self, readings: list[Reading]) -> None:
        c = self.client
        if c is None or not self._connected.is_set():
            raise ConnectionError(f"not connected to MQTT broker {self.cfg.host}:{self.cfg.port}")
        infos = [c.publish(topic_for(self.cfg, self.site, r.meter), payload(r), qos=self.cfg.qos) for r in readings]
        deadline = time.monotonic() + PUBLISH_TIMEOUT
        for info in infos:
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise ConnectionError(f"MQTT publish failed: {mqtt.error_string(info.rc)}")
            while self.cfg.qos > 0 and not info.is_published():
                # A lost connection fails the batch at once; it is published again later.
                if not self._connected.is_set():
                    raise ConnectionError(f"lost the MQTT broker {self.cfg.host}:{self.cfg.port}")
                if time.monotonic() > deadline:
                    raise ConnectionError(f"MQTT broker did not acknowledge within {PUBLISH_TIMEOUT:g} s")
                info.wait_for_publish(0.2)

    async def deliver(self, readings: list[Reading]) -> None:
        await asyncio.to_thread(self._publish, readings)

    def _close(self) -> None:
        c, self.client = self.client, None
        if c is not None:
            if self._connected.is_set():
                c.publish(self.status_topic, "offline", qos=1, retain=True).wait_for_publish(2.0)
            c.disconnect()
            c.loop_stop()

    async def close(self) -> None:
        await asyncio.to_thread(self._close)


def parse_mqtt(c: Checker, mqtt_table: Any, cfg: Any) -> MqttConfig | None:
    """[mqtt]: off unless the table is there (and not enabled = false)."""
    mqtt = c.section({"mqtt": mqtt_table}, "mqtt") if mqtt_table is not None else {}
    c.keys(mqtt, {"enabled", "host", "port", "username", "password", "password_env", "password_file",
                  "topic_prefix", "qos", "tls", "client_id"}, "mqtt.")
    if not mqtt or not mqtt.get("enabled", True):
        return None
    host = c.string(mqtt, "host", "mqtt.", "")
    if not host:
        c.fail("mqtt.host", "missing", 'host = "127.0.0.1" (or set enabled = false)')
    return MqttConfig(host=host, port=int(c.number(mqtt, "port", "mqtt.", 1883, 1, 65535)),
                      username=c.string(mqtt, "username", "mqtt."), password=c.secret(mqtt, "mqtt."),
                      topic_prefix=c.string(mqtt, "topic_prefix", "mqtt.", "wattlog").strip("/"),
                      qos=int(c.number(mqtt, "qos", "mqtt.", 1, 0, 2)), tls=bool(mqtt.get("tls", False)),
                      client_id=c.string(mqtt, "client_id", "mqtt.", ""))


SECTION = SinkSection("mqtt", parse_mqtt, lambda mqtt, cfg: [MqttSink(mqtt, cfg.site)])
