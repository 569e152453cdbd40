"""Demand: the maximum demand per month from clock-aligned blocks, each location's coincident kW, top blocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable

from ..store import Store
from .calendar import next_month
from .common import UNMETERED, Header, by_location, header, remainder_days, site_days
from .days import Frame, LocationDay, load
from .series import Demand, Interval, demand_blocks
from .settings import ReportSettings
from .tables import Table, pct, r


@dataclass
class Share:
    """A location's average kW in the block that set the month's maximum (for cost allocation)."""

    location: str
    kw: float
    share_pct: float | None


@dataclass
class MonthDemand:
    month: str  # YYYY-MM
    first: date  # the part of the month inside the report range
    last: date
    peak: Demand | None  # kw, start, end, kwh, complete
    coincident: list[Share]
    top: list[Demand]  # the highest blocks of the month, highest first
    incomplete_blocks: int  # blocks with a gap: their true kW may be higher than shown


@dataclass
class DemandReport:
    header: Header
    window: int  # minutes
    source: str  # what "the site" is: the main meter, or every meter summed
    months: list[MonthDemand]
    notes: list[str] = field(default_factory=list)

    def tables(self) -> list[Table]:
        peaks = [[m.month, r(m.peak.kw, 1) if m.peak else None, _t(m.peak.start) if m.peak else "",
                  _t(m.peak.end) if m.peak else "", m.peak.complete if m.peak else None, m.incomplete_blocks]
                 for m in self.months]
        shares = [[m.month, s.location, r(s.kw, 1), r(s.share_pct, 1)] for m in self.months for s in m.coincident]
        top = [[m.month, i + 1, r(b.kw, 1), _t(b.start), b.complete] for m in self.months for i, b in enumerate(m.top)]
        return [Table("peaks", f"maximum demand per month ({self.window}-minute blocks, {self.source})",
                      ["month", "kW", "from", "to", "complete", "blocks with gaps"], peaks,
                      self.header.notes + self.notes),
                Table("coincident", "each location's kW in the month's peak block", ["month", "location", "kW", "share %"],
                      shares),
                Table("top", "highest blocks of each month", ["month", "rank", "kW", "from", "complete"], top)]


def _t(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M")


def intervals_of(days: list[LocationDay]) -> list[Interval]:
    """A location-day list as Intervals (quarters in the data only), for series.demand_blocks."""
    out: list[Interval] = []
    for d in days:
        starts = d.grid.starts()
        out.extend(Interval(t, v, gap_s=g) for t, v, g, p in zip(starts, d.kwh, d.gap, d.present) if p)
    return out


def demand(store: Store, start: date, end: date, settings: ReportSettings | None = None,
           location: str | None = None, window: int | None = None, top: int | None = None,
           counts: Callable[[datetime], bool] | None = None) -> DemandReport:
    """Maximum demand per local calendar month over [start, end); `counts(block_start)` limits the
    blocks that count (e.g. a tariff's peak period). `location` narrows the coincident list only."""
    settings = (settings or ReportSettings(timezone=store.tz.key)).with_(demand_window=window, demand_top=top)
    return demand_of(load(store, start, end, settings), location, counts)


def demand_of(frame: Frame, location: str | None = None,
              counts: Callable[[datetime], bool] | None = None) -> DemandReport:
    window, n_top = frame.settings.demand_window, frame.settings.demand_top
    source, site = site_days(frame)
    locs = by_location(frame)
    parts = {loc: {d.grid.day: d for d in days} for loc, days in locs.items()}
    if frame.main:
        parts[UNMETERED] = {d.grid.day: d for d in remainder_days(site, list(locs.values()))}
    months: list[MonthDemand] = []
    first = frame.start
    while first < frame.end:
        last = min(next_month(first), frame.end)
        days = [d for d in site if first <= d.grid.day < last]
        blocks = demand_blocks(intervals_of(days), window, counts)
        peak = max(blocks, key=lambda b: b.kw, default=None)  # the earliest of equal blocks
        ranked = sorted(blocks, key=lambda b: (-b.kw, b.start))[:n_top]
        shares = _coincident(peak, parts, window) if peak else []
        if location is not None:
            shares = [s for s in shares if s.location == location]
        months.append(MonthDemand(first.strftime("%Y-%m"), first, last, peak, shares, ranked,
                                  sum(not b.complete for b in blocks)))
        first = last
    return DemandReport(header("demand", frame), window, source, months)


def _coincident(peak: Demand, parts: dict[str, dict[date, LocationDay]], window: int) -> list[Share]:
    """Each location's kWh inside the peak block, as average kW, and its share of the peak."""
    out = []
    for loc, by_day in parts.items():
        kwh = 0.0
        for day in {peak.start.date(), (peak.end - (peak.end - peak.start) / 2).date()}:
            d = by_day.get(day)
            if d is None:
                continue
            for t, v, p in zip(d.grid.starts(), d.kwh, d.present):
                if p and peak.start <= t < peak.end:
                    kwh += v
        kw = kwh * 60 / window
        out.append(Share(loc, kw, pct(kw, peak.kw)))
    out.sort(key=lambda s: (s.location == UNMETERED, -s.kw))
    return out
