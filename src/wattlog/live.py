"""Live state: each meter's latest reading and today's energy, for the terminal and the web."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .reading import Reading


@dataclass
class MeterLive:
    reading: Reading | None = None
    day: str = ""
    kwh_today: float = 0.0  # integrated from power since local midnight (or since start/seed)
    since_start: bool = True  # True while kwh_today does not cover the whole day


@dataclass
class LiveState:
    tz: ZoneInfo
    gap_seconds: float = 60.0
    meters: dict[str, MeterLive] = field(default_factory=dict)

    def seed_today(self, kwh: dict[str, float], day: str) -> None:
        """Start today's totals from the store (after a restart)."""
        for name, value in kwh.items():
            m = self.meters.setdefault(name, MeterLive())
            m.day, m.kwh_today, m.since_start = day, value, False

    def update(self, reading: Reading) -> None:
        m = self.meters.setdefault(reading.meter, MeterLive())
        local = reading.timestamp.astimezone(self.tz)
        day = local.strftime("%Y-%m-%d")
        prev = m.reading
        if m.day != day:
            if m.day:  # a new day: the total restarts at midnight
                m.since_start = False
                midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
                m.kwh_today = 0.0
                if prev is not None:
                    p1 = prev.values.get("total_real_power")
                    p2 = reading.values.get("total_real_power")
                    dt = (reading.timestamp - prev.timestamp).total_seconds()
                    if p1 is not None and p2 is not None and 0 < dt <= self.gap_seconds:
                        share = (local - midnight).total_seconds() / dt
                        m.kwh_today = (p1 + p2) / 2 * dt * share / 3.6e6
                prev = None
            m.day = day
        if prev is not None:
            p1, p2 = prev.values.get("total_real_power"), reading.values.get("total_real_power")
            dt = (reading.timestamp - prev.timestamp).total_seconds()
            if p1 is not None and p2 is not None and 0 < dt <= self.gap_seconds:
                m.kwh_today += (p1 + p2) / 2 * dt / 3.6e6
        m.reading = reading

    def latest(self, name: str) -> Reading | None:
        m = self.meters.get(name)
        return m.reading if m else None
