"""Meter-days from the daily rollups: counter-reconciled 15-minute energy, unknown time, location sums."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from operator import add
from typing import TYPE_CHECKING, Any

from ..errors import NoData, ReportError
from ..store.quarters import FIELDS, Quarters
from .calendar import DayGrid, dates, day_grid
from .settings import ReportSettings

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported only when a report runs
    from ..store import Store

QUARTER_S = 900.0
DAY_COLUMNS = ("samples", "covered_s", "gap_s", "energy_kwh", "reactive_kvarh", "apparent_kvah", "counter_kwh",
               "counter_first", "counter_last",
               "voltage_min", "voltage_max", "voltage_ll_min", "voltage_ll_max", "unbalance_max", "freq_min",
               "freq_max")
ENERGY = ("energy_kwh",)  # the quarter fields of reports that read only energy (load's `fields`)
SCALED, DISAGREE, COARSE, RESET = "scaled", "disagree", "coarse", "reset"
NO_COUNTER, NO_ENERGY = "no counter", "no energy"


@dataclass(frozen=True)
class DayCheck:
    """How one meter-day's integrated energy compares with its whole-kWh counter."""

    meter: str
    day: date
    integrated_kwh: float | None  # ∫ P dt over the covered time (rollup energy_kwh)
    counter_kwh: float | None  # the counter's increase over the same readings (rollup counter_kwh)
    factor: float  # applied to every 15-minute energy of the day (1.0 unless status is "scaled")
    status: str  # scaled | disagree | coarse | reset | no counter | no energy

    @property
    def difference_pct(self) -> float | None:
        """(counter − integrated) / integrated, %."""
        if self.counter_kwh is None or not self.integrated_kwh:
            return None
        return (self.counter_kwh - self.integrated_kwh) / self.integrated_kwh * 100


def reconcile(integrated: float | None, counter: float | None, settings: ReportSettings,
              net: float | None = None) -> tuple[float, str]:
    """(factor, status) of one meter-day: scale to the counter only when its day delta is many times
    its ±1 kWh resolution (min_counter_kwh, default 500 kWh: ±0.2 %) and agrees within the tolerance;
    otherwise keep integrated power and say why. A smaller delta is compared, never applied: at 50 kWh
    a day its ±1 kWh reshaped every quarter by up to ±2 % (a constant 2.1 kW read 2.125 kW maximum
    demand). `net` = the counter's last value of the day − its value before the day's first increase
    (the previous day's last reading, as the rollup credits the step across midnight to this day):
    below the sum of its increases, the counter went backwards (a reset or a new meter): flagged,
    the integrated figure kept."""
    if counter is None:
        return 1.0, NO_COUNTER
    if net is not None and net < counter - 0.5:
        return 1.0, RESET
    if integrated is None or integrated <= 0:
        return 1.0, NO_ENERGY
    if counter < settings.min_counter_kwh:
        return 1.0, COARSE
    ratio = counter / integrated
    if abs(ratio - 1) * 100 > settings.counter_tolerance:
        return 1.0, DISAGREE  # wrong CT ratio, or a meter that counts something else: do not hide it
    return ratio, SCALED


