"""Time in the store: naive-UTC datetimes as integer microseconds, and bucket boundaries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1)
US = timedelta(microseconds=1)
SECOND = 1_000_000
QUARTER = 900 * SECOND  # every UTC offset in use is a multiple of 15 min: UTC quarters are local ones


def to_us(ts: datetime) -> int:
    """Microseconds since 1970 of a naive-UTC datetime (exact, unlike float seconds)."""
    return (ts - EPOCH) // US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def naive_utc(ts: datetime) -> datetime:
    """The naive-UTC form the database keeps; a naive argument is refused, not guessed."""
    if ts.tzinfo is timezone.utc:  # the usual case (readings are taken in UTC): no conversion
        return ts.replace(tzinfo=None)
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"{ts!r} has no time zone: give an aware datetime (e.g. with tzinfo=timezone.utc)")
    return ts.astimezone(timezone.utc).replace(tzinfo=None)


def aware(ts: datetime, tz: ZoneInfo | timezone = timezone.utc) -> datetime:
    """A naive-UTC datetime from the database, as an aware datetime in `tz`."""
    return ts.replace(tzinfo=timezone.utc).astimezone(tz)


def floor15(us: int) -> int:
    return us - us % QUARTER


HOUR, DAY, MONTH = 0, 1, 2


class LocalBuckets:
    """Site-local hours, days and calendar months, as naive-UTC microsecond boundaries."""

    def __init__(self, tz: str) -> None:
        self.tz = ZoneInfo(tz)
        self._cache: dict[tuple[int, int], int] = {}

    def _floor(self, us: int, kind: int) -> int:
        local = aware(from_us(us), self.tz)
        local = local.replace(minute=0, second=0, microsecond=0)
        if kind >= DAY:
            local = local.replace(hour=0)
        if kind == MONTH:
            local = local.replace(day=1)
        return to_us(naive_utc(local))

    def _cached(self, us: int, kind: int) -> int:
        key = (kind, floor15(us))
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 200_000:  # a rebuild of years: keep memory bounded
                self._cache.clear()
            found = self._cache[key] = self._floor(key[1], kind)
        return found

    def hour(self, us: int) -> int:
        """Start of the local hour holding `us` (a 15-minute boundary in UTC)."""
        return self._cached(us, HOUR)

    def day(self, us: int) -> int:
        """Start of the local day holding `us`."""
        return self._cached(us, DAY)

    def month(self, us: int) -> int:
        """Start of the local calendar month holding `us`."""
        return self._cached(us, MONTH)

    def floor(self, period: str) -> Callable[[int], int]:
        return {"15m": floor15, "1h": self.hour, "1d": self.day, "1mo": self.month}[period]

    def span(self, period: str, lo: int, hi: int) -> tuple[int, int]:
        """The whole buckets of `period` that overlap [lo, hi): (start of first, end of last)."""
        floor = self.floor(period)
        start = floor(lo)
        last = floor(hi - 1)
        if period == "1mo":  # a month is at most 31 days (and a DST hour): 32 days on is the next one
            return start, floor(last + 32 * 86_400 * SECOND)
        # a local day is at least 22 h long (DST moves at most 2 h): start the walk there, not at its start
        end = floor15(last) + (88 * QUARTER if period == "1d" else QUARTER)
        while floor(end) == last:  # walk to the next boundary: local hours/days vary with DST
            end += QUARTER
        return start, end
