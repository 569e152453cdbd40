"""MQTT: one JSON message per reading at PREFIX/SITE/METER, taken off the spool on PUBACK.

Beside the JSON, each value as a plain number at PREFIX/SITE/METER/QUANTITY (with the reading's
timestamp at PREFIX/SITE/METER/timestamp, published in the same batch), Home Assistant discovery
(sinks/homeassistant.py) and each meter's availability at PREFIX/SITE/METER/availability.
The service's status is retained at PREFIX/SITE/status ("online", or "offline" by last will).
mqtt:// and mqtts:// URLs, TLS with a CA and a client certificate, QoS and retain configurable.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from ..quantities import ordered
from ..reading import Reading
from ..validate import Checker
from . import homeassistant as ha
from .base import Sink, SinkSection

log = logging.getLogger("wattlog.sinks")

PUBLISH_TIMEOUT = 10.0
WATCH_EVERY = 1.0  # seconds between checks of the meters' health and the locations' kWh today


@dataclass(frozen=True)
class MqttConfig:
    host: str
    port: int = 1883
    username: str = ""
    password: str = ""
    topic_prefix: str = "wattlog"
    qos: int = 1
    retain: bool = False
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    client_id: str = ""
    quantity_topics: bool = True
    homeassistant: bool = True
    discovery_prefix: str = "homeassistant"
    dashboard_url: str = ""  # the wattlog web page, linked from each HA device


def topic_for(cfg: MqttConfig, site: str, meter: str) -> str:
    return f"{cfg.topic_prefix}/{site}/{meter}"


def payload(reading: Reading) -> bytes:
    data = reading.to_json()
    data.pop("meter")
    return json.dumps(data, separators=(",", ":")).encode()


def quantity_messages(base: str, reading: Reading) -> list[tuple[str, bytes]]:
    """PREFIX/SITE/METER/QUANTITY -> plain number, and PREFIX/SITE/METER/timestamp."""
    out = [(f"{base}/{reading.meter}/{name}", repr(float(value)).encode()) for name, value in reading.values.items()]
    out.append((f"{base}/{reading.meter}/timestamp", reading.timestamp.isoformat().encode()))
    return out


@dataclass
class Watched:
    """What the sink reads from the running service (set by service/runner.py through `watch`)."""

    statuses: Callable[[], dict[str, Any]]  # meter name -> polling.bus.MeterStatus
    kwh_today: Callable[[], dict[str, float]]  # location -> kWh since local midnight
    month_cost: Callable[[], dict[str, float]]  # location -> this month's cost so far (empty without a tariff)
    last: dict[str, bytes] = field(default_factory=dict)  # topic -> last availability published
    kwh: dict[str, float] = field(default_factory=dict)  # topic -> last kWh today or cost published


class MqttSink(Sink):
    name = "mqtt"

    def __init__(self, cfg: MqttConfig, site: str, meters: list[ha.MeterInfo] | None = None,
                 currency: str = "") -> None:
        self.cfg, self.site, self.currency = cfg, site, currency
        self.meters = meters or []
        self.client: mqtt.Client | None = None
        self._connected = threading.Event()
        self.base = f"{cfg.topic_prefix}/{site}"
        self.status_topic = f"{self.base}/status"
        self.watched: Watched | None = None
        self._stop_watch = threading.Event()
        self._watcher: threading.Thread | None = None
        self.configs: dict[str, dict[str, Any]] = {}
        if cfg.homeassistant:
            self.configs = ha.meter_configs(self.base, site, self.meters, cfg.dashboard_url)
            self.configs |= ha.location_configs(self.base, site, sorted({m.location for m in self.meters}),
                                                cfg.dashboard_url, currency)
        self.removed: list[str] = []  # object ids whose entities were removed (stale retained configs)

    def watch(self, statuses: Callable[[], dict[str, Any]], kwh_today: Callable[[], dict[str, float]],
              month_cost: Callable[[], dict[str, float]] = dict) -> None:
        """Called by the runner: publish meter availability and locations' kWh today and cost from these."""
        self.watched = Watched(statuses, kwh_today, month_cost)

    # -- connection ---------------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, rc: object, _p: object = None) -> None:
        if getattr(rc, "is_failure", False):
            return
        client.publish(self.status_topic, "online", qos=1, retain=True)
        for object_id, config in self.configs.items():  # empty with homeassistant = false
            client.publish(ha.config_topic(self.cfg.discovery_prefix, self.site, object_id),
                           json.dumps(config, separators=(",", ":")), qos=1, retain=True)
        # Retained configs of ours that the config no longer has (removed meters, or discovery turned
        # off): _on_message clears them, so Home Assistant removes their entities.
        client.subscribe(f"{self.cfg.discovery_prefix}/sensor/{ha.node_id(self.site)}/+/config", qos=1)
        if self.watched:
            self.watched.last.clear()  # a restarted broker without persistence lost them
            self.watched.kwh.clear()
        self._connected.set()

    def _on_message(self, client: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        object_id = ha.object_of(msg.topic)
        if msg.retain and msg.payload and object_id not in self.configs:
            client.publish(msg.topic, b"", qos=1, retain=True)
            self.removed.append(object_id)
            log.info("Home Assistant: removed %s (no longer in the config)", object_id)

    def _on_disconnect(self, *_args: object) -> None:
        self._connected.clear()

    def _tls(self, c: mqtt.Client) -> None:
        cfg = self.cfg
        c.tls_set(ca_certs=cfg.ca_file or None, certfile=cfg.cert_file or None, keyfile=cfg.key_file or None,
                  cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)

    def _open(self) -> None:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.cfg.client_id or f"wattlog-{self.site}")
        if self.cfg.username:
            c.username_pw_set(self.cfg.username, self.cfg.password or None)
        if self.cfg.tls:
            self._tls(c)
        c.will_set(self.status_topic, "offline", qos=1, retain=True)
        c.on_connect, c.on_disconnect, c.on_message = self._on_connect, self._on_disconnect, self._on_message
        c.reconnect_delay_set(1, 30)
        self._connected.clear()
        c.connect_async(self.cfg.host, self.cfg.port, keepalive=30)
        c.loop_start()
        self.client = c
        if not self._connected.wait(5.0):
            self._close()
            raise ConnectionError(f"cannot connect to MQTT broker {self.cfg.host}:{self.cfg.port}")
        if self.watched and self._watcher is None:
            self._stop_watch.clear()
            self._watcher = threading.Thread(target=self._watch_loop, name="mqtt watch", daemon=True)
            self._watcher.start()

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    # -- readings -----------------------------------------------------------------------------

    def _messages(self, readings: list[Reading]) -> list[tuple[str, bytes]]:
        out = []
        for r in readings:
            out.append((topic_for(self.cfg, self.site, r.meter), payload(r)))
            if self.cfg.quantity_topics:
                out.extend(quantity_messages(self.base, r))
        return out

    def _publish_all(self, messages: list[tuple[str, bytes]], retain: bool) -> None:
        c = self.client
        if c is None or not self._connected.is_set():
            raise ConnectionError(f"not connected to MQTT broker {self.cfg.host}:{self.cfg.port}")
        infos = [c.publish(t, p, qos=self.cfg.qos, retain=retain) for t, p in messages]
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

    def _publish(self, readings: list[Reading]) -> None:
        self._publish_all(self._messages(readings), self.cfg.retain)

    async def deliver(self, readings: list[Reading]) -> None:
        await asyncio.to_thread(self._publish, readings)

    # -- meter health and locations, from the running service -----------------------------------

    def watch_once(self) -> None:
        """Publish (retained) what changed: each meter's availability, each location's kWh today."""
        w, c = self.watched, self.client
        if w is None or c is None or not self._connected.is_set():
            return
        now: dict[str, bytes] = {}
        for name, st in w.statuses().items():
            online = ha.meter_online(st.state)
            if online is not None:
                now[ha.meter_availability_topic(self.base, name)] = b"online" if online else b"offline"
        for topic, body in now.items():
            if w.last.get(topic) != body:
                c.publish(topic, body, qos=1, retain=True)
                w.last[topic] = body
        if self.cfg.homeassistant:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            for loc, kwh in w.kwh_today().items():
                topic, value = ha.location_topic(self.base, loc), round(kwh, 3)
                if w.kwh.get(topic) != value:  # the timestamp alone changing is no news
                    c.publish(topic, json.dumps({"kwh": value, "timestamp": stamp}), qos=1, retain=True)
                    w.kwh[topic] = value
            for loc, amount in w.month_cost().items() if self.currency else ():
                topic, value = ha.location_topic(self.base, loc, "cost_month"), round(amount, 2)
                if w.kwh.get(topic) != value:
                    c.publish(topic, json.dumps({"amount": value, "currency": self.currency, "timestamp": stamp}),
                              qos=1, retain=True)
                    w.kwh[topic] = value

    def _watch_loop(self) -> None:
        while not self._stop_watch.wait(WATCH_EVERY):
            try:
                self.watch_once()
            except Exception as exc:  # noqa: BLE001 — a status message must never stop the sink
                log.debug("mqtt watch: %s", exc)

    # -- close --------------------------------------------------------------------------------

    def _close(self) -> None:
        self._stop_watch.set()
        if self._watcher is not None:
            self._watcher.join(5)
            self._watcher = None
        c, self.client = self.client, None
        if c is not None:
            if self._connected.is_set():
                c.publish(self.status_topic, "offline", qos=1, retain=True).wait_for_publish(2.0)
            c.disconnect()
            c.loop_stop()

    async def close(self) -> None:
        await asyncio.to_thread(self._close)


