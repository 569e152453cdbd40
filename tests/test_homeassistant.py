"""Home Assistant discovery against a real Mosquitto: every payload checked field by field against HA's
documented MQTT sensor schema (tests/ha_schema.py), templates rendered with Jinja as HA does, a meter
that does not answer goes unavailable, a meter removed from the config loses its entities."""

from __future__ import annotations

import json
import threading
import time

import jinja2
import paho.mqtt.client as mqtt
import pytest
from ha_schema import problems
from test_service import run_for

from wattlog.config import parse_config
from wattlog.meters.definition import load_models
from wattlog.service.runner import Service
from wattlog.sim import SimOptions, SimThread
from wattlog.sinks import homeassistant as ha
from wattlog.sinks.mqtt import meter_infos

UNITS = {1: "office", 2: "workshop", 3: "aircon"}
LOCATIONS = {"office": "Office", "workshop": "Workshop", "aircon": "Office", "store": "Store"}


class Recorder:
    """Every message under the given filters: the last payload and retain flag per topic."""

    def __init__(self, port: int, *filters: str) -> None:
        self.last: dict[str, tuple[bytes, bool]] = {}
        self.all: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        ready = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        c.on_connect = lambda cl, u, f, rc, p=None: (cl.subscribe([(t, 1) for t in filters]), ready.set())
        c.on_message = self._message
        c.connect("127.0.0.1", port)
        c.loop_start()
        self.client = c
        assert ready.wait(5)
        time.sleep(0.3)  # retained messages arrive after the SUBACK

    def _message(self, _c, _u, msg) -> None:
        with self.lock:
            self.last[msg.topic] = (msg.payload, msg.retain)
            self.all.append((msg.topic, msg.payload))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _config(base: str, port: int, prefix: str, discovery: str, data_dir):
    meters = [{"name": n, "url": f"{base}/{u}?timeout=0.3", "location": LOCATIONS[n]} for u, n in UNITS.items()]
    meters.append({"name": "store", "url": f"{base}/9?timeout=0.2", "location": "Store"})  # no meter answers unit 9
    return parse_config({"site": {"name": "t", "data_dir": str(data_dir)}, "intervals": {"poll": "0.3s", "summary": 0},
                         "meters": meters, "log": {"file": "/dev/null"}, "csv": {"enabled": False},
                         # the run lasts 3.5 s: readings reach MQTT, and the month's cost the database, within it
                         "spool": {"flush": "0.3s"},
                         "databases": [{"url": f"sqlite:///{data_dir}/wattlog.db", "every": "0s"}],
                         "tariff": {"name": "my-tnb-lv-general-2025"},
                         "mqtt": {"url": f"mqtt://127.0.0.1:{port}", "topic_prefix": prefix,
                                  "discovery_prefix": discovery, "dashboard_url": "http://pi.local:8080"}}, "")


def test_payloads_follow_the_sensor_schema():
    model = load_models()["rx380"]
    meter = ha.MeterInfo("office", "rx380", model.name, model.manufacturer, "Office",
                         tuple((r.name, r.unit, r.kind) for r in model.registers))
    configs = ha.meter_configs("wattlog/t", "t", [meter], "http://pi.local:8080")
    configs |= ha.location_configs("wattlog/t", "t", ["Office"], currency="MYR")
    assert len(configs) == len(model.registers) + 2
    for object_id, payload in configs.items():
        assert problems(payload) == [], object_id
    energy = configs["office_total_real_energy"]
    assert (energy["device_class"], energy["unit_of_measurement"], energy["state_class"]) == \
        ("energy", "kWh", "total_increasing")
    assert configs["office_total_reactive_energy"]["device_class"] == "reactive_energy"
    assert "device_class" not in configs["office_total_apparent_energy"]  # HA has none for kVAh
    assert configs["office_total_power_factor"]["device_class"] == "power_factor"
    assert "unit_of_measurement" not in configs["office_total_power_factor"]
    assert configs["office_voltage_l1"]["state_class"] == "measurement"
    # the checker itself bites: each of these is a mistake HA would refuse or misread
    for broken in ({**energy, "state_class": "measurement"}, {**energy, "unit_of_measurement": "kVAh"},
                   {**energy, "stat_t": "x"}, {**energy, "availability_mode": "both"},
                   {**energy, "device": {**energy["device"], "area": "Office"}}):
        assert problems(broken), broken


