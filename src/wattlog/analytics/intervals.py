"""Energy per 15-minute interval per meter or location, reconciled with the counters; gaps listed, never filled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .calendar import DayGrid
from .frame import DISAGREE, QUARTER_S, DayCheck, Frame, MeterDay, load, no_gc
from .series import Interval
from .settings import ReportSettings

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported only when a report runs
    from ..store import Store

STEP = timedelta(minutes=15)


@dataclass(frozen=True)
class Gap:
    """Time in which a meter's energy is unknown: reported, never distributed into intervals."""

    meter: str
    start: datetime  # aware, site time zone
    end: datetime
    duration_s: float  # exactly the unknown seconds (the rollups' gap_s, or whole quarters without data)
    counter_kwh: float | None  # the counter's increase across the gap where readings bracket it (±1 kWh)
    exact: bool  # False: the gap lies inside one 15-minute interval; start/end are that interval's bounds


@dataclass
class EnergySeries:
    """Intervals by meter or location, the gaps in them, and each meter-day's counter check."""

    intervals: dict[str, list[Interval]]
    gaps: list[Gap]
    checks: list[DayCheck]

    @property
    def disagreements(self) -> list[DayCheck]:
        """Days whose counter and integrated power differ beyond the tolerance (not scaled)."""
        return [c for c in self.checks if c.status == DISAGREE]


def energy_intervals(store: Store, start: date | datetime, end: date | datetime, meters: list[str] | None = None,
                     settings: ReportSettings | None = None) -> dict[str, list[Interval]]:
    """15-minute intervals with start in [start, end) per meter (dates are site-local midnights)."""
    return energy_series(store, start, end, meters, settings, gap_details=False).intervals


def location_intervals(store: Store, start: date | datetime, end: date | datetime,
                       locations: list[str] | None = None,
                       settings: ReportSettings | None = None) -> dict[str, list[Interval]]:
    """15-minute intervals per location: the sum of its meters' (covered_s the least, gap_s the most)."""
    return location_series(store, start, end, locations, settings, gap_details=False).intervals


def energy_series(store: Store, start: date | datetime, end: date | datetime, meters: list[str] | None = None,
                  settings: ReportSettings | None = None, gap_details: bool = True) -> EnergySeries:
    """Intervals per meter with the gaps (and the counter's energy across them) and counter checks."""
    with no_gc():
        frame, lo, hi = _frame(store, start, end, meters, settings)
        intervals = {m: meter_intervals(days, lo, hi) for m, days in frame.meter_days.items()}
        gaps = [g for days in frame.meter_days.values() for g in find_gaps(days, lo, hi)]
    if gap_details:
        gaps = [_with_counter(store, g) for g in gaps]
    return EnergySeries(intervals, gaps, frame.checks())


def location_series(store: Store, start: date | datetime, end: date | datetime, locations: list[str] | None = None,
                    settings: ReportSettings | None = None, gap_details: bool = True) -> EnergySeries:
    """As energy_series, summed per location (every meter counts, a site main meter too)."""
    settings = settings or ReportSettings(timezone=store.tz.key)
    groups = {m["location"] or m["name"]: [] for m in store.meters()}
    for m in store.meters():
        groups[m["location"] or m["name"]].append(m["name"])
    chosen = {loc: ms for loc, ms in groups.items() if locations is None or loc in locations}
    series = energy_series(store, start, end, [m for ms in chosen.values() for m in ms], settings, gap_details)
    out = {loc: sum_intervals([series.intervals[m] for m in ms if m in series.intervals])
           for loc, ms in chosen.items()}
    return EnergySeries({k: v for k, v in out.items() if v}, series.gaps, series.checks)


def sum_intervals(lists: list[list[Interval]]) -> list[Interval]:
    """Intervals of several meters added up by start time."""
    acc: dict[datetime, list[Interval]] = {}
    for ivs in lists:
        for iv in ivs:
            acc.setdefault(iv.start, []).append(iv)
    return [Interval(t, sum(i.kwh for i in ivs), sum(i.kvarh for i in ivs), sum(i.kvah for i in ivs),
                     min(i.covered_s for i in ivs), max(i.gap_s for i in ivs)) for t, ivs in sorted(acc.items())]


