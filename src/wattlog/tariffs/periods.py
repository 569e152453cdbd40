"""A site's tariff timeline: which tariff it was on from when, and its billing cycles.

The customer's move from one schedule to another (TNB C2 → MV ToU on 1 July 2025) is the site's
fact, not the tariff's: the config lists `[[tariff.periods]]` (from, name), and every day is priced
under the tariff then in force. Billing cycles run from a meter-reading day to the day before the
next one (default: calendar months); a cycle crossing a change is split like TNB's July 2025
"transitional bill".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ..errors import TariffError
from ..validate import Checker
from .model import Tariff


@dataclass(frozen=True)
class Period:
    start: date  # first day on this tariff
    tariff: Tariff


@dataclass(frozen=True)
class TariffTimeline:
    """Periods in date order (the first one also prices anything before its start date is refused)."""

    periods: tuple[Period, ...]
    reading_day: int = 1  # 1: calendar months; 15: cycles from the 15th to the 14th

    @classmethod
    def single(cls, tariff: Tariff, reading_day: int = 1) -> TariffTimeline:
        return cls((Period(date.min, tariff),), reading_day)

    @property
    def current(self) -> Tariff:
        return self.periods[-1].tariff

    @property
    def tariffs(self) -> list[Tariff]:
        return list({id(p.tariff): p.tariff for p in self.periods}.values())

    def tariff_on(self, d: date) -> Tariff:
        found = None
        for p in self.periods:
            if p.start <= d:
                found = p.tariff
        if found is None:
            raise TariffError(f"the site's tariff timeline starts on {self.periods[0].start}; {d} is before it",
                              key="tariff.periods", fix="add a [[tariff.periods]] entry with an earlier from = DATE")
        return found

    def changes(self, start: date, end: date) -> list[date]:
        """Days in (start, end) on which the schedule changes: a new period or a new version of a tariff."""
        out = {p.start for p in self.periods if start < p.start < end}
        for p in self.periods:
            out |= {v.effective_from for v in p.tariff.versions if start < v.effective_from < end}
            out |= {v.effective_to + timedelta(days=1) for v in p.tariff.versions
                    if v.effective_to and start < v.effective_to + timedelta(days=1) < end}
        return sorted(out)

    def cycle_of(self, d: date) -> tuple[date, date]:
        """The billing cycle [first, end) holding day `d`."""
        r = self.reading_day
        first = d.replace(day=r) if d.day >= r else _add_month(d.replace(day=r), -1)
        return first, _add_month(first, 1)

    def pieces(self, start: date, end: date) -> list[tuple[date, date, tuple[date, date], bool]]:
        """[start, end) cut at cycle boundaries and at changes of schedule: (from, to, cycle, transitional)."""
        out, cut = [], start
        while cut < end:
            cycle = self.cycle_of(cut)
            stop = min(end, cycle[1])
            inner = [c for c in self.changes(cycle[0], cycle[1])]
            bounds = sorted({cut, stop, *(c for c in inner if cut < c < stop)})
            for a, b in zip(bounds, bounds[1:]):
                out.append((a, b, cycle, bool(inner)))
            cut = stop
        return out


def _add_month(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return d.replace(year=d.year + y, month=m + 1)


PERIOD_EXAMPLE = '[[tariff.periods]] from = 2025-07-01, name = "my-tnb-mv-tou-2025"'


def periods_from_config(c: Checker, section: dict[str, Any], load: Callable[[str, str], Tariff | None]
                        ) -> TariffTimeline | None:
    """[tariff] name = ID, or [[tariff.periods]] (from, name) entries; reading_day = 1..28.
    `load(value, key)` loads one tariff (reporting its own problem to the checker, then None)."""
    day = section.get("reading_day", 1)
    if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 28:
        c.fail("tariff.reading_day", f"invalid {day!r}",
               "the day of the month the meter is read, 1 to 28 (1: calendar months), e.g. reading_day = 15")
        day = 1
    entries = section.get("periods")
    if entries is None:
        name = section.get("name")
        tariff = load(name, "tariff.name") if isinstance(name, str) and name else None
        return TariffTimeline.single(tariff, day) if tariff else None
    if "name" in section:
        c.fail("tariff.name", "give either name or [[tariff.periods]], not both",
               "move the name into a [[tariff.periods]] entry with its from = DATE")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        c.fail("tariff.periods", "expected one or more [[tariff.periods]] tables", PERIOD_EXAMPLE)
        return None
    periods: list[Period] = []
    for i, e in enumerate(entries):
        where = f"tariff.periods[{i}]."
        c.keys(e, {"from", "name"}, where)
        start = e.get("from")
        if not isinstance(start, date) or isinstance(start, datetime):
            c.fail(where + "from", f"expected a date, got {start!r}", "from = 2025-07-01 (a TOML date, no quotes)")
            continue
        if periods and start <= periods[-1].start:
            c.fail(where + "from", f"{start} is not after the period before ({periods[-1].start})",
                   "list the periods in date order, each from a later date")
            continue
        name = e.get("name")
        tariff = load(name, where + "name") if isinstance(name, str) and name else None
        if not isinstance(name, str) or not name:
            c.fail(where + "name", "missing", 'name = "my-tnb-mv-tou-2025" (a shipped tariff or a .toml file)')
        if tariff is None:
            continue
        if not any(v.effective_from <= start and (v.effective_to is None or start <= v.effective_to)
                   for v in tariff.versions):
            spans = "; ".join(f"{v.effective_from}–{v.effective_to or 'open'}" for v in tariff.versions)
            c.fail(where + "from", f"{tariff.id} is not in force on {start} (it covers {spans})",
                   "start the period on a day the tariff covers, or use the tariff then in force")
        periods.append(Period(start, tariff))
    zones = {p.tariff.timezone for p in periods}
    if len(zones) > 1:
        c.fail("tariff.periods", f"the periods' tariffs are in different time zones ({', '.join(sorted(zones))})",
               "a site's tariffs are all its utility's, in one time zone")
    return TariffTimeline(tuple(periods), day) if periods else None


def retimed(timeline: TariffTimeline, tariffs: list[Tariff]) -> TariffTimeline:
    """The timeline with each tariff replaced by the one of the same id in `tariffs` (e.g. with given adjustments)."""
    by_id = {t.id: t for t in tariffs}
    return TariffTimeline(tuple(Period(p.start, by_id.get(p.tariff.id, p.tariff)) for p in timeline.periods),
                          timeline.reading_day)
