"""Ranking: locations by kWh and share, with the unmetered remainder when a main meter exists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from ..analytics.frame import ENERGY, Frame, LocationDay, load, no_gc
from ..analytics.settings import ReportSettings
from .emissions import emissions_table
from .header import UNMETERED, Header, by_location, header, site_days, unknown_hours
from .result import Table, pct, r

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported only when a report runs
    from ..store import Store


@dataclass
class RankRow:
    location: str
    kwh: float
    share_pct: float | None  # of the main meter's kWh when there is one, else of the sum
    meters: list[str]
    unknown_h: float  # hours without data (gaps): kWh cover the measured time only
    kind: str = "location"  # location | unmetered | site
    flag: str = ""


@dataclass
class Ranking:
    header: Header
    rows: list[RankRow]  # locations by kWh, largest first; then the unmetered remainder; then the site
    total_kwh: float
    notes: list[str] = field(default_factory=list)

    def tables(self) -> list[Table]:
        rows = [[x.location, r(x.kwh, 3), r(x.share_pct, 1), x.unknown_h and r(x.unknown_h, 2), ", ".join(x.meters),
                 x.flag] for x in self.rows]
        return [Table("locations", f"kWh by location, {self.header.start} to {self.header.end} (excl.)",
                      ["location", "kWh", "share %", "hours without data", "meters", "flag"], rows,
                      self.header.notes + self.notes),
                emissions_table([(x.location, x.kwh) for x in self.rows], self.header)]  # its last row: the site


def ranking(store: Store, start: date, end: date, settings: ReportSettings | None = None,
            location: str | None = None) -> Ranking:
    """Locations by kWh over [start, end), site-local dates."""
    settings = settings or ReportSettings(timezone=store.tz.key)
    with no_gc():
        return ranking_of(load(store, start, end, settings, fields=ENERGY), location)


def ranking_of(frame: Frame, location: str | None = None) -> Ranking:
    groups = frame.groups()
    locs = by_location(frame)
    rows = [RankRow(loc, sum(d.total for d in days), None, groups[loc], unknown_hours(days))
            for loc, days in locs.items()]
    rows.sort(key=lambda x: -x.kwh)
    notes: list[str] = []
    if frame.main:
        _, site = site_days(frame)
        total = sum(d.total for d in site)
        rest_kwh = total - sum(x.kwh for x in rows)
        rest = _remainder_gaps(site, list(locs.values()))
        flag = ""
        if rest_kwh < 0:
            flag = "negative: sub-meters exceed the main meter"
            notes.append(f"the sub-meters add up to {-rest_kwh:.1f} kWh ({pct(-rest_kwh, total) or 0:.1f} %) more "
                         f"than the main meter {frame.main}: a wrong CT ratio, a meter counted twice, or a "
                         "sub-meter that is not downstream of the main meter")
        rows.append(RankRow(UNMETERED, rest_kwh, None, [], rest, "unmetered", flag))
        rows.append(RankRow("site (main meter)", total, None, [frame.main], unknown_hours(site), "site"))
    else:
        total = sum(x.kwh for x in rows)
        rows.append(RankRow("total", total, None, [], 0.0, "site"))
    for x in rows:
        x.share_pct = pct(x.kwh, total)
    if location is not None:
        rows = [x for x in rows if x.location == location or x.kind == "site"]
    return Ranking(header("ranking", frame), rows, total, notes)


def _remainder_gaps(site: list[LocationDay], parts: list[list[LocationDay]]) -> float:
    """Hours in which the main meter or any sub-meter has unknown energy (the remainder is unknown)."""
    gapped: dict[object, list[LocationDay]] = {}
    for d in [*site, *(d for days in parts for d in days)]:
        if d.has_gap:
            gapped.setdefault(d.grid.day, []).append(d)
    return sum(sum(max(t) for t in zip(*(d.gap for d in days))) for days in gapped.values()) / 3600
