"""The monthly site report's data: every report over one calendar month, demand over the last 12 months."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ..analytics.calendar import next_month
from ..analytics.frame import load, no_gc
from ..analytics.settings import ReportSettings
from ..errors import NoData, ReportError, StoreError
from ..reports.afterhours import AfterHoursReport, afterhours_of
from ..reports.cost import CostReport, cost_report
from ..reports.demand import DemandReport, MonthDemand, demand_of
from ..reports.heatmap import HeatmapReport, heatmap_of
from ..reports.profile import ProfileReport, profile_of
from ..reports.quality import QualityReport, quality_of
from ..reports.ranking import Ranking, ranking_of
from ..tariffs.model import Tariff
from ..tariffs.periods import TariffTimeline

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported only when a report runs
    from ..store import Store


@dataclass
class MonthData:
    site: str
    first: date  # the month's first day
    end: date  # the next month's first day
    settings: ReportSettings
    generated: datetime
    data_from: datetime  # the first and last time with data in the month (site time)
    data_to: datetime
    days_with_data: int  # local dates in the month on which some meter has data
    ranking: Ranking
    heatmap: HeatmapReport  # by weekday, averaged over complete hours
    profile: ProfileReport  # 30-minute slots
    demand: DemandReport  # the last 12 months up to this one
    afterhours: AfterHoursReport
    quality: QualityReport
    cost: CostReport | None
    cost_problem: str  # why there is no cost section (no tariff, or the tariff could not price the month)
    events: list[dict[str, Any]] = field(default_factory=list)  # alarm events in the month (issue 13)

    @property
    def month(self) -> str:
        return f"{self.first:%Y-%m}"

    @property
    def this_month(self) -> MonthDemand | None:
        return next((m for m in self.demand.months if m.month == self.month), None)

    @property
    def partial(self) -> bool:
        """Data starts after the month's first midnight or ends before its last: say so on the first page."""
        tz = self.settings.tz
        return self.data_from > datetime.combine(self.first, datetime.min.time(), tz) or \
            self.data_to < datetime.combine(self.end, datetime.min.time(), tz) or \
            self.days_with_data < (self.end - self.first).days


def months_with_data(store: Store) -> list[str]:
    """'YYYY-MM' of every local month in which some meter has a month rollup."""
    return sorted({f"{r['start']:%Y-%m}" for r in store.rollups("1mo")})


def month_of(text: str) -> date:
    """'2026-10' -> date(2026, 10, 1); ValueError otherwise."""
    y, _, m = text.partition("-")
    if len(y) != 4 or len(m) != 2:
        raise ValueError(text)
    return date(int(y), int(m), 1)


def minus_months(first: date, n: int) -> date:
    y, m = divmod(first.year * 12 + first.month - 1 - n, 12)
    return date(y, m + 1, 1)


def gather(store: Store, site: str, first: date, settings: ReportSettings,
           tariff: Tariff | TariffTimeline | None = None, what_if: Tariff | None = None,
           now: datetime | None = None) -> MonthData:
    """Every report over the month starting `first`. Raises NoData naming the months that have data."""
    end = next_month(first)
    extent = store.extent()
    tz = settings.tz
    lo, hi = datetime.combine(first, datetime.min.time(), tz), datetime.combine(end, datetime.min.time(), tz)
    inside = [(max(a, lo), min(b, hi)) for a, b in extent.values() if a < hi and b > lo]
    days = [r for r in store.rollups("1d", start=lo, end=hi) if (r["covered_s"] or 0) > 0]
    if not inside or not days:
        months = months_with_data(store)
        fix = (f"data exists in {_months(months)}: use --month {months[-1]}" if months
               else "no rollups yet: run the logger, or import CSV files first")
        raise NoData(f"no data in {first:%Y-%m} (site time {settings.timezone})", fix)
    with no_gc():
        frame = load(store, first, end, settings)
        year = load(store, minus_months(first, 11), end, settings)
        parts: dict[str, Any] = dict(
            ranking=ranking_of(frame), heatmap=heatmap_of(frame, by="weekday"),
            profile=profile_of(frame, resolution=30),
            demand=demand_of(year, tariff=tariff), afterhours=afterhours_of(frame), quality=quality_of(frame))
    cost, problem = None, ""
    if tariff is None:
        problem = "no tariff is configured: set [tariff] name in the site config (or give --tariff) to see the bill"
    else:
        try:
            cost = cost_report(store, first, end, settings, tariff=tariff, what_if=what_if)
        except ReportError as exc:  # e.g. an adjustment series that refuses a missing month
            problem = f"the bill could not be estimated: {exc}"
    parts["events"] = _events(store, lo, hi)  # issue 13
    return MonthData(site, first, end, settings, now or datetime.now(tz),
                     max(min(a for a, _ in inside), min(r["start"] for r in days)),
                     min(max(b for _, b in inside), max(r["end"] for r in days)),
                     len({r["start"].date() for r in days}), cost=cost, cost_problem=problem, **parts)


def _months(months: list[str]) -> str:
    if len(months) <= 4:
        return ", ".join(months)
    return f"{len(months)} months, {months[0]} to {months[-1]}"


def _events(store: Store, lo: datetime, hi: datetime) -> list[dict[str, Any]]:
    """The month's alarm events (issue 13); none when the database has no events table yet."""
    from ..store.events import events

    try:
        return events(store, lo, hi)
    except StoreError:
        return []
