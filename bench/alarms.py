#!/usr/bin/env python3
"""Alarm benchmark (issue 13): CPU cost of 20 rules on 32 meters at 10 s, against the cost of
decoding the same readings, measured in the same run.

    .venv/bin/python bench/alarms.py            # 6 simulated hours (69,120 readings)
    .venv/bin/python bench/alarms.py --quick    # 1 simulated hour

What is timed (time.process_time, this process only, best of 3 repeats):
  (a) baseline: decoding each reading as the bus poller does (register words of one RX380 block ->
      values -> Reading -> plausibility checks); the words are made with meters.decode.encode from
      realistic values, so no network or pty time is in it;
  (b) the alarm path of the service for the same readings: AlarmWatcher.offer's queue put and get
      plus Engine.feed, and Engine.tick every 5 s of simulated time. 20 rules: over/under-voltage,
      unbalance, power factor, current, frequency and offline on every meter (site scope: 7 rules x
      32 meters), after-hours, daily energy and demand per location and for the site (13 more).
      Values wander around their nominal so a few rules fire and resolve (a real mix of paths).
Result: CPU per simulated second x 1 = share of one core at 32 meters every 10 s (3.2 readings/s).
Goal: alarms < 0.5 % of one core. Exit 0 when met.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import platform
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from wattlog.alarms.engine import Engine
from wattlog.alarms.rules import Rule
from wattlog.analytics.settings import ReportSettings
from wattlog.meters import get_model
from wattlog.meters.decode import encode
from wattlog.polling import plan_reads
from wattlog.reading import Reading, check_plausible

TZ = ZoneInfo("Asia/Kuala_Lumpur")
METERS = [f"m{i:02d}" for i in range(32)]
LOCATIONS = {m: f"loc{i % 6}" for i, m in enumerate(METERS)}
POLL = 10.0
GOAL = 0.5  # % of one core


def rules() -> list[Rule]:
    site = tuple(METERS)
    out = [Rule("hv", "overvoltage", site, "site", above=253, hysteresis=2.3),
           Rule("lv", "undervoltage", site, "site", below=216.2, hysteresis=2.3),
           Rule("unb", "unbalance", site, "site", above=2.0, hysteresis=0.5),
           Rule("pf", "power_factor", site, "site", below=0.85, hysteresis=0.02, min_duration=300),
           Rule("amps", "current", site, "site", above=80, hysteresis=4),
           Rule("hz", "frequency", site, "site", above=50.5, below=49.5, hysteresis=0.1),
           Rule("off", "offline", site, "site", params={"minutes": 5})]
    for loc in sorted(set(LOCATIONS.values())):
        ms = tuple(m for m in METERS if LOCATIONS[m] == loc)
        out.append(Rule(f"ah_{loc}", "after_hours", ms, loc, above=30, hysteresis=1, min_duration=600,
                        params={"base_kw": 25}))
        out.append(Rule(f"day_{loc}", "daily_energy", ms, loc, above=2000))
    out.append(Rule("md", "demand", site, "site", min_duration=60,
                    params={"window": 30, "target_kw": 700, "rate": 97.06, "currency": "RM"}))
    assert len(out) == 20
    return out


def values(i: int, t: float, rnd: random.Random) -> dict[str, float]:
    base = 230 + 4 * math.sin(t / 3000 + i)
    kw = 20 + 8 * math.sin(t / 5000 + i) + rnd.random()
    return {"voltage_l1": base + rnd.gauss(0, 1), "voltage_l2": base + rnd.gauss(0, 1), "voltage_l3": base - 1,
            "voltage_l12": 400.0, "voltage_l23": 400.0, "voltage_l31": 400.0,
            "current_l1": kw * 1000 / 690, "current_l2": kw * 1000 / 690, "current_l3": kw * 1000 / 700,
            "current_ln": 1.0, "total_real_power": kw * 1000, "total_apparent_power": kw * 1100,
            "total_reactive_power": kw * 450, "total_power_factor": 0.88 + 0.05 * math.sin(t / 2000 + i),
            "frequency": 50 + 0.05 * math.sin(t / 700), "total_real_energy": 1000 + t / 100,
            "total_apparent_energy": 1100 + t / 100, "total_reactive_energy": 400 + t / 200}


def make_words(block, vals: dict[str, float]) -> list[int]:  # noqa: ANN001
    words = [0] * block.count
    for reg in block.registers:
        raw = vals.get(reg.name, 0.0) / reg.factor
        w = encode(raw if reg.type == "float32" else round(raw), reg.type, reg.word_order)
        i = reg.address - block.address
        words[i:i + len(w)] = w
    return words


def decode_all(blocks, inputs, model) -> list[Reading]:  # noqa: ANN001
    out, counters = [], {m: {} for m in METERS}
    for meter, ts, words_by_block in inputs:
        r = Reading(meter, ts, model.model)
        for block, words in zip(blocks, words_by_block):
            for reg in block.registers:
                v = reg.value(block.words_of(reg, words))
                if v is not None:
                    r.values[reg.name] = v
        check_plausible(r, model, counters[meter])
        out.append(r)
    return out


def alarms_all(readings: list[Reading], start: datetime) -> tuple[int, int]:
    engine = Engine(rules(), LOCATIONS, TZ, ReportSettings(), 60.0)
    raised = resolved = 0

    async def go() -> None:
        nonlocal raised, resolved
        q: asyncio.Queue = asyncio.Queue(20_000)
        next_tick = start
        for r in readings:
            q.put_nowait(r)  # what AlarmWatcher.offer does on the polling path
            got = await q.get()
            out = engine.feed(got)
            if got.timestamp >= next_tick:
                out += engine.tick(got.timestamp)
                next_tick = got.timestamp + timedelta(seconds=5)
            for a in out:
                raised += a.state == "raised"
                resolved += a.state == "resolved"

    asyncio.run(go())
    return raised, resolved


def best(f, repeats: int = 3):  # noqa: ANN001, ANN201
    times, result = [], None
    for _ in range(repeats):
        t0 = time.process_time()
        result = f()
        times.append(time.process_time() - t0)
    return min(times), result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    hours = 1 if args.quick else 6
    model = get_model("rx380")
    blocks = plan_reads(model.registers)
    rnd = random.Random(13)
    start = datetime(2026, 12, 2, 16, 0, tzinfo=TZ).astimezone(timezone.utc)  # through the end of working hours
    inputs = []
    for k in range(int(hours * 3600 / POLL)):
        for i, m in enumerate(METERS):
            t = k * POLL + i * 0.05
            inputs.append((m, start + timedelta(seconds=t), [make_words(b, values(i, t, rnd)) for b in blocks]))
    seconds = hours * 3600
    dec_cpu, readings = best(lambda: decode_all(blocks, inputs, model))
    alarm_cpu, (raised, resolved) = best(lambda: alarms_all(readings, start))
    n = len(readings)
    print(f"machine: {platform.machine()} {platform.processor() or ''} Python {platform.python_version()}")
    print(f"{n} readings = 32 meters x {hours} simulated h at {POLL:g} s; 20 rules; {raised} raised, {resolved} resolved")
    print(f"decode (baseline): {dec_cpu * 1e6 / n:.1f} us/reading = {100 * dec_cpu / seconds:.4f} % of a core")
    print(f"alarms:            {alarm_cpu * 1e6 / n:.1f} us/reading = {100 * alarm_cpu / seconds:.4f} % of a core "
          f"({alarm_cpu / dec_cpu:.2f} x the decode)")
    ok = 100 * alarm_cpu / seconds < GOAL
    print(f"goal < {GOAL} % of a core: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