class MeterDay:
    """One meter on one local day: per quarter the reconciled kWh and the seconds of unknown energy.

    A day whose rollup says every second was measured (covered_s = the day, no gap) is unpacked only
    when a report asks for its quarters: a ranking needs the day's total alone.
    """

    __slots__ = ("meter", "location", "grid", "check", "present", "row", "total", "has_gap", "_kwh", "_gap")

    def __init__(self, meter: str, location: str, grid: DayGrid, check: DayCheck, kwh: list[float] | None,
                 gap: list[float] | None, present: list[bool] | None, row: dict[str, Any] | None, total: float,
                 has_gap: bool) -> None:
        self.meter, self.location, self.grid, self.check = meter, location, grid, check
        self.present = present  # None: the meter existed all day; else False before its first data
        self.row = row  # the day rollup row (None: no data that day)
        self.total = total  # Σ kwh
        self.has_gap = has_gap  # some quarter with unknown energy
        self._kwh, self._gap = kwh, gap

    @property
    def kwh(self) -> list[float]:
        """Reconciled kWh per quarter; 0.0 where unknown (see gap). Read-only (may be shared).
        An unscaled day's list is unpacked each time it is asked, not kept: a year of them is 36 MB."""
        if self._kwh is not None:
            return self._kwh
        e = self.row["quarters"]["energy_kwh"]  # type: ignore[index]
        f = self.check.factor
        if f == 1.0:
            return e
        self._kwh = [v * f for v in e]
        return self._kwh

    @property
    def gap(self) -> list[float]:
        """Seconds of each quarter whose energy is unknown (a gap, or no data at all)."""
        if self._gap is None:
            self._gap = _zeros(self.grid.n)
        return self._gap

    @property
    def quarters(self) -> Quarters | None:
        return self.row["quarters"] if self.row else None


class LocationDay:
    """A location's meters summed on one day: kWh added, unknown seconds the worst of its meters.

    Sums are made when first asked for (a ranking needs only totals), and shared where a location
    has one meter or no gap: treat the lists as read-only.
    """

    def __init__(self, location: str, grid: DayGrid, parts: list[MeterDay], kwh: list[float] | None = None,
                 gap: list[float] | None = None, present: list[bool] | None = None) -> None:
        self.location, self.grid, self.parts = location, grid, parts
        self._kwh, self._gap, self._present = kwh, gap, present

    @property
    def kwh(self) -> list[float]:
        if self._kwh is None:
            self._kwh = add_lists([p.kwh for p in self.parts])
        return self._kwh

    @property
    def has_gap(self) -> bool:
        return any(p.has_gap for p in self.parts) if self._gap is None else max(self._gap) > 0

    @property
    def gap(self) -> list[float]:
        if self._gap is None:
            gaps = [p.gap for p in self.parts if p.has_gap]
            self._gap = (_zeros(self.grid.n) if not gaps else gaps[0] if len(gaps) == 1
                         else [max(t) for t in zip(*gaps)])
        return self._gap

    @property
    def present(self) -> list[bool]:
        if self._present is None:
            flags = [p.present for p in self.parts]
            self._present = (_trues(self.grid.n) if any(f is None for f in flags)
                             else [any(t) for t in zip(*flags)])  # type: ignore[arg-type]
        return self._present

    @property
    def total(self) -> float:
        return sum(p.total for p in self.parts) if self._kwh is None else sum(self._kwh)

    @property
    def all_present(self) -> bool:
        return self._present is None and any(p.present is None for p in self.parts) or all(self.present)

    @property
    def clean(self) -> bool:
        """A usual day (96 quarters from midnight) with every quarter measured: fast paths may slice."""
        return self.grid.n == 96 and self.grid.minutes[1] == 15 and not self.has_gap and self.all_present


def add_lists(lists: list[list[float]]) -> list[float]:
    """Element-wise sum (the first list itself when it is alone: treat results as read-only)."""
    out = lists[0]
    for other in lists[1:]:
        out = list(map(add, out, other))
    return out


@lru_cache(maxsize=8)
def _zeros(n: int) -> list[float]:
    return [0.0] * n