def test_discovery_on_a_real_broker(mqtt_broker, tmp_path, monkeypatch):
    monkeypatch.setattr("wattlog.service.monthcost.COST_EVERY", 0.5)
    stamp = int(time.time() * 1000) % 10**8
    prefix, discovery = f"wlha{stamp}", f"hatest{stamp}"
    stale = f"{discovery}/sensor/wattlog_t/oldmeter_voltage_l1/config"
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect("127.0.0.1", mqtt_broker)
    pub.loop_start()
    pub.publish(stale, json.dumps({"state_topic": "x", "unique_id": "old"}), qos=1, retain=True).wait_for_publish(5)
    pub.disconnect()
    pub.loop_stop()

    with SimThread(SimOptions(units=dict(UNITS), tcp=[("127.0.0.1", 0)])) as sim:
        cfg = _config(sim.endpoints[0], mqtt_broker, prefix, discovery, tmp_path / "data")
        rec = Recorder(mqtt_broker, f"{discovery}/#", f"{prefix}/#")
        svc = Service(cfg)
        run_for(svc, 3.5)
        time.sleep(0.5)
        rec.close()

    configs = {t: json.loads(p) for t, (p, _r) in rec.last.items() if t.startswith(discovery) and p}
    model = cfg.meters[0].model
    assert len(configs) == 4 * len(model.registers) + 2 * 3  # 4 meters' quantities + 3 locations' kWh and cost
    for topic, payload in configs.items():
        assert problems(payload) == [], topic
    office = configs[f"{discovery}/sensor/wattlog_t/office_total_real_energy/config"]
    assert office["device"]["manufacturer"] == "Mikro" and office["device"]["model"] == "Mikro RX380"
    assert office["device"]["suggested_area"] == "Office"
    assert office["device"]["configuration_url"] == "http://pi.local:8080/meters/office"
    assert [a["topic"] for a in office["availability"]] == [f"{prefix}/t/status", f"{prefix}/t/office/availability"]

    # the stale entity of a meter no longer configured was removed: an empty retained config
    assert rec.last[stale][0] == b""
    after = Recorder(mqtt_broker, stale)
    after.close()
    assert stale not in after.last, "the retained config of a removed meter is gone from the broker"

    # each meter's own health: the meter that never answers is unavailable, the others available
    assert rec.last[f"{prefix}/t/office/availability"][0] == b"online"
    assert rec.last[f"{prefix}/t/store/availability"][0] == b"offline"

    # the state topic's JSON rendered through each value_template as HA does gives the plain value
    env = jinja2.Environment()
    readings = [(t, json.loads(p)) for t, p in rec.all if t == f"{prefix}/t/office"]
    assert readings
    last = readings[-1][1]
    assert "timestamp" in last
    for name in ("voltage_l1", "total_real_energy", "total_power_factor"):
        cfg_q = configs[f"{discovery}/sensor/wattlog_t/office_{name}/config"]
        rendered = env.from_string(cfg_q["value_template"]).render(value_json=last)
        assert float(rendered) == last["values"][name]
    absent = env.from_string(office["value_template"].replace("total_real_energy", "nope")).render(value_json=last)
    assert absent == "None"  # HA shows "unknown", never a stale or zero value

    # plain numbers beside the JSON, with the timestamp of the same reading
    plain = dict(rec.last)
    assert float(plain[f"{prefix}/t/office/voltage_l1"][0]) > 100
    assert plain[f"{prefix}/t/office/timestamp"][0].decode() in {m["timestamp"] for _t, m in readings}

    # each location's kWh today, summed over its meters
    office_today = json.loads(rec.last[f"{prefix}/t/location/Office/energy_today"][0])
    assert office_today["kwh"] >= 0 and "timestamp" in office_today
    # and this month's cost, priced by the site's tariff over the database's rollups
    cost = configs[f"{discovery}/sensor/wattlog_t/location_Office_cost_month/config"]
    assert (cost["device_class"], cost["unit_of_measurement"], cost["state_class"]) == ("monetary", "MYR", "total")
    office_cost = json.loads(rec.last[f"{prefix}/t/location/Office/cost_month"][0])
    assert office_cost["currency"] == "MYR" and office_cost["amount"] > 0


@pytest.mark.parametrize("table, key", [
    ({"url": "http://x"}, "mqtt.url"),
    ({"url": "mqtt://u:p@x"}, "mqtt.url"),
    ({"host": "x", "cert_file": "/etc/hostname", "tls": True}, "mqtt.key_file"),
    ({"host": "x", "ca_file": "/nonexistent.pem", "tls": True}, "mqtt.ca_file"),
    ({"host": "x", "ca_file": "/etc/hostname"}, "mqtt.tls"),
    ({"host": "x", "retain": "yes"}, "mqtt.retain"),
    ({"host": "x", "homeassitant": False}, "mqtt.homeassitant"),
])
def test_bad_mqtt_settings_name_the_key(table, key):
    from wattlog.errors import ConfigProblems

    with pytest.raises(ConfigProblems) as exc:
        parse_config({"meters": [{"name": "a", "url": "tcp://127.0.0.1:5020/1"}], "mqtt": table}, "")
    assert key in [p.key for p in exc.value.problems], [str(p) for p in exc.value.problems]


def test_url_and_discovery_defaults():
    cfg = parse_config({"meters": [{"name": "a", "url": "tcp://127.0.0.1:5020/1"}],
                        "mqtt": {"url": "mqtts://broker.lan"}}, "")
    m = cfg.mqtt
    assert (m.host, m.port, m.tls, m.homeassistant, m.discovery_prefix, m.quantity_topics, m.retain) == \
        ("broker.lan", 8883, True, True, "homeassistant", True, False)
    assert meter_infos(cfg)[0].quantities[0][0] == "voltage_l12"  # vocabulary order


def test_turning_discovery_off_removes_the_entities(mqtt_broker):
    from wattlog.sinks.mqtt import MqttConfig, MqttSink

    discovery = f"hatest{int(time.time() * 1000) % 10**8}"
    topics = [f"{discovery}/sensor/wattlog_t/office_{q}/config" for q in ("voltage_l1", "total_real_energy")]
    other = f"{discovery}/sensor/wattlog_othersite/office_voltage_l1/config"  # another site's: left alone
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect("127.0.0.1", mqtt_broker)
    pub.loop_start()
    for t in [*topics, other]:
        pub.publish(t, b'{"state_topic": "x"}', qos=1, retain=True).wait_for_publish(5)
    sink = MqttSink(MqttConfig(host="127.0.0.1", port=mqtt_broker, homeassistant=False, discovery_prefix=discovery),
                    "t")
    sink._open()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(sink.removed) < 2:
        time.sleep(0.1)
    sink._close()
    after = Recorder(mqtt_broker, f"{discovery}/#")
    after.close()
    pub.publish(other, b"", qos=1, retain=True).wait_for_publish(5)
    pub.disconnect()
    pub.loop_stop()
    assert sorted(sink.removed) == ["office_total_real_energy", "office_voltage_l1"]
    assert set(after.last) == {other}
