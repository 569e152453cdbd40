"""The cost report: the site's estimated bill per month, allocated per location and component, and a what-if."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..analytics.frame import Frame, load, no_gc
from ..analytics.intervals import meter_intervals
from ..analytics.series import Interval
from ..analytics.settings import ReportSettings
from ..errors import ReportError
from ..tariffs.billing import Bill, Money, Zoned, local_span, price_timeline
from ..tariffs.load import list_tariffs
from ..tariffs.model import CHARGE_KINDS, Tariff
from ..tariffs.periods import TariffTimeline
from ..tariffs.timeline import Columns, summed_intervals
from .emissions import emissions_table
from .header import UNMETERED, Header, header
from .result import Table, r

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported only when a report runs
    from ..store import Store

KINDS = (*CHARGE_KINDS, "adjustment", "minimum", "power_factor", "levy", "tax")


FIELDS = ("energy_kwh", "reactive_kvarh", "apparent_kvah", "covered_s")  # the quarter fields read (tariffs.timeline)

@dataclass
class LocationCost:
    """One location's share of the bill: amounts per component summed over the months."""

    location: str
    kwh: float
    amounts: dict[str, Decimal]  # component name -> amount
    total: Decimal
    coincident_kw: dict[str, float]  # month -> its kW in the block that set the site's maximum demand

    def by_kind(self, bills: list[Bill]) -> dict[str, Decimal]:
        kinds = {c.name: c.kind for b in bills for c in b.components}
        out: dict[str, Decimal] = {}
        for name, amount in self.amounts.items():
            out[kinds[name]] = out.get(kinds[name], Decimal(0)) + amount
        return out


@dataclass
class Difference:
    what: str  # a component kind (energy, demand, ...) or "total"
    base: Decimal
    alternative: Decimal

    @property
    def difference(self) -> Decimal:
        return self.alternative - self.base


@dataclass
class WhatIf:
    """The same intervals priced under a second tariff, side by side."""

    tariff: str
    bills: list[Bill]
    total: Decimal
    locations: list[LocationCost]
    rows: list[Difference]  # per kind, then the total


@dataclass
class CostReport:
    header: Header
    tariff: str
    tariff_name: str
    currency: str
    source: str  # what the site's bill is priced on: the main meter, or every meter summed
    bills: list[Bill]  # the site, one per billing month (split where a tariff version starts)
    locations: list[LocationCost]
    total: Decimal
    complete: bool
    what_if: WhatIf | None = None
    notes: list[str] = field(default_factory=list)

    def tables(self) -> list[Table]:
        bill = [[b.month, c.label, c.quantity, c.unit, c.rate, c.rate_unit, c.amount, c.note]
                for b in self.bills for c in b.components]
        bill += [[b.month, "total", None, "", None, "", b.total, _span(b)] for b in self.bills]
        if len(self.bills) > 1:
            bill.append([f"{self.bills[0].start}..{self.bills[-1].end - timedelta(days=1)}", "total, all bills", None,
                         "", None, "", self.total, "" if self.complete else "incomplete"])
        notes = self.header.notes + self.notes + list(dict.fromkeys(n for b in self.bills for n in b.notes))
        kinds = [k for k in KINDS if any(c.kind == k for b in self.bills for c in b.components)]
        locs = [[x.location, r(x.kwh, 1), *[x.by_kind(self.bills).get(k, Decimal(0)) for k in kinds], x.total]
                for x in self.locations]
        out = [Table("bill", f"estimated bill, {self.tariff} ({self.currency}), {self.source}",
                     ["month", "component", "quantity", "unit", "rate", "rate unit", "amount", "note"], bill, notes),
               Table("locations", f"cost per location ({self.currency}); shares of the site bill",
                     ["location", "kWh", *kinds, "total"], locs, [ALLOCATION_RULE]),
               Table("coincident", "each location's kW in the block that set the month's maximum demand",
                     ["month", "location", "kW"],
                     [[m, x.location, r(kw, 2)] for x in self.locations for m, kw in x.coincident_kw.items()]),
               emissions_table([(x.location, x.kwh) for x in self.locations]
                               + [("site", sum(b.kwh for b in self.bills))], self.header)]
        if self.what_if:
            w = self.what_if
            out.append(Table("what_if", f"{self.tariff} vs {w.tariff} ({self.currency})",
                             ["component", self.tariff, w.tariff, "difference"],
                             [[d.what, d.base, d.alternative, d.difference] for d in w.rows],
                             list(dict.fromkeys(n for b in w.bills for n in b.notes))))
        return out