@lru_cache(maxsize=8)
def _trues(n: int) -> list[bool]:
    return [True] * n


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
    return LocationDay(name, parts[0].grid, parts)


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: a year of meter-days is ~100,000 lists and dicts that it
    would rescan again and again (a quarter of a report's time); nothing here builds cycles."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load(store: Store, start: date, end: date, settings: ReportSettings, meters: list[str] | None = None,
         fields: tuple[str, ...] = FIELDS) -> Frame:
    """Meter-days of [start, end) from the daily rollups (one row per meter and day, quarters packed).
    `fields`: the packed quarter fields the caller reads (MeterDay.kwh reads energy_kwh); only these
    are kept, read meter by meter: a year of 32 meters' whole arrays is 76 MB.

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
    before = day_grid(tz, start - timedelta(days=1))  # its last counter reading: the base of the first day's
    keep = tuple(fields) != FIELDS
    out: dict[str, list[MeterDay]] = {}
    for m, (first, _) in live.items():
        rows: dict[date, dict[str, Any]] = {}
        for r in store.packed_days(m, start=before.start, end=hi, columns=DAY_COLUMNS):
            start_ = r["start"] if r["start"].tzinfo is tz else r["start"].astimezone(tz)
            if start_.time() != grids[0].start.time() and start_ != day_grid(tz, start_.date()).start:
                raise ReportError(f"the day rollups start at {start_:%H:%M} in {settings.timezone}, not at midnight: "
                                  "they were built for another time zone",
                                  "report in the site's time zone, or rebuild the rollups in this one")
            rows[start_.date()] = r
        out[m] = [_meter_day(m, info[m], g, rows.get(g.day), first, site_last, settings,
                             _last_counter(rows.get(g.day - timedelta(days=1))))
                  for g in grids if g.end > first and g.start < site_last]
        if keep:
            for r in rows.values():
                if r["quarters"] is not None:
                    r["quarters"] = r["quarters"].keep(fields)
    return Frame(settings, start, end, {m: info[m] for m in wanted}, out, extent)


def _last_counter(row: dict[str, Any] | None) -> float | None:
    return row.get("counter_last") if row else None


def _meter_day(meter: str, location: str, grid: DayGrid, row: dict[str, Any] | None, first: datetime,
               last: datetime, settings: ReportSettings, before: float | None = None) -> MeterDay:
    """`before`: the counter's last value on the previous day (None: no reading that day)."""
    n = grid.n
    present: list[bool] | None = None
    if first > grid.start or last < grid.end:
        present = [first <= t < last for t in grid.starts()]
    integrated, counter = (row["energy_kwh"], row["counter_kwh"]) if row else (None, None)
    first_c, last_c = (row.get("counter_first"), row.get("counter_last")) if row else (None, None)
    # counter_kwh includes the step from the previous day's last reading when it is within the gap;
    # without that step (a gap across midnight) the net from there is larger still: never a false reset.
    base = before if before is not None else first_c
    net = last_c - base if base is not None and last_c is not None else None
    factor, status = reconcile(integrated, counter, settings, net)
    check = DayCheck(meter, grid.day, integrated, counter, factor, status)
    q = row["quarters"] if row else None
    if q is None:
        gap = [QUARTER_S] * n if present is None else [QUARTER_S if p else 0.0 for p in present]
        return MeterDay(meter, location, grid, check, [0.0] * n, gap, present, row, 0.0, max(gap) > 0)
    if present is None and integrated is not None and row["gap_s"] == 0 and row["covered_s"] >= n * QUARTER_S - 1e-6:
        return MeterDay(meter, location, grid, check, None, None, None, row, integrated * factor, False)
    e, g = q["energy_kwh"], q["gap_s"]
    # A quarter measured only in part (measuring started or stopped in it) is not complete either:
    # its unmeasured seconds count as unknown, like a gap's.
    g = [max(x if x == x else 0.0, QUARTER_S - c) if c == c and c < QUARTER_S - 0.5 else x
         for x, c in zip(g, q["covered_s"])]
    if present is not None:  # outside the meter's extent nothing is missing
        g = [x if p else 0.0 for x, p in zip(g, present)]
    total = sum(e)
    if total != total:  # a NaN: quarters without a row or without power are unknown, never zero-filled
        holes = [v != v for v in e]
        g = [QUARTER_S if h else x for h, x in zip(holes, g)]
        e = [0.0 if h else v for h, v in zip(holes, e)]
        if present is not None:
            g = [x if p else 0.0 for x, p in zip(g, present)]
        total = sum(e)
    kwh = e if factor == 1.0 else [v * factor for v in e]
    return MeterDay(meter, location, grid, check, kwh, g, present, row, total * factor, max(g) > 0)


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
