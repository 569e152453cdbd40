"""/metrics from a running service (simulator over real Modbus TCP, a meter that never answers),
parsed back with the official Prometheus client's parser."""

from __future__ import annotations

import asyncio
import re

from prometheus_client.parser import text_string_to_metric_families
from test_service import UNITS, run_for

from wattlog.config import parse_config
from wattlog.service.metrics import render
from wattlog.service.runner import Service
from wattlog.sim import SimOptions, SimThread

LOCATIONS = {"office": "Office", "workshop": "Workshop", "aircon": "Office"}


def _scrape(tmp_path) -> tuple[dict, Service, dict]:
    with SimThread(SimOptions(units=dict(UNITS), tcp=[("127.0.0.1", 0)])) as sim:
        base = sim.endpoints[0]
        meters = [{"name": n, "url": f"{base}/{u}?timeout=0.3", "location": LOCATIONS[n]} for u, n in UNITS.items()]
        meters.append({"name": "store", "url": f"{base}/9?timeout=0.2", "location": "Store"})
        cfg = parse_config({"site": {"name": "t", "data_dir": str(tmp_path / "data")},
                            "intervals": {"poll": "0.3s", "summary": 0}, "meters": meters,
                            "spool": {"flush": "0.3s"},  # the sinks' counters must move within the scrape's 2.5 s
                            "databases": [{"url": f"sqlite:///{tmp_path / 'data' / 'wattlog.db'}", "every": "0s"}],
                            "log": {"file": str(tmp_path / "log")}}, "")
        svc = Service(cfg)
        out: dict = {}

        async def scrape(svc: Service) -> None:
            await asyncio.sleep(2.5)
            body, ctype = render(svc)
            out["text"], out["ctype"] = body.decode(), ctype
            out["live"] = {m: svc.live.latest(m) for m in UNITS.values()}

        run_for(svc, 0, during=scrape)
    families = {f.name: f for f in text_string_to_metric_families(out["text"])}
    return families, svc, out


def _samples(family, name=None, **labels):
    return [s for s in family.samples if (name is None or s.name == name)
            and all(s.labels.get(k) == v for k, v in labels.items())]


def test_metrics_parse_and_follow_the_conventions(tmp_path):
    fam, svc, out = _scrape(tmp_path)
    assert out["ctype"].startswith("text/plain; version=0.0.4")
    for f in fam.values():
        assert re.fullmatch(r"wattlog_[a-z0-9_]+", f.name), f.name
        assert f.documentation, f.name
        if f.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in f.samples), f.name

    # quantities: gauges with site, meter and location labels, equal to the live state
    volts = fam["wattlog_voltage_l1_volts"]
    assert volts.type == "gauge"
    office = _samples(volts, meter="office")[0]
    assert office.labels == {"site": "t", "meter": "office", "location": "Office"}
    assert office.value == out["live"]["office"].values["voltage_l1"]
    assert {s.labels["meter"] for s in volts.samples} == set(UNITS.values())  # none for the silent meter
    assert fam["wattlog_total_power_factor_ratio"].type == "gauge"
    # energy counters are counters, in watt-hours
    energy = fam["wattlog_total_real_energy_watt_hours"]
    assert energy.type == "counter"
    wh = _samples(energy, "wattlog_total_real_energy_watt_hours_total", meter="workshop")[0].value
    assert wh == out["live"]["workshop"].values["total_real_energy"] * 1000
    assert fam["wattlog_total_reactive_energy_var_hours"].type == "counter"

    up = {s.labels["meter"]: s.value for s in fam["wattlog_meter_up"].samples}
    assert up["office"] == 1 and up["store"] == 0

    # the bus: requests, errors by kind (the silent meter's timeouts), latency histogram
    bus = svc.pollers[0].bus
    requests = _samples(fam["wattlog_bus_requests"], "wattlog_bus_requests_total", bus=bus)[0].value
    assert requests > 0
    timeouts = _samples(fam["wattlog_bus_errors"], kind="timeout", bus=bus)[0].value
    assert timeouts > 0 and timeouts == _samples(fam["wattlog_bus_timeouts"], bus=bus)[0].value
    hist = fam["wattlog_bus_request_duration_seconds"]
    assert hist.type == "histogram"
    count = _samples(hist, "wattlog_bus_request_duration_seconds_count", bus=bus)[0].value
    # every request, answered or timed out, is in the histogram once it is over (one may be on the wire)
    assert requests - 1 <= count <= requests and count > 0
    buckets = [s for s in hist.samples if s.name.endswith("_bucket")]
    assert [s.labels["le"] for s in buckets][-1] == "+Inf" and buckets[-1].value == count
    assert all(a.value <= b.value for a, b in zip(buckets, buckets[1:]))
    # timeouts take 0.2 s each: they land above the 0.1 s bucket
    le_01 = next(s.value for s in buckets if float(s.labels["le"]) == 0.1)
    assert le_01 <= count - timeouts
    assert _samples(fam["wattlog_bus_busy_seconds"])[0].value > 0

    # the spool and the sinks
    spooled = _samples(fam["wattlog_readings_spooled"], "wattlog_readings_spooled_total")[0].value
    assert spooled > 0
    delivered = {s.labels["sink"]: s.value for s in fam["wattlog_sink_readings_delivered"].samples
                 if s.name.endswith("_total")}
    assert set(delivered) == {w.sink.name for w in svc.workers} and delivered
    assert all(0 <= v <= spooled for v in delivered.values()) and delivered["db:main"] > 0  # CSV: every 5 min