ALLOCATION_RULE = ("allocation: per-kWh components by each location's kWh in the bands they price; per-kW components "
                   "by its coincident kW in the block that set the site's maximum demand; monthly charges by kWh "
                   "share; minimum top-up, power-factor surcharge, levies and taxes in proportion to each "
                   "location's share of the components they are computed on; each split rounded to the sen with "
                   "the residue given to the largest remainders, so locations add up to the bill exactly")


def split(amount: Decimal, weights: Mapping[str, float | Decimal],
          step: Decimal = Decimal("0.01")) -> dict[str, Decimal]:
    """`amount` split in proportion to `weights` (negative ones count as 0; all 0: equal shares),
    in whole steps: each share rounded down, then one step each to the largest remainders (ties by
    name) until the shares add up to `amount` exactly."""
    names = sorted(weights)
    if not names:
        return {}
    w = {n: max(Fraction(weights[n]), Fraction(0)) for n in names}  # exact arithmetic from here on
    total = sum(w.values(), Fraction(0))
    if total == 0:
        w, total = {n: Fraction(1) for n in names}, Fraction(len(names))
    units = int((amount / step).to_integral_value())
    exact = {n: units * w[n] / total for n in names}
    base = {n: math.floor(exact[n]) for n in names}
    residue = units - sum(base.values())
    for n in sorted(names, key=lambda n: (-(exact[n] - base[n]), n))[:residue]:
        base[n] += 1
    return {n: (base[n] * step).quantize(step) for n in names}


def allocate(bill: Bill, tariff: Tariff, parts: Mapping[str, list[Interval]] | Columns
             ) -> tuple[dict[str, dict[str, Decimal]], dict[str, float]]:
    """Each part's share of every component of one bill, and its coincident kW in the maximum-demand block."""
    cols = parts if isinstance(parts, Columns) else Columns.from_intervals(parts)
    names = list(cols.kwh)
    v = tariff.version_on(bill.start)
    step = v.rounding.money
    i, j = cols.span(*local_span(tariff, bill.start, bill.end))
    band_kwh = {p: cols.by_band(p, i, j, tariff, v) for p in names}
    out: dict[str, dict[str, Decimal]] = {p: {} for p in names}

    def in_block(p: str, item: str) -> float:
        d = bill.demands.get(item)
        if d is None:
            return 0.0
        hours = (d.end - d.start).total_seconds() / 3600
        return cols.total(p, d.start, d.end) / hours

    for c in bill.components:
        w: dict[str, float | Decimal]
        if c.basis == "kWh":
            w = {p: sum(band_kwh[p][b] for b in (c.bands or v.bands)) for p in names}
        elif c.basis == "kW":
            w = {p: in_block(p, c.item) for p in names}
        elif c.basis == "kvar":
            w = {p: sum(map(abs, cols.kvarh(p)[i:j])) for p in names}
        elif c.basis == "month":
            w = {p: sum(band_kwh[p].values()) for p in names}
        else:  # percent: the location's share of the components it is computed on
            w = {p: sum((out[p].get(n, Decimal(0)) for n in c.base), Decimal(0)) for p in names}
        for p, a in split(c.amount, w, step).items():
            out[p][c.name] = a
    first_kw = next(iter(bill.demands), None)
    coincident = {p: in_block(p, first_kw) for p in names} if first_kw else {}
    return out, coincident


def _span(b: Bill) -> str:
    """The bill's days and tariff, and whether it is a piece of a split (transitional) cycle."""
    out = f"{b.start}..{b.end - timedelta(days=1)} {b.tariff}"
    return out + ("" if b.complete else ", incomplete")


def _costs(bills: list[Bill], timeline: TariffTimeline, cols: Columns) -> list[LocationCost]:
    acc = {p: LocationCost(p, 0.0, {}, Decimal(0), {}) for p in cols.kwh}
    for b in bills:
        tariff = timeline.tariff_on(b.start)
        shares, coincident = allocate(b, tariff, cols)
        for p, amounts in shares.items():
            x = acc[p]
            for name, a in amounts.items():
                x.amounts[name] = x.amounts.get(name, Decimal(0)) + a
                x.total += a
            if p in coincident:
                x.coincident_kw[b.month] = coincident[p]
            x.kwh += cols.total(p, *local_span(tariff, b.start, b.end))
    return sorted(acc.values(), key=lambda x: (x.location == UNMETERED, -x.total, x.location))


def _tariff(t: Tariff | TariffTimeline | None, option: str) -> TariffTimeline:
    if isinstance(t, TariffTimeline):
        return t
    if isinstance(t, Tariff):
        return TariffTimeline.single(t)
    if t is None:
        shipped = ", ".join(t.id for t in list_tariffs())
        raise ReportError("no tariff given", f"give --{option} NAME|FILE (shipped: {shipped}), "
                          "or set name = \"my-tnb-lv-general-2025\" under [tariff] in the site config")
    return t


