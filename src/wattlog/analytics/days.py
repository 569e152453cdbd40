"""Meter-days from the daily rollups: counter-reconciled 15-minute energy, unknown time, location sums."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ..store import Store
from ..store.quarters import Quarters
from .calendar import DayGrid, dates, day_grid
from .errors import NoData
from .settings import ReportSettings

QUARTER_S = 900.0
DAY_COLUMNS = ("samples", "covered_s", "gap_s", "energy_kwh", "reactive_kvarh", "apparent_kvah", "counter_kwh",
               "voltage_min", "voltage_max", "voltage_ll_min", "voltage_ll_max", "unbalance_max", "freq_min",
               "freq_max")
SCALED, DISAGREE, COARSE, NO_COUNTER, NO_ENERGY = "scaled", "disagree", "coarse", "no counter", "no energy"


@dataclass(frozen=True)
class DayCheck:
    """How one meter-day's integrated energy compares with its whole-kWh counter."""

    meter: str
    day: date
    integrated_kwh: float | None  # ∫ P dt over the covered time (rollup energy_kwh)
    counter_kwh: float | None  # the counter's increase over the same readings (rollup counter_kwh)
    factor: float  # applied to every 15-minute energy of the day (1.0 unless status is "scaled")
    status: str  # scaled | disagree | coarse | no counter | no energy

    @property
    def difference_pct(self) -> float | None:
        """(counter − integrated) / integrated, %."""
        if self.counter_kwh is None or not self.integrated_kwh:
            return None
        return (self.counter_kwh - self.integrated_kwh) / self.integrated_kwh * 100


def reconcile(integrated: float | None, counter: float | None, settings: ReportSettings) -> tuple[float, str]:
    """(factor, status): scale to the counter when it advanced enough for its ±1 kWh to be small
    and agrees within the tolerance; otherwise keep integrated power and say why."""
    if counter is None:
        return 1.0, NO_COUNTER
    if integrated is None or integrated <= 0:
        return 1.0, NO_ENERGY
    if counter < settings.min_counter_kwh:
        return 1.0, COARSE
    ratio = counter / integrated
    if abs(ratio - 1) * 100 > settings.counter_tolerance:
        return 1.0, DISAGREE  # wrong CT ratio, or a meter that counts something else: do not hide it
    return ratio, SCALED


@dataclass
class MeterDay:
    """One meter on one local day: per quarter the reconciled kWh and the seconds of unknown energy."""

    meter: str
    location: str
    grid: DayGrid
    check: DayCheck
    kwh: list[float]  # reconciled; 0.0 where unknown (see gap)
    gap: list[float]  # seconds of the quarter whose energy is unknown (a gap, or no data at all)
    present: list[bool] | None  # None: the meter existed all day; else False before its first data
    row: dict[str, Any] | None  # the day rollup row (None: no data that day)

    @property
    def quarters(self) -> Quarters | None:
        return self.row["quarters"] if self.row else None


@dataclass
class LocationDay:
    """A location's meters summed on one day: kWh added, unknown seconds the worst of its meters."""

    location: str
    grid: DayGrid
    kwh: list[float]
    gap: list[float]
    present: list[bool]  # a quarter with at least one meter in its life
    parts: list[MeterDay] = field(default_factory=list)


@dataclass
class Frame:
    """Everything the reports read: meter-days over [start, end) and how meters form locations."""

    settings: ReportSettings
    start: date
    end: date
    locations: dict[str, str]  # meter name -> location
    meter_days: dict[str, list[MeterDay]]  # by meter, in date order; only days inside its life
    extent: dict[str, tuple[datetime, datetime]]

    @property
    def main(self) -> str | None:
        m = self.settings.main_meter
        return m if m in self.meter_days else None

    def groups(self, include_main: bool = False) -> dict[str, list[str]]:
        """Location -> its meters (the main meter is the site, not a location, unless asked)."""
        out: dict[str, list[str]] = {}
        for meter, loc in self.locations.items():
            if meter in self.meter_days and (include_main or meter != self.settings.main_meter):
                out.setdefault(loc, []).append(meter)
        return out

    def location_days(self, meters: list[str], name: str = "") -> list[LocationDay]:
        """The given meters summed day by day."""
        by_day: dict[date, list[MeterDay]] = {}
        for m in meters:
            for md in self.meter_days.get(m, []):
                by_day.setdefault(md.grid.day, []).append(md)
        return [combine(name, parts) for _, parts in sorted(by_day.items())]

    def checks(self) -> list[DayCheck]:
        return [md.check for days in self.meter_days.values() for md in days]


