"""Site-local days as grids of 15-minute quarters, day types and working-hour masks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from .settings import ReportSettings

STEP = timedelta(minutes=15)
UTC = timezone.utc


@dataclass(frozen=True)
class DayGrid:
    """One local day: its start, its n quarter-hours (92, 96 or 100 with DST) and their clock times."""

    day: date
    start: datetime  # aware, site time zone
    end: datetime
    n: int
    minutes: tuple[int, ...]  # local minute of the day at which each quarter starts

    @property
    def weekday(self) -> int:
        return self.day.weekday()

    def starts(self) -> tuple[datetime, ...]:
        """Aware local start of every quarter (computed in UTC: wall-clock arithmetic is wrong at DST)."""
        return _starts(self.start.tzinfo, self.day)  # type: ignore[arg-type]

    def hours(self) -> list[int]:
        return [m // 60 for m in self.minutes]


@lru_cache(maxsize=8192)
def day_grid(tz: ZoneInfo, day: date) -> DayGrid:
    start = local_midnight(tz, day)
    end = local_midnight(tz, day + timedelta(days=1))
    n = round((end.astimezone(UTC) - start.astimezone(UTC)) / STEP)  # same tzinfo: Python would subtract wall times
    if n == 96 and start.utcoffset() == end.utcoffset():  # the usual day: quarter i starts at 15 i
        minutes = tuple(range(0, 1440, 15))
    else:
        u = start.astimezone(UTC)
        minutes = tuple((t.hour * 60 + t.minute) for t in ((u + i * STEP).astimezone(tz) for i in range(n)))
    return DayGrid(day, start, end, n, minutes)


@lru_cache(maxsize=8192)
def _starts(tz: ZoneInfo, day: date) -> tuple[datetime, ...]:
    g = day_grid(tz, day)
    u = g.start.astimezone(UTC)
    return tuple((u + i * STEP).astimezone(tz) for i in range(g.n))


def local_midnight(tz: ZoneInfo, day: date) -> datetime:
    """Start of a local day as the store defines it (LocalBuckets.day), aware in `tz`."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC).astimezone(tz)


def dates(start: date, end: date) -> list[date]:
    """The days of [start, end)."""
    return [start + timedelta(days=i) for i in range((end - start).days)]


def day_kind(day: date, settings: ReportSettings) -> str:
    """"holiday", "workday" or "off" (a non-working weekday such as Saturday or Sunday)."""
    if day in settings.holidays:
        return "holiday"
    return "workday" if day.weekday() in settings.working_days else "off"


def _minute(t: time) -> int:
    return t.hour * 60 + t.minute


@lru_cache(maxsize=256)
def in_window(minutes: tuple[int, ...], window: tuple[time, time]) -> tuple[bool, ...]:
    """Which quarters start inside a local [from, to) window (to 00:00 = midnight)."""
    a, b = _minute(window[0]), _minute(window[1]) or 1440
    return tuple(a <= m < b for m in minutes)


@lru_cache(maxsize=256)
def window_slices(minutes: tuple[int, ...], window: tuple[time, time]) -> tuple[tuple[int, int], ...]:
    """The runs [a, b) of quarter indices inside a window: sum(kwh[a:b]) beats a mask in a loop."""
    out: list[tuple[int, int]] = []
    for i, inside in enumerate(in_window(minutes, window)):
        if inside:
            if out and out[-1][1] == i:
                out[-1] = (out[-1][0], i + 1)
            else:
                out.append((i, i + 1))
    return tuple(out)


def working_mask(grid: DayGrid, settings: ReportSettings) -> tuple[bool, ...]:
    """True for the quarters inside working hours on a working day that is not a holiday."""
    if day_kind(grid.day, settings) != "workday":
        return (False,) * grid.n
    return in_window(grid.minutes, settings.working_hours)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)
