"""Alarm rules on synthetic readings: each fires exactly when it should, not on the other side of its
hysteresis, and resolves once; the demand forecast fires at the minute a table of cases says."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from wattlog.alarms.engine import Engine
from wattlog.alarms.rules import Rule
from wattlog.analytics.settings import ReportSettings
from wattlog.reading import Reading

TZ = ZoneInfo("Asia/Kuala_Lumpur")
T0 = datetime(2026, 12, 2, 14, 0, tzinfo=TZ).astimezone(timezone.utc)  # a Wednesday, 14:00 local


def reading(meter: str, t: datetime, **values: float) -> Reading:
    return Reading(meter, t, "rx380", dict(values))


def run(engine: Engine, series: list[tuple[float, str, dict]]) -> list:
    """Feed (seconds after T0, meter, values); return (seconds, alarm) for every alarm."""
    out = []
    for s, meter, values in series:
        t = T0 + timedelta(seconds=s)
        out += [(s, a) for a in engine.feed(reading(meter, t, **values))]
        out += [(s, a) for a in engine.tick(t)]
    return out


def test_overvoltage_fires_after_min_duration_and_resolves_once_past_hysteresis():
    rule = Rule("hv", "overvoltage", ("office",), "meter office", above=253.0, hysteresis=2.0, min_duration=30)
    e = Engine([rule], {"office": "office"}, TZ)
    volts = [240, 254, 255, 240, 254, 256, 257, 258, 252, 251.5, 254, 250, 240, 255]
    series = [(10 * i, "office", {"voltage_l1": 230.0, "voltage_l2": v, "voltage_l3": 231.0}) for i, v in enumerate(volts)]
    got = run(e, series)
    # 254 at 10 s, back to 240 at 30 s (too short); 254 from 40 s: held 30 s at 70 s -> raised, started 40 s
    assert [(s, a.state) for s, a in got] == [(70, "raised"), (110, "resolved")]
    raised, resolved = got[0][1], got[1][1]
    assert raised.start == T0 + timedelta(seconds=40)
    assert "258.0 V on L2, above 253.0 V" in raised.text and "14:00" in raised.text
    assert resolved.peak == 258 and resolved.key == raised.key  # 252 and 251.5 are inside the hysteresis
    assert "Resolved" in resolved.text


@pytest.mark.parametrize("kind,values,bad,good,between", [
    ("undervoltage", "voltage_l1", 210.0, 222.0, 217.0),
    ("power_factor", "total_power_factor", 0.80, 0.90, 0.86),
    ("frequency", "frequency", 50.7, 50.0, 50.45),
])
def test_below_and_band_rules(kind, values, bad, good, between):
    limits = {"undervoltage": dict(below=216.2, hysteresis=3.0), "power_factor": dict(below=0.85, hysteresis=0.02),
              "frequency": dict(above=50.5, below=49.5, hysteresis=0.1)}[kind]
    rule = Rule("r", kind, ("m",), "meter m", **limits)
    e = Engine([rule], {"m": "m"}, TZ)
    seq = [good, bad, between, bad, good, between, bad]
    got = run(e, [(10 * i, "m", {values: v, "voltage_l2": 230, "voltage_l3": 230} if kind != "undervoltage"
                   else {values: v}) for i, v in enumerate(seq)])
    assert [(s, a.state) for s, a in got] == [(10, "raised"), (40, "resolved"), (60, "raised")]


def test_unbalance_and_current():
    unb = Rule("u", "unbalance", ("m",), "meter m", above=2.0, hysteresis=0.5)
    cur = Rule("c", "current", ("m",), "meter m", above=100.0, hysteresis=5.0)
    e = Engine([unb, cur], {"m": "m"}, TZ)
    got = run(e, [(0, "m", {"voltage_l1": 230, "voltage_l2": 230, "voltage_l3": 230, "current_l3": 99}),
                  (10, "m", {"voltage_l1": 236, "voltage_l2": 230, "voltage_l3": 224, "current_l3": 101}),
                  (20, "m", {"voltage_l1": 234, "voltage_l2": 230, "voltage_l3": 226, "current_l3": 97}),
                  (30, "m", {"voltage_l1": 231, "voltage_l2": 230, "voltage_l3": 229, "current_l3": 94})])
    assert [(s, a.rule, a.state) for s, a in got] == [(10, "u", "raised"), (10, "c", "raised"),
                                                    (30, "u", "resolved"), (30, "c", "resolved")]
    assert got[0][1].value == pytest.approx(100 * 6 / 230)


def test_offline_raised_by_tick_and_resolved_by_the_next_reading():
    rule = Rule("off", "offline", ("m",), "meter m", params={"minutes": 5})
    e = Engine([rule], {"m": "m"}, TZ)
    assert e.feed(reading("m", T0, voltage_l1=230)) == []
    assert e.tick(T0 + timedelta(minutes=5)) == []
    raised = e.tick(T0 + timedelta(minutes=5, seconds=10))
    assert [a.state for a in raised] == ["raised"] and raised[0].start == T0
    assert e.tick(T0 + timedelta(minutes=6)) == []  # once
    resolved = e.feed(reading("m", T0 + timedelta(minutes=7), voltage_l1=230))
    assert [a.state for a in resolved] == ["resolved"] and "answers again" in resolved[0].text
    assert e.feed(reading("m", T0 + timedelta(minutes=7, seconds=10), voltage_l1=230)) == []


def test_after_hours_only_outside_working_hours():
    rule = Rule("ah", "after_hours", ("a", "b"), "site", above=12.0, hysteresis=1.0, min_duration=60,
                params={"base_kw": 10.0})
    s = ReportSettings(timezone="Asia/Kuala_Lumpur")
    e = Engine([rule], {"a": "a", "b": "b"}, TZ, s)
    start = datetime(2026, 12, 2, 17, 58, tzinfo=TZ).astimezone(timezone.utc)  # working hours end 18:00
    got = []
    for i in range(24):  # 4 minutes, 10 s apart: 8 + 6 kW = 14 kW throughout
        t = start + timedelta(seconds=10 * i)
        for m, kw in (("a", 8.0), ("b", 6.0 if i < 17 else 2.0)):
            got += [(i, a) for a in e.feed(reading(m, t, total_real_power=kw * 1000))]
    # outside from 18:00:00 (i = 12), held 60 s -> would be raised at i = 18, but b dropped to 2 kW at i = 17
    assert [(i, a.state) for i, a in got] == []
    e2 = Engine([rule], {"a": "a", "b": "b"}, TZ, s)
    got = []
    for i in range(24):
        t = start + timedelta(seconds=10 * i)
        for m, kw in (("a", 8.0), ("b", 6.0 if i < 21 else 3.5)):
            got += [(i, m, a) for a in e2.feed(reading(m, t, total_real_power=kw * 1000))]
    # 11.5 kW is below 12 but not past the 1 kW hysteresis: stays raised; never resolved here
    assert [(i, m, a.state) for i, m, a in got] == [(18, "a", "raised")]


def test_daily_energy_budget_resolves_at_midnight():
    rule = Rule("budget", "daily_energy", ("m",), "location office", above=0.955)
    e = Engine([rule], {"m": "office"}, TZ)
    start = datetime(2026, 12, 2, 23, 50, tzinfo=TZ).astimezone(timezone.utc)
    got = []
    for i in range(121):  # 20 minutes at 6 kW: 0.1 kWh per minute
        t = start + timedelta(seconds=10 * i)
        got += [(i, a) for a in e.feed(reading("m", t, total_real_power=6000))]
    # 0.1 kWh a minute: above 0.955 at 9 min 40 s (i 58); midnight (i 60) resolves it; again at i 118
    assert [(i, a.state) for i, a in got] == [(58, "raised"), (60, "resolved"), (118, "raised")]
    assert e.by_meter["m"][0].kwh == pytest.approx(1.0)  # the 10 minutes since midnight


# The demand forecast: 30-minute blocks from 14:00, target 100 kW; each case is a load profile
# (minute -> kW from that minute on) and the reading (minute:second) at which it must fire, or None.
CASES = [
    ("steady under the target", {0: 90}, None),
    ("steady just over: forecast from 5 min, held 60 s", {0: 101}, "6:00"),
    ("jump at minute 10 to 130: projection 113.3 kW, held 60 s", {0: 80, 10: 130}, "11:00"),
    ("jump at minute 20 to 150: projection 103.3 kW", {0: 80, 20: 150}, "21:00"),
    ("jump at minute 20 to 125: projection 95 kW, not enough", {0: 80, 20: 125}, None),
    ("jump at minute 27: under 2 min left once held 60 s -> too late to shed", {0: 80, 27: 400}, "28:00"),
    ("jump at minute 28: too late", {0: 80, 28: 400}, None),
    ("a 30 s spike is shorter than the minimum duration", {0: 80, 12: 300, 12.5: 80}, None),
]


def profile(steps: dict[float, float], minute: float) -> float:
    return steps[max(k for k in steps if k <= minute)]


@pytest.mark.parametrize("name,steps,when", CASES, ids=[c[0] for c in CASES])
def test_demand_forecast_fires_at_the_minute(name, steps, when):
    rule = Rule("md", "demand", ("a", "b"), "site", min_duration=60,
                params={"window": 30, "target_kw": 100.0, "rate": 97.06, "currency": "RM"})
    e = Engine([rule], {"a": "workshop", "b": "office"}, TZ)
    fired = []
    for i in range(0, 181):  # every 10 s for 30 min, then the first reading of the next block
        t = T0 + timedelta(seconds=10 * i)
        kw = profile(steps, i / 6)
        for m, share in (("a", 0.7), ("b", 0.3)):
            fired += [(i, a) for a in e.feed(reading(m, t, total_real_power=kw * share * 1000))]
    raised = [(i, a) for i, a in fired if a.state == "raised"]
    if when is None:
        assert raised == []
        return
    mm, ss = map(int, when.split(":"))
    assert [i for i, _ in raised] == [(mm * 60 + ss) // 10]
    a = raised[0][1]
    assert a.details["top"][0][0] == "workshop" and a.details["minutes_left"] >= 2
    assert a.details["cost"] == pytest.approx((a.details["projection_kw"] - 100) * 97.06, rel=1e-3)
    assert "RM" in a.text and "min left" in a.text
    resolved = [a for _, a in fired if a.state == "resolved"]
    assert len(resolved) == 1 and resolved[0].key == a.key


def test_demand_block_average_is_exact_and_becomes_the_target():
    """No target_kw: this month's peak (from the store, then raised by each block seen live)."""
    rule = Rule("md", "demand", ("a",), "site", params={"window": 30})
    e = Engine([rule], {"a": "a"}, TZ, month_peak=lambda month, rule: 50.0 if month == date(2026, 12, 1) else None)
    fired = []
    for i in range(0, 361):  # two blocks: 60 kW then 70 kW
        t = T0 + timedelta(seconds=10 * i)
        fired += [(i, a) for a in e.feed(reading("a", t, total_real_power=(60 if i < 180 else 70) * 1000))]
    # block 1: 60 > 50 (store peak) -> raised at 5 min + 0 s; block 2: 70 > 60 (block 1 became the peak)
    assert [(i, a.state) for i, a in fired] == [(30, "raised"), (180, "resolved"), (210, "raised"), (360, "resolved")]
    # the last 10 s ramp from 60 to 70 kW (trapezoid to the 70 kW reading at 14:30:00)
    assert fired[1][1].details["block_kw"] == pytest.approx(60 + 5 * 10 / 1800, abs=1e-3)
    assert fired[2][1].details["target_kw"] == pytest.approx(fired[1][1].details["block_kw"], abs=1e-3)


def test_demand_is_quiet_in_blocks_the_tariff_does_not_count():
    """MEA counts demand on-peak only (09:00-22:00 Mon-Fri): the 08:30 block is quiet, the 09:00 one is not."""
    from wattlog.tariffs.load import load_tariff

    tariff = load_tariff("th-mea-tou-2025")
    bkk = ZoneInfo("Asia/Bangkok")
    rule = Rule("md", "demand", ("a",), "site", min_duration=0,
                params={"window": 15, "target_kw": 100.0, "record_in": ("on_peak",), "tariff": tariff})
    e = Engine([rule], {"a": "a"}, bkk)
    start = datetime(2026, 12, 2, 8, 30, tzinfo=bkk).astimezone(timezone.utc)  # a Wednesday
    fired = []
    for i in range(0, 211):  # 08:30 to 09:05, 150 kW throughout
        t = start + timedelta(seconds=10 * i)
        fired += [(i, a.state) for a in e.feed(reading("a", t, total_real_power=150_000))]
    assert fired == [(180 + 15, "raised")]  # 09:02:30: a sixth of the block into the first on-peak block