KEYS = {"enabled", "url", "host", "port", "username", "username_env", "password", "password_env", "password_file",
        "topic_prefix", "qos", "retain", "tls", "ca_file", "cert_file", "key_file", "client_id", "quantity_topics",
        "homeassistant", "discovery_prefix", "dashboard_url"}


def _flag(c: Checker, table: dict[str, Any], key: str, default: bool) -> bool:
    v = table.get(key, default)
    if not isinstance(v, bool):
        c.fail(f"mqtt.{key}", f"expected true or false, got {v!r}", f"write {key} = true or {key} = false")
        return default
    return v


def _url(c: Checker, url: str) -> tuple[str, int | None, bool]:
    """(host, port or None, tls) from mqtt://HOST[:PORT] or mqtts://HOST[:PORT]."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        c.fail("mqtt.url", f"not a valid URL: {url!r}", "write mqtt://HOST:1883 or mqtts://HOST:8883")
        return "", None, False
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        c.fail("mqtt.url", f"not an MQTT URL: {url!r}", "write mqtt://HOST:1883 or mqtts://HOST:8883")
        return "", None, False
    if parts.username or parts.password:
        c.fail("mqtt.url", "credentials do not belong in the URL",
               "use username (or username_env) and password_env or password_file")
    return parts.hostname, port, parts.scheme == "mqtts"


def _file(c: Checker, table: dict[str, Any], key: str) -> str:
    text = c.string(table, key, "mqtt.")
    if not text:
        return ""
    p = c.resolve(text)
    if not p.is_file():
        c.fail(f"mqtt.{key}", f"{p} does not exist", "give the path of a PEM file readable by the service user")
    return str(p)


def parse_mqtt(c: Checker, mqtt_table: Any, cfg: Any) -> MqttConfig | None:
    """[mqtt]: off unless the table is there (and not enabled = false)."""
    t = c.section({"mqtt": mqtt_table}, "mqtt") if mqtt_table is not None else {}
    c.keys(t, KEYS, "mqtt.")
    if not t or not t.get("enabled", True):
        return None
    host, port, tls = c.string(t, "host", "mqtt.", ""), None, False
    if "url" in t:
        if host:
            c.fail("mqtt.host", "both url and host are set", "keep one of them")
        host, port, tls = _url(c, c.string(t, "url", "mqtt."))
        if "tls" in t and t["tls"] is not tls:
            c.fail("mqtt.tls", f"tls = {str(t['tls']).lower()} contradicts the url's scheme",
                   "remove tls: mqtts:// turns TLS on, mqtt:// leaves it off")
    if not host:
        c.fail("mqtt.host", "missing", 'url = "mqtt://127.0.0.1:1883" (or set enabled = false)')
    tls = _flag(c, t, "tls", tls)
    if port is None:
        port = int(c.number(t, "port", "mqtt.", 8883 if tls else 1883, 1, 65535))
    username = c.string(t, "username", "mqtt.")
    env = c.string(t, "username_env", "mqtt.")
    if env:
        if env not in os.environ:
            c.fail("mqtt.username_env", f"environment variable {env} is not set",
                   f"set {env} in the service's environment (systemd: EnvironmentFile=)")
        username = os.environ.get(env, "")
    ca, cert, key = _file(c, t, "ca_file"), _file(c, t, "cert_file"), _file(c, t, "key_file")
    if bool(cert) != bool(key):
        c.fail("mqtt.key_file" if cert else "mqtt.cert_file", "a client certificate needs both cert_file and key_file",
               "give both, or neither")
    if (ca or cert) and not tls:
        c.fail("mqtt.tls", "certificates are set but TLS is off", 'use url = "mqtts://HOST:8883" or tls = true')
    dashboard = c.string(t, "dashboard_url", "mqtt.")
    if dashboard and not dashboard.startswith(("http://", "https://")):
        c.fail("mqtt.dashboard_url", f"not an http(s) URL: {dashboard!r}", 'e.g. dashboard_url = "http://pi.local:8080"')
    return MqttConfig(host=host, port=port, username=username, password=c.secret(t, "mqtt."),
                      topic_prefix=c.string(t, "topic_prefix", "mqtt.", "wattlog").strip("/"),
                      qos=int(c.number(t, "qos", "mqtt.", 1, 0, 2)), retain=_flag(c, t, "retain", False), tls=tls,
                      ca_file=ca, cert_file=cert, key_file=key, client_id=c.string(t, "client_id", "mqtt.", ""),
                      quantity_topics=_flag(c, t, "quantity_topics", True),
                      homeassistant=_flag(c, t, "homeassistant", True),
                      discovery_prefix=c.string(t, "discovery_prefix", "mqtt.", "homeassistant").strip("/"),
                      dashboard_url=dashboard)


def meter_infos(cfg: Any) -> list[ha.MeterInfo]:
    """Discovery's view of the site's meters (config.MeterConfig)."""
    out = []
    for m in cfg.meters:
        model = m.model
        qs = tuple((r.name, r.unit, r.kind) for r in model.registers)
        order = ordered([q[0] for q in qs])
        qs = tuple(sorted(qs, key=lambda q: order.index(q[0])))
        out.append(ha.MeterInfo(m.name, model.model, model.name, model.manufacturer, m.location, qs))
    return out


SECTION = SinkSection("mqtt", parse_mqtt, lambda mqtt_cfg, cfg: [
    MqttSink(mqtt_cfg, cfg.site, meter_infos(cfg), cfg.tariff.currency if cfg.tariff else "")])