def cost_report(store: Store, start: date, end: date, settings: ReportSettings | None = None,
                location: str | None = None, *, tariff: Tariff | TariffTimeline | None = None,
                what_if: Tariff | TariffTimeline | None = None, by: str = "location", pf: float | None = None,
                adjustments: Mapping[str, Mapping[str, Money]] | None = None,
                demand_history: Mapping[str, float] | None = None) -> CostReport:
    """The site's bill over [start, end) (site-local dates) under `tariff` (loaded by the caller:
    tariffs.load.load_tariff; or the site's TariffTimeline, each day priced under the tariff then in force), allocated per location (by="location") or per meter (by="meter"); with `what_if`, the
    same intervals priced under a second tariff. `location` keeps one location's row."""
    if by not in ("location", "meter"):
        raise ReportError(f"cannot allocate by {by!r}", "use --by location or --by meter")
    settings = settings or ReportSettings(timezone=store.tz.key)
    base = _tariff(tariff, "tariff")
    alt = _tariff(what_if, "what-if") if what_if is not None else None
    with no_gc():
        return cost_of(load(store, start, end, settings, fields=FIELDS), base, alt, location, by=by, pf=pf,
                       adjustments=adjustments, demand_history=demand_history)


def cost_of(frame: Frame, base: Tariff | TariffTimeline, alt: Tariff | TariffTimeline | None = None,
            location: str | None = None, *,
            by: str = "location", pf: float | None = None,
            adjustments: Mapping[str, Mapping[str, Money]] | None = None,
            demand_history: Mapping[str, float] | None = None) -> CostReport:
    """cost_report's work over loaded meter-days (its 15-minute intervals come from the same Frame)."""
    start, end, tz = frame.start, frame.end, frame.settings.tz
    base, alt = _tariff(base, "tariff"), (_tariff(alt, "what-if") if alt is not None else None)
    lo, hi = (datetime.combine(d, time(), tzinfo=tz) for d in (start, end))
    main = frame.main
    groups = dict(sorted(({m: [m] for ms in frame.groups().values() for m in ms} if by == "meter"
                          else frame.groups()).items()))
    if main:
        cols = Columns.from_frame(frame, {**groups, main: [main]})
        site, source = meter_intervals(frame.meter_days[main], lo, hi), f"main meter {main}"
        present = [False] * len(cols.starts)
        for md in frame.meter_days[main]:
            i = cols.offset[md.grid.day]
            present[i:i + md.grid.n] = md.present or [True] * md.grid.n
        cols.add_remainder(UNMETERED, main, list(groups), present)
        del cols.kwh[main]
    else:
        cols = Columns.from_frame(frame, groups)
        site, source = summed_intervals(frame, [m for ms in groups.values() for m in ms], lo, hi), "sum of all meters"
    notes = []
    if any(k < 0 for k in cols.kwh.get(UNMETERED, [])):
        notes.append("the sub-meters exceed the main meter in some intervals: the unmetered remainder is "
                     "negative there and gets no share of the cost")
    site = Zoned.of(site, ZoneInfo(base.current.timezone))  # priced under both tariffs: zoned and blocked once
    bills = price_timeline(base, site, start, end, pf=pf, adjustments=adjustments, demand_history=demand_history)
    locations = _costs(bills, base, cols)
    total = sum((b.total for b in bills), Decimal(0))
    comparison = None
    if alt is not None:
        names = {a.name for t in alt.tariffs for v in t.versions for a in v.adjustments}
        alt_bills = price_timeline(alt, site, start, end, pf=pf, demand_history=demand_history,
                                   adjustments={k: x for k, x in (adjustments or {}).items() if k in names})
        a_total = sum((b.total for b in alt_bills), Decimal(0))
        rows = [Difference(k, _kind(bills, k), _kind(alt_bills, k)) for k in KINDS
                if any(c.kind == k for b in (*bills, *alt_bills) for c in b.components)]
        comparison = WhatIf(_name(alt), alt_bills, a_total, _costs(alt_bills, alt, cols),
                            rows + [Difference("total", total, a_total)])
    if location is not None:
        locations = [x for x in locations if x.location == location]
        if comparison:
            comparison.locations = [x for x in comparison.locations if x.location == location]
    return CostReport(header("cost", frame), _name(base), base.current.name, base.current.currency, source, bills,
                      locations, total, all(b.complete for b in bills), comparison, notes)


def _kind(bills: list[Bill], kind: str) -> Decimal:
    return sum((c.amount for b in bills for c in b.components if c.kind == kind), Decimal(0))


def _name(t: TariffTimeline) -> str:
    """The tariff's id, or the timeline's ids joined by → (my-tnb-c2-2014 → my-tnb-mv-tou-2025)."""
    return " → ".join(dict.fromkeys(p.tariff.id for p in t.periods))