def _frame(store: Store, start: date | datetime, end: date | datetime, meters: list[str] | None,
           settings: ReportSettings | None) -> tuple[Frame, datetime, datetime]:
    settings = settings or ReportSettings(timezone=store.tz.key)
    tz = settings.tz
    lo = start if isinstance(start, datetime) else datetime.combine(start, datetime.min.time(), tzinfo=tz)
    hi = end if isinstance(end, datetime) else datetime.combine(end, datetime.min.time(), tzinfo=tz)
    first_day = lo.astimezone(tz).date()
    last_day = (hi.astimezone(tz) - timedelta(microseconds=1)).date() + timedelta(days=1)
    return load(store, first_day, last_day, settings, meters), lo, hi


def _starts(grid: DayGrid) -> tuple[datetime, ...]:
    return grid.starts()


def nan0(values: list[float]) -> list[float]:
    """NaN (a packed quarter without that value) as 0.0."""
    return [0.0 if v != v else v for v in values]


def meter_intervals(days: list[MeterDay], lo: datetime, hi: datetime) -> list[Interval]:
    """One meter's 15-minute intervals with start in [lo, hi), from its loaded days."""
    out: list[Interval] = []
    for md in days:
        starts = _starts(md.grid)
        q = md.quarters
        n = md.grid.n
        kvarh, kvah, cov = ((nan0(q["reactive_kvarh"]), nan0(q["apparent_kvah"]), nan0(q["covered_s"]))
                            if q is not None else ([0.0] * n,) * 3)
        present = md.present or [True] * n
        for i, t in enumerate(starts):
            if present[i] and lo <= t < hi:
                out.append(Interval(t, md.kwh[i], kvarh[i], kvah[i], cov[i], md.gap[i]))
    return out


def find_gaps(days: list[MeterDay], lo: datetime, hi: datetime) -> list[Gap]:
    """Runs of quarters with unknown energy, merged across days, with exact duration."""
    runs: list[list[tuple[datetime, float]]] = []
    last_end: datetime | None = None
    for md in days:
        if not md.has_gap:  # a day without unknown time neither holds nor continues a gap
            continue
        starts = _starts(md.grid)
        for i, g in enumerate(md.gap):
            t = starts[i]
            if g <= 0 or not lo <= t < hi:
                continue
            # A gap goes on into the next quarter only from a quarter it fills to the end: the run's
            # first quarter (gap at its tail) or a full one; a partial one after that closes it.
            if runs and last_end == t and (len(runs[-1]) == 1 or runs[-1][-1][1] >= QUARTER_S):
                runs[-1].append((t, g))
            else:
                runs.append([(t, g)])
            last_end = t + STEP
    out: list[Gap] = []
    for run in runs:
        meter = days[0].meter
        total = sum(g for _, g in run)
        (ta, ga), (tb, gb) = run[0], run[-1]
        if len(run) == 1 and ga < QUARTER_S:
            out.append(Gap(meter, ta, ta + STEP, total, None, False))
        else:  # the gap runs from the end of the first quarter's covered part to the start of the last's
            out.append(Gap(meter, ta + STEP - timedelta(seconds=ga), tb + timedelta(seconds=gb), total, None, True))
    return out


def _with_counter(store: Store, gap: Gap) -> Gap:
    """The counter's increase across an exact gap: last value before it to the first after it."""
    if not gap.exact:
        return gap
    before = store.rollups("15m", gap.meter, gap.start - STEP - STEP, gap.start + STEP)
    after = store.rollups("15m", gap.meter, gap.end - STEP, gap.end + STEP + STEP)
    c0 = _last_counter(before, gap.start)
    c1 = _first_counter(after, gap.end)
    if c0 is None or c1 is None or c1 < c0:  # no counter (imported CSV), or a reset/replacement
        return gap
    return Gap(gap.meter, gap.start, gap.end, gap.duration_s, c1 - c0, True)


def _last_counter(rows: list[dict[str, Any]], at: datetime) -> float | None:
    slack = timedelta(seconds=1)  # gap bounds come from float seconds
    found = [r["counter_last"] for r in rows if r["counter_last_ts"] is not None and r["counter_last_ts"] <= at + slack]
    return found[-1] if found else None


def _first_counter(rows: list[dict[str, Any]], at: datetime) -> float | None:
    slack = timedelta(seconds=1)
    found = [r["counter_first"] for r in rows
             if r["counter_first_ts"] is not None and r["counter_first_ts"] >= at - slack]
    return found[0] if found else None
