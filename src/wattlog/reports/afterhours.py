"""After hours: kWh outside working hours and on days off and holidays, and the night base load."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, time
from functools import lru_cache
from typing import TYPE_CHECKING

from ..analytics.calendar import day_kind, in_window, window_slices
from ..analytics.frame import ENERGY, Frame, LocationDay, load, no_gc
from ..analytics.settings import ReportSettings
from .header import Header, by_location, header
from .result import Table, pct, r

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported only when a report runs
    from ..store import Store


@dataclass
class AfterHours:
    location: str
    total_kwh: float
    working_kwh: float  # inside working hours on working days
    evening_kwh: float  # outside working hours on working days
    days_off_kwh: float  # non-working days that are not holidays (e.g. weekends)
    holiday_kwh: float
    after_pct: float | None  # (evening + days off + holidays) / total
    base_kw: float | None  # median over nights of the lowest 1-hour average in the base window
    base_pct: float | None  # base_kw over every hour of the range, as % of total_kwh: the always-on share
    nights: int  # nights with a complete window behind base_kw

    @property
    def after_kwh(self) -> float:
        return self.evening_kwh + self.days_off_kwh + self.holiday_kwh


@dataclass
class AfterHoursReport:
    header: Header
    rows: list[AfterHours]
    notes: list[str] = field(default_factory=list)

    def tables(self) -> list[Table]:
        s = self.header
        rows = [[a.location, r(a.total_kwh, 1), r(a.working_kwh, 1), r(a.evening_kwh, 1), r(a.days_off_kwh, 1),
                 r(a.holiday_kwh, 1), r(a.after_pct, 1), r(a.base_kw, 2), r(a.base_pct, 1), a.nights]
                for a in self.rows]
        return [Table("afterhours", f"consumption outside working hours, {s.start} to {s.end} (excl.)",
                      ["location", "total kWh", "working kWh", "evenings kWh", "days off kWh", "holidays kWh",
                       "after-hours %", "base load kW", "base load %", "nights"], rows, s.notes + self.notes)]


def afterhours(store: Store, start: date, end: date, settings: ReportSettings | None = None,
               location: str | None = None) -> AfterHoursReport:
    """kWh by working time, evenings, days off and holidays, and the night base load, per location."""
    settings = settings or ReportSettings(timezone=store.tz.key)
    with no_gc():
        return afterhours_of(load(store, start, end, settings, fields=ENERGY), location)


def afterhours_of(frame: Frame, location: str | None = None) -> AfterHoursReport:
    st = frame.settings
    rows = []
    for loc, days in by_location(frame, location).items():
        work = evening = off = holiday = 0.0
        minima: list[float] = []
        hours = 0.0
        for d in days:
            kind = day_kind(d.grid.day, st)
            total = sum(d.kwh)
            # measured hours only: the energy total covers no more (a gap's hours made it 121 %)
            hours += sum(900.0 - min(g, 900.0) for g, p in zip(d.gap, d.present) if p) / 3600
            if kind == "holiday":
                holiday += total
            elif kind == "off":
                off += total
            else:
                inside = sum(sum(d.kwh[a:b]) for a, b in window_slices(d.grid.minutes, st.working_hours))
                work += inside
                evening += total - inside
            low = night_minimum(d, st)
            if low is not None:
                minima.append(low)
        total_kwh = work + evening + off + holiday
        base = statistics.median(minima) if minima else None
        rows.append(AfterHours(loc, total_kwh, work, evening, off, holiday, pct(total_kwh - work, total_kwh),
                               base, min(100.0, pct(base * hours, total_kwh) or 0.0) if base is not None and total_kwh else None,
                               len(minima)))
    rows.sort(key=lambda a: -a.after_kwh)
    return AfterHoursReport(header("afterhours", frame), rows)


def night_minimum(day: LocationDay, settings: ReportSettings) -> float | None:
    """The lowest average kW over a whole hour (four quarters in a row, sliding by 15 minutes)
    inside the day's base window; None unless some hour there is complete (no gap)."""
    best: float | None = None
    kwh, gap, present = day.kwh, day.gap, day.present
    for i in _hour_starts(day.grid.minutes, settings.base_hours):
        if gap[i] == gap[i + 1] == gap[i + 2] == gap[i + 3] == 0 and present[i] and present[i + 1] and \
                present[i + 2] and present[i + 3]:
            kw = kwh[i] + kwh[i + 1] + kwh[i + 2] + kwh[i + 3]  # kWh in one hour = average kW
            if best is None or kw < best:
                best = kw
    return best


@lru_cache(maxsize=64)
def _hour_starts(minutes: tuple[int, ...], window: tuple[time, time]) -> tuple[int, ...]:
    """Quarter indices that start a whole hour inside the window."""
    mask = in_window(minutes, window)
    return tuple(i for i in range(len(mask) - 3) if all(mask[i:i + 4]))
