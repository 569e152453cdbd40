"""Demand: the maximum demand per month from clock-aligned blocks, each location's coincident kW, top blocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Callable

from ..analytics.calendar import next_month
from ..analytics.frame import ENERGY, Frame, LocationDay, load, no_gc
from ..analytics.series import Demand, Interval, demand_blocks, highest
from ..analytics.settings import ReportSettings
from ..errors import TariffError
from ..tariffs.billing import demand_rule
from ..tariffs.model import Tariff
from ..tariffs.periods import TariffTimeline
from .header import UNMETERED, Header, header, site_days
from .result import Table, pct, r

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported only when a report runs
    from ..store import Store


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
    incomplete_blocks: int  # blocks with a gap or a missing quarter: their true kW may be higher than shown
    window: int = 30  # minutes per block this month
    rule: str = ""  # the tariff's demand rule used ("" : the report settings' window, every hour)


@dataclass
class DemandReport:
    header: Header
    window: int  # minutes
    source: str  # what "the site" is: the main meter, or every meter summed
    months: list[MonthDemand]
    notes: list[str] = field(default_factory=list)

    def tables(self) -> list[Table]:
        peaks = [[m.month, r(m.peak.kw, 1) if m.peak else None, _t(m.peak.start) if m.peak else "",
                  _t(m.peak.end) if m.peak else "", m.peak.complete if m.peak else None, m.incomplete_blocks,
                  m.window] for m in self.months]
        rules = [f"demand rule from {m.month}: {m.rule}" for i, m in enumerate(self.months)
                 if m.rule and (i == 0 or m.rule != self.months[i - 1].rule)]
        shares = [[m.month, s.location, r(s.kw, 1), r(s.share_pct, 1)] for m in self.months for s in m.coincident]
        top = [[m.month, i + 1, r(b.kw, 1), _t(b.start), b.complete] for m in self.months for i, b in enumerate(m.top)]
        return [Table("peaks", f"maximum demand per month ({self.window}-minute blocks, {self.source})",
                      ["month", "kW", "from", "to", "complete", "blocks with gaps", "window"], peaks,
                      self.header.notes + self.notes + rules + [TIE_RULE]),
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


TIE_RULE = ("of equal blocks the earliest sets the maximum (the first time the month reached it), in this "
            "report, the bill and the cost allocation alike")


def demand(store: Store, start: date, end: date, settings: ReportSettings | None = None,
           location: str | None = None, window: int | None = None, top: int | None = None,
           counts: Callable[[datetime], bool] | None = None,
           tariff: Tariff | TariffTimeline | None = None) -> DemandReport:
    """Maximum demand per local calendar month over [start, end); `counts(block_start)` limits the
    blocks that count (e.g. a tariff's peak period). `location` narrows the coincident list only.
    With `tariff`, each month's window and counted hours are those of the tariff in force (as the
    bill's), unless `window` is given (then every hour counts and a note says the tariff's rule is not used)."""
    settings = (settings or ReportSettings(timezone=store.tz.key)).with_(demand_window=window, demand_top=top)
    with no_gc():
        rep = demand_of(load(store, start, end, settings, fields=ENERGY), location, counts, None if window else tariff)
    if window and tariff is not None:
        rep.notes.append(f"--window {window}: the tariff's own demand rule is not used")
    return rep


def demand_of(frame: Frame, location: str | None = None, counts: Callable[[datetime], bool] | None = None,
              tariff: Tariff | TariffTimeline | None = None) -> DemandReport:
    timeline = TariffTimeline.single(tariff) if isinstance(tariff, Tariff) else tariff
    n_top = frame.settings.demand_top
    source, site = site_days(frame)
    months: list[MonthDemand] = []
    first = frame.start
    while first < frame.end:
        last = min(next_month(first), frame.end)
        window, when, rule = frame.settings.demand_window, counts, ""
        found = None
        if timeline:
            try:
                found = demand_rule(timeline.tariff_on(first), first)
            except TariffError as exc:  # no tariff in force that month: the settings' window, every hour
                rule = f"no tariff in force ({exc.problem}): {window}-minute blocks, every hour"
        if found:  # the tariff in force on the month's first day (a change mid-month: the bill splits, see cost)
            window, when, rule = found
        days = [d for d in site if first <= d.grid.day < last]
        blocks = demand_blocks(intervals_of(days), window, when)
        peak = highest(blocks)  # the earliest of equal blocks
        ranked = sorted(blocks, key=lambda b: -b.kw)[:n_top]  # stable: equal blocks stay in time order
        shares = coincident(frame, peak) if peak else []
        if location is not None:
            shares = [s for s in shares if s.location == location]
        months.append(MonthDemand(first.strftime("%Y-%m"), first, last, peak, shares, ranked,
                                  sum(not b.complete for b in blocks), window, rule))
        first = last
    windows = {m.window for m in months}
    return DemandReport(header("demand", frame), windows.pop() if len(windows) == 1 else frame.settings.demand_window,
                        source, months)


def coincident(frame: Frame, block: Demand) -> list[Share]:
    """Each location's average kW inside `block` and its share of the block's kW; with a main
    meter, the unmetered remainder (main − sub-meters) too."""
    window = (block.end - block.start).total_seconds() / 60
    days = {d for d in (block.start.date(), (block.end - timedelta(microseconds=1)).date())}

    def kwh(meters: list[str]) -> float:
        total = 0.0
        for m in meters:
            for md in frame.meter_days.get(m, []):
                if md.grid.day in days:
                    present = md.present or [True] * md.grid.n
                    total += sum(v for t, v, p in zip(md.grid.starts(), md.kwh, present)
                                 if p and block.start <= t < block.end)
        return total

    out = [Share(loc, kwh(meters) * 60 / window, None) for loc, meters in frame.groups().items()]
    if frame.main:
        out.append(Share(UNMETERED, (block.kwh - sum(s.kw for s in out) * window / 60) * 60 / window, None))
    for s in out:
        s.share_pct = pct(s.kw, block.kw)
    out.sort(key=lambda s: (s.location == UNMETERED, -s.kw))
    return out
