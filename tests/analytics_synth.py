"""Synthetic RX380 readings for the analytics tests: exact power profiles, counters, voltages."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from wattlog.reading import Reading
from wattlog.store import Store

KL = ZoneInfo("Asia/Kuala_Lumpur")
UTC = timezone.utc


def local(d: date, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm, ss), tzinfo=KL)


def series(meter: str, start: datetime, end: datetime, power: Callable[[datetime], float], step: float = 10.0,
           counter0: float | None = 1000.0, counter_scale: float = 1.0, volts: Callable[[datetime], tuple] | None = None,
           pf: float = 0.95, hz: float = 50.0, skip: Callable[[datetime], bool] | None = None) -> list[Reading]:
    """Readings every `step` s in [start, end] with P = power(t) W. The counter is the exact integral
    (trapezoid, like the store) times `counter_scale`, floored to whole kWh like the RX380's."""
    out: list[Reading] = []
    n = int((end - start).total_seconds() // step) + 1
    energy_ws = 0.0
    prev: tuple[datetime, float] | None = None
    for i in range(n):
        t = start + timedelta(seconds=i * step)
        p = power(t)
        if prev is not None:
            energy_ws += (prev[1] + p) / 2 * (t - prev[0]).total_seconds()
        prev = (t, p)
        if skip and skip(t):
            continue
        v1, v2, v3 = volts(t) if volts else (230.0, 230.0, 230.0)
        s = abs(p) / pf
        values = {"total_real_power": p, "total_apparent_power": s,
                  "total_reactive_power": math.sqrt(max(s * s - p * p, 0.0)), "total_power_factor": pf,
                  "voltage_l1": v1, "voltage_l2": v2, "voltage_l3": v3,
                  "voltage_l12": v1 * math.sqrt(3), "voltage_l23": v2 * math.sqrt(3), "voltage_l31": v3 * math.sqrt(3),
                  "frequency": hz}
        if counter0 is not None:
            values["total_real_energy"] = float(math.floor(counter0 + energy_ws / 3.6e6 * counter_scale))
        out.append(Reading(meter, t.astimezone(UTC), "rx380", values))
    return out


def write(store: Store, readings: list[Reading], batch: int = 5000) -> None:
    for i in range(0, len(readings), batch):
        store.write(readings[i:i + batch])


def make_store(url: str, tz: str = "Asia/Kuala_Lumpur") -> Store:
    s = Store(url, site="t", tz=tz, gap_seconds=60)
    s.migrate()
    return s