def combine(name: str, parts: list[MeterDay]) -> LocationDay:
    grid = parts[0].grid
    if len(parts) == 1:
        p = parts[0]
        present = p.present if p.present is not None else [True] * grid.n
        return LocationDay(name, grid, p.kwh, p.gap, present, parts)
    kwh = [sum(t) for t in zip(*(p.kwh for p in parts))]
    gap = [max(t) for t in zip(*(p.gap for p in parts))]
    flags = [p.present for p in parts if p.present is not None]
    present = [True] * grid.n if len(flags) < len(parts) else [any(t) for t in zip(*flags)]
    return LocationDay(name, grid, kwh, gap, present, parts)


def load(store: Store, start: date, end: date, settings: ReportSettings, meters: list[str] | None = None) -> Frame:
    """Meter-days of [start, end) from the daily rollups (one row per meter and day, quarters packed).

    Raises NoData, naming the dates that do have data, when none of the meters has any there.
    """
    if end <= start:
        raise NoData(f"the range {start} to {end} is empty", "give --to a later date than --from")
    tz = settings.tz
    info = {m["name"]: m["location"] or m["name"] for m in store.meters()}
    wanted = [m for m in (meters or sorted(info)) if m in info]
    extent = store.extent()
    grids = [day_grid(tz, d) for d in dates(start, end)]
    lo, hi = grids[0].start, grids[-1].end
    live = {m: extent[m] for m in wanted if m in extent and extent[m][0] < hi and extent[m][1] > lo}
    if not live:
        raise NoData(*_no_data(start, end, {m: extent[m] for m in wanted if m in extent}, settings, meters))
    site_last = max(e[1] for e in extent.values())
    rows: dict[tuple[str, date], dict[str, Any]] = {}
    for r in store.packed_days(start=lo, end=hi, columns=DAY_COLUMNS):
        if r["meter"] in live:
            rows[(r["meter"], r["start"].astimezone(tz).date())] = r
    out: dict[str, list[MeterDay]] = {}
    for m, (first, _) in live.items():
        out[m] = [_meter_day(m, info[m], g, rows.get((m, g.day)), first, site_last, settings)
                  for g in grids if g.end > first and g.start < site_last]
    return Frame(settings, start, end, {m: info[m] for m in wanted}, out, extent)


def _meter_day(meter: str, location: str, grid: DayGrid, row: dict[str, Any] | None, first: datetime,
               last: datetime, settings: ReportSettings) -> MeterDay:
    n = grid.n
    present: list[bool] | None = None
    if first > grid.start or last < grid.end:
        present = [first <= t < last for t in grid.starts()]
    integrated, counter = (row["energy_kwh"], row["counter_kwh"]) if row else (None, None)
    factor, status = reconcile(integrated, counter, settings)
    check = DayCheck(meter, grid.day, integrated, counter, factor, status)
    q = row["quarters"] if row else None
    if q is None:
        gap = [QUARTER_S] * n if present is None else [QUARTER_S if p else 0.0 for p in present]
        return MeterDay(meter, location, grid, check, [0.0] * n, gap, present, row)
    e, g = q["energy_kwh"], q["gap_s"]
    if any(v != v for v in e):  # quarters without a row or without power: unknown, never zero-filled
        holes = [v != v for v in e]
        g = [QUARTER_S if h else x for h, x in zip(holes, g)]
        e = [0.0 if h else v for h, v in zip(holes, e)]
        if present is not None:
            g = [x if p else 0.0 for x, p in zip(g, present)]
    kwh = e if factor == 1.0 else [v * factor for v in e]
    return MeterDay(meter, location, grid, check, kwh, g, present, row)


def _no_data(start: date, end: date, extent: dict[str, tuple[datetime, datetime]], settings: ReportSettings,
             meters: list[str] | None) -> tuple[str, str]:
    what = f"no data for {', '.join(meters)}" if meters else "no data"
    problem = f"{what} from {start} to {end} (site time {settings.timezone})"
    if not extent:
        return problem, "no rollups yet: run the logger, or import CSV files and run the report again"
    tz = settings.tz
    first = min(e[0] for e in extent.values()).astimezone(tz).date()
    last = (max(e[1] for e in extent.values()).astimezone(tz) - timedelta(microseconds=1)).date()
    return problem, f"data exists from {first} to {last}: use --from {first} --to {last + timedelta(days=1)}"
