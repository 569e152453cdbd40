"""The pricing engine: a billing month of 15-minute intervals under a tariff → a Bill, to the sen."""

from __future__ import annotations

import calendar
import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from operator import itemgetter
from zoneinfo import ZoneInfo

from ..analytics.series import (
    STEP,
    Demand,
    Interval,
    demand_blocks,
    highest,
    max_demand,
)
from ..errors import TariffError
from .model import Adjustment, Charge, Minimum, Percent, PowerFactor, Tariff, Version
from .periods import TariffTimeline

Money = Decimal | str | int | float


@dataclass(frozen=True)
class Component:
    """One line of the bill: quantity × rate = amount (rounded by the tariff file's rule)."""

    kind: str  # energy, demand, capacity, network, retail, fixed, adjustment, minimum, power_factor, levy, tax
    name: str  # unique in the bill: "energy/peak", "energy/tier 1", "capacity", "afa", "kwtbb"
    item: str  # the charge, adjustment, levy or tax of the tariff file it comes from
    label: str
    quantity: Decimal
    unit: str  # kWh, kW, kvar, month, or the major unit (the base of a percentage or minimum)
    rate: Decimal
    rate_unit: str  # as in the file: sen/kWh, RM/kW, RM/month; % for percentages
    amount: Decimal  # major units
    basis: str  # how cost.py allocates it: kWh, kW, kvar, month, percent
    bands: tuple[str, ...] = ()  # basis kWh: the bands whose kWh it prices; () = all
    base: tuple[str, ...] = ()  # basis percent: the names of the components it was computed on
    note: str = ""


@dataclass(frozen=True)
class Bill:
    """A site's estimated bill for one billing month (or the part of it asked for)."""

    tariff: str
    version: date  # effective_from of the version in force
    currency: str
    major_unit: str
    start: date
    end: date  # exclusive
    components: tuple[Component, ...]
    total: Decimal
    kwh: float
    kwh_by_band: dict[str, float]
    demands: dict[str, Demand | None]  # per-kW charge name → the maximum demand measured for it
    billed_kw: dict[str, float]  # after a ratchet
    pf: float | None
    complete: bool  # False: intervals missing or with gaps inside; the energy there is not filled in
    missing_intervals: int
    gap_intervals: int
    partial: bool  # the period is not the whole calendar month: monthly charges are pro-rated by days
    notes: tuple[str, ...]

    @property
    def month(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def max_demand(self) -> Demand | None:
        """The maximum demand of the first per-kW charge (kW and block start)."""
        return next(iter(self.demands.values()), None)

    def by_kind(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for c in self.components:
            out[c.kind] = out.get(c.kind, Decimal(0)) + c.amount
        return out


def money(x: Decimal, step: Decimal, mode: str) -> Decimal:
    """Round an amount to a step of the major unit (0.01: the sen)."""
    return ((x / step).to_integral_value(rounding=mode) * step).quantize(step)


def _qty(x: float, places: int, mode: str) -> Decimal:
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-places), rounding=mode)


def local_span(tariff: Tariff, start: date, end: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(tariff.timezone)
    return datetime.combine(start, time(), tz), datetime.combine(end, time(), tz)


class Zoned(list[Interval]):
    """Intervals in one time zone, summed per start and sorted: a month is a bisect away (a year's
    bills slice one list instead of converting every interval for every month)."""

    def __init__(self, intervals: Iterable[Interval], tz: tzinfo) -> None:
        acc: dict[datetime, Interval] = {}
        for iv in intervals:
            if iv.start.tzinfo is None:
                raise ValueError(f"interval start {iv.start} has no time zone")
            t = iv.start if iv.start.tzinfo is tz else iv.start.astimezone(tz)
            a = acc.get(t)
            if a is None:
                acc[t] = iv if t is iv.start else replace(iv, start=t)
            else:
                acc[t] = Interval(t, a.kwh + iv.kwh, a.kvarh + iv.kvarh, a.kvah + iv.kvah,
                                  min(a.covered_s, iv.covered_s), max(a.gap_s, iv.gap_s))
        keyed = sorted(((iv.start.timestamp(), iv) for iv in acc.values()), key=itemgetter(0))
        super().__init__(iv for _, iv in keyed)
        self.tz = tz
        self.keys = [k for k, _ in keyed]  # instants: wall times repeat at a DST change
        self.blocks: dict[tuple[float, float, int], list[Demand]] = {}  # a month's demand blocks, any tariff

    @classmethod
    def of(cls, intervals: Iterable[Interval], tz: tzinfo) -> Zoned:
        return intervals if isinstance(intervals, Zoned) and intervals.tz is tz else cls(intervals, tz)

    def between(self, lo: datetime, hi: datetime) -> list[Interval]:
        return self[bisect_left(self.keys, lo.timestamp()):bisect_left(self.keys, hi.timestamp())]


def band_of(tariff: Tariff, version: Version, t: datetime) -> str:
    return version.band_at(tariff.day_type(t.date()), t)


def recorder(tariff: Tariff, version: Version, bands: tuple[str, ...]) -> Callable[[datetime], bool] | None:
    """`counts` for max_demand: blocks starting in these bands (None: every block)."""
    return (lambda s: band_of(tariff, version, s) in bands) if bands else None


def demand_rule(tariff: Tariff, d: date) -> tuple[int, Callable[[datetime], bool] | None, str] | None:
    """The window, the blocks that count and a description of the first per-kW charge in force on day `d`
    (None: the tariff charges no demand)."""
    v = tariff.version_on(d)
    c = next((c for c in v.charges if c.basis == "kW"), None)
    if c is None:
        return None
    hours = f"blocks starting in {', '.join(c.record_in)}" if c.record_in else "every hour"
    return c.window, recorder(tariff, v, c.record_in), f"{tariff.id}: {c.window}-minute blocks, {hours}"


def _months_before(month: date, n: int) -> list[str]:
    out, y, m = [], month.year, month.month
    for _ in range(n):
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        out.append(f"{y:04d}-{m:02d}")
    return out


def measured_pf(ivs: list[Interval]) -> float | None:
    """Monthly average power factor from kWh and kvarh (or kVAh); None when the meter gave neither."""
    kwh, kvarh, kvah = (sum(getattr(i, f) for i in ivs) for f in ("kwh", "kvarh", "kvah"))
    if kwh <= 0:
        return None
    if any(i.kvarh for i in ivs):
        return kwh / math.hypot(kwh, abs(kvarh))
    return min(1.0, kwh / kvah) if kvah > 0 else None


class _Month:
    """The stages of one bill, in the order of calculation; each component rounded as it is added."""

    def __init__(self, tariff: Tariff, v: Version, ivs: list[Interval], start: date, end: date,
                 cycle: tuple[date, date], transitional: bool = False) -> None:
        self.t, self.v, self.ivs, self.r = tariff, v, ivs, v.rounding
        self.first, self.month = start.replace(day=1), f"{start:%Y-%m}"
        # Monthly charges (and tiers) pro-rated by the days of the billing cycle this piece covers.
        self.frac = Decimal((end - start).days) / Decimal((cycle[1] - cycle[0]).days)
        # Per-kW charges too, but only in a piece of a cycle split by a change of schedule (transitional).
        self.kw_frac = self.frac if transitional else Decimal(1)
        self.by_band = {b: 0.0 for b in v.bands}
        self.by_month: dict[str, dict[str, float]] = {}  # calendar month → band → kWh (adjustments are monthly)
        # per day: the band of each quarter-hour (band_of, faster) and its calendar month's sums
        days: dict[int, tuple[tuple[str, ...], dict[str, float]]] = {}
        for iv in ivs:
            t = iv.start
            day = days.get(t.toordinal())
            if day is None:
                month = self.by_month.get(f"{t:%Y-%m}")
                if month is None:
                    month = self.by_month[f"{t:%Y-%m}"] = {b: 0.0 for b in v.bands}
                day = days[t.toordinal()] = (v.grid[tariff.day_type(t.date())], month)
            bands, month = day
            band = bands[(t.hour * 60 + t.minute) // 15]
            self.by_band[band] += iv.kwh
            month[band] += iv.kwh
        self.q_band = {b: _qty(k, self.r.kwh_decimals, self.r.mode) for b, k in self.by_band.items()}
        self.comps: list[Component] = []
        self.notes: list[str] = []
        self.demands: dict[str, Demand | None] = {}
        self.billed: dict[str, float] = {}
        self._memo: dict[tuple[float, float, int], list[Demand]] = {}  # price() shares it between tariffs
        self._span = (start.toordinal(), end.toordinal())

    def share_blocks(self, memo: dict[tuple[float, float, int], list[Demand]], span: tuple[float, float]) -> None:
        self._memo, self._span = memo, span

    def peak(self, window: int, counts: Callable[[datetime], bool] | None) -> Demand | None:
        """max_demand of the month's intervals; the blocks are made once per window for every charge."""
        key = (*self._span, window)
        blocks = self._memo.get(key)
        if blocks is None:
            blocks = self._memo[key] = demand_blocks(self.ivs, window)
        return highest(d for d in blocks if counts is None or counts(d.start))  # the earliest of equals

    def add(self, kind: str, name: str, item: str, label: str, qty: Decimal, unit: str, rate: Decimal,
            rate_unit: str, amount: Decimal, basis: str, **kw: object) -> None:
        rounded = money(amount, self.r.money, self.r.mode)
        self.comps.append(Component(kind, name, item, label, qty, unit, rate, rate_unit, rounded, basis,
                                    **kw))  # type: ignore[arg-type]

    def kwh_in(self, bands: tuple[str, ...]) -> Decimal:
        return sum((self.q_band[b] for b in (bands or self.v.bands)), Decimal(0))

    def base_of(self, applies: tuple[str, ...]) -> tuple[tuple[str, ...], Decimal]:
        hit = [c for c in self.comps if c.kind in applies or c.item in applies]
        return tuple(c.name for c in hit), sum((c.amount for c in hit), Decimal(0))

    def charge(self, c: Charge, history: Mapping[str, float]) -> None:
        label = f"{c.kind} charge" if c.name == c.kind else c.name
        if c.basis == "kWh" and c.rates:
            for b, rate in c.rates.items():
                q = self.q_band[b]
                self.add(c.kind, f"{c.name}/{b}", c.name, f"{label}, {b}", q, "kWh", rate, c.unit,
                         q * rate * c.factor, "kWh", bands=(b,))
        elif c.basis == "kWh" and c.tiers:
            total, done = self.kwh_in(c.bands), Decimal(0)
            for i, tier in enumerate(c.tiers, 1):  # limits pro-rated by days in a part month
                limit = None if tier.up_to is None else _qty(tier.up_to * float(self.frac), self.r.kwh_decimals,
                                                               self.r.mode)
                top = total if limit is None else min(total, limit)
                q, done = max(top - done, Decimal(0)), max(done, top)
                span = f"up to {tier.up_to:g} kWh" if tier.up_to is not None else "the rest"
                self.add(c.kind, f"{c.name}/tier {i}", c.name, f"{label}, tier {i} ({span})", q, "kWh", tier.rate,
                         c.unit, q * tier.rate * c.factor, "kWh", bands=c.bands)
        elif c.basis == "kWh":
            q = self.kwh_in(c.bands)
            self.add(c.kind, c.name, c.name, label, q, "kWh", c.rate, c.unit, q * c.rate * c.factor, "kWh",
                     bands=c.bands)
        elif c.basis == "kW":
            d = self.peak(c.window, recorder(self.t, self.v, c.record_in))
            self.demands[c.name] = d
            kw, note = d.kw if d else 0.0, ""
            if d and not d.complete:
                self.notes.append(f"{c.name}: the maximum-demand block {d.start:%Y-%m-%d %H:%M} has a gap; "
                                  "the true maximum may be higher")
            if c.ratchet_percent is not None:
                months = _months_before(self.first, c.ratchet_months)
                past = [x for m, x in history.items() if m in months]
                floor = float(c.ratchet_percent) / 100 * max(past) if past else 0.0
                if floor > kw:
                    kw, note = floor, f"ratchet: {c.ratchet_percent}% of {max(past):g} kW (past {len(months)} months)"
            self.billed[c.name] = kw
            q = _qty(kw, self.r.kw_decimals, self.r.mode)
            if self.kw_frac != 1:
                note = "; ".join(filter(None, [note, f"transitional: × {self.kw_frac:.4f} of the cycle's days"]))
            self.add(c.kind, c.name, c.name, label, q, "kW", c.rate, c.unit, q * c.rate * c.factor * self.kw_frac,
                     "kW", note=note)
        else:  # per month, pro-rated by days in a part month
            self.add(c.kind, c.name, c.name, label, self.frac.quantize(Decimal("0.0001")), "month", c.rate, c.unit,
                     c.rate * c.factor * self.frac, "month")

    def adjustment(self, a: Adjustment, given: Mapping[str, Money]) -> None:
        """One line per calendar month the piece's kWh fall in (a cycle from the 15th spans two)."""
        months = sorted(self.by_month) or [self.month]
        for month in months:
            rate = self._rate(a, given, month)
            if len(months) == 1:
                q, name, label = self.kwh_in(a.bands), a.name, a.label
            else:
                kwh = self.by_month[month]
                q = sum((_qty(kwh[b], self.r.kwh_decimals, self.r.mode) for b in (a.bands or self.v.bands)),
                        Decimal(0))
                name, label = f"{a.name}/{month}", f"{a.label}, {month}"
            self.add("adjustment", name, a.name, label, q, "kWh", rate, a.unit, q * rate * a.factor, "kWh",
                     bands=a.bands)

    def _rate(self, a: Adjustment, given: Mapping[str, Money], month: str) -> Decimal:
        rate = None
        if month in given:
            value = given[month]
            rate, where = Decimal(repr(value) if isinstance(value, float) else str(value)), "given"
        elif month in a.series:
            m = a.sources.get(month)
            rate, where = a.series[month], f"{m.source} ({m.confidence})" if m else f"the tariff file ({a.meta.confidence})"
        if rate is not None:
            self.notes.append(f"{a.label} {month}: {rate} {a.unit}, {where}")
            if a.usual is not None and abs(rate) > a.usual:
                self.notes.append(f"{a.label} {month}: {rate} {a.unit} is beyond the usual ±{a.usual}: "
                                  "priced as given; check it against the bill")
            return rate
        if a.missing == "error":
            raise TariffError(f"{a.name} for {month} is not in the series", file=self.t.path,
                              key=f"adjustments.{a.name}", fix=f'add "{month}" = ... to its series, or give it '
                              f"with --adjust {a.name}:{month}=VALUE")
        self.notes.append(f"{a.label} for {month} is not known: priced at 0 (give it with --adjust {a.name}:{month}=VALUE "
                          "or [tariff.adjust] in the site config)")
        return Decimal(0)

    def minimum(self, m: Minimum, history: Mapping[str, float]) -> None:
        names, base = self.base_of(m.applies_to)
        if m.percent is not None:  # a floor on the bill from past demand charges, never a billed-kW ratchet
            c = next(c for c in self.v.charges if c.basis == "kW")
            months = _months_before(self.first, m.months)
            past = max((x for mo, x in history.items() if mo in months), default=0.0)
            charge = _qty(past, self.r.kw_decimals, self.r.mode) * c.rate * c.factor
            amount, rate_unit = m.percent / 100 * charge, "%"
            floor = money(amount * self.frac, self.r.money, self.r.mode)
            note = (f"minimum {floor}: {m.percent} % of the highest {c.name} charge of the past {m.months} months "
                    f"({past:g} kW × {c.rate} {c.unit}, at this version's rate) against {base}")
            rate = m.percent
        else:
            floor = money(m.amount * self.frac, self.r.money, self.r.mode)
            rate, rate_unit, note = m.amount, f"{self.t.major_unit}/month", f"minimum {floor} against {base}"
        self.add("minimum", "minimum", "minimum", "minimum monthly charge top-up", base, self.t.major_unit, rate,
                 rate_unit, max(floor - base, Decimal(0)), "percent", base=names, note=note)

    def power_factor(self, rule: PowerFactor, pf: float | None) -> None:
        if rule.method == "surcharge":
            names, base = self.base_of(rule.applies_to)
            pct, note = Decimal(0), "power factor unknown (no kvarh/kVAh): no surcharge computed; give pf="
            if pf is not None:
                shown = _qty(pf, self.r.pf_decimals, self.r.mode)
                pct, note = rule.surcharge_percent(shown), f"power factor {shown}"
            self.add("power_factor", "power_factor", "power_factor", "power-factor surcharge", base,
                     self.t.major_unit, pct, "%", base * pct / 100, "percent", base=names, note=note)
            return
        counts = recorder(self.t, self.v, rule.record_in)
        d = self.peak(rule.window, counts)
        kw = d.kw if d else 0.0
        if pf is not None:  # given: kvar = kW × tan(acos(pf))
            kvar = kw * math.sqrt(max(1 / pf ** 2 - 1, 0.0)) if pf > 0 else 0.0
        else:
            dq = max_demand([Interval(i.start, abs(i.kvarh)) for i in self.ivs], rule.window, counts)
            kvar = dq.kw if dq else 0.0
        excess = _qty(max(kvar - float(rule.kvar_ratio) * kw, 0.0), self.r.kw_decimals, self.r.mode)
        self.add("power_factor", "power_factor", "power_factor", f"kvar above {rule.kvar_ratio * 100}% of kW", excess,
                 "kvar", rule.rate, rule.unit, excess * rule.rate * rule.factor, "kvar",
                 note=f"{kvar:.2f} kvar at {kw:.2f} kW")

    def percent(self, p: Percent) -> None:
        names, base = self.base_of(p.applies_to)
        self.add(p.kind, p.name, p.name, p.label, base, self.t.major_unit, p.percent, "%", base * p.percent / 100,
                 "percent", base=names)


def price(tariff: Tariff, intervals: Iterable[Interval], start: date, end: date, *, pf: float | None = None,
          adjustments: Mapping[str, Mapping[str, Money]] | None = None,
          demand_history: Mapping[str, float] | None = None, cycle: tuple[date, date] | None = None,
          transitional: bool = False) -> Bill:
    """The bill of [start, end) (dates, end exclusive) within one billing cycle and one tariff version.

    `cycle` is the billing cycle [first, end) the piece belongs to (default: the calendar month of
    `start`): monthly charges are pro-rated by its days. `transitional` marks a piece of a cycle split
    by a change of schedule: per-kW charges are pro-rated by days too (each piece's own maximum demand).

    `pf` replaces the measured monthly power factor; `adjustments` {"afa": {"2025-09": -0.5}} adds to or
    replaces the file's monthly series (in the adjustment's unit); `demand_history` {"2025-06": 412.0}
    gives past months' maximum demand in kW for a ratchet."""
    dim = calendar.monthrange(start.year, start.month)[1]
    if cycle is None:
        cycle = (start.replace(day=1), start.replace(day=1) + timedelta(days=dim))
    if not (start < end and cycle[0] <= start and end <= cycle[1]):
        raise ValueError(f"a bill covers one calendar month or billing cycle: {start}..{end} does not "
                         "(use price_months)")
    v = tariff.version_on(start)
    if tariff.version_on(end - timedelta(days=1)) is not v:
        raise ValueError(f"{start}..{end} spans two versions of {tariff.id} (use price_months)")
    known = {a.name for w in tariff.versions for a in w.adjustments}
    unknown = set(adjustments or {}) - known
    if unknown:
        raise TariffError(f"no adjustment {min(unknown)!r} in {tariff.id}", key="adjustments",
                          fix=f"use one of {', '.join(sorted(known)) or '(none)'}")
    lo, hi = local_span(tariff, start, end)
    zoned = Zoned.of(intervals, lo.tzinfo)
    ivs = zoned.between(lo, hi)
    expected = int((hi.astimezone(UTC) - lo.astimezone(UTC)) / STEP)
    missing, gaps = expected - len(ivs), sum(1 for i in ivs if i.gap_s > 0)
    m = _Month(tariff, v, ivs, start, end, cycle, transitional)
    m.share_blocks(zoned.blocks, (lo.timestamp(), hi.timestamp()))
    for c in v.charges:
        m.charge(c, demand_history or {})
    for a in v.adjustments:
        m.adjustment(a, (adjustments or {}).get(a.name, {}))
    if v.minimum:
        m.minimum(v.minimum, demand_history or {})
    value = pf if pf is not None else measured_pf(ivs)
    if v.power_factor:  # a kvar rule uses the intervals' kvarh unless pf is given
        m.power_factor(v.power_factor, value if v.power_factor.method == "surcharge" else pf)
    for p in (*v.levies, *v.taxes):
        m.percent(p)
    notes = m.notes
    if missing or gaps:
        notes.insert(0, f"incomplete: {missing} of {expected} intervals missing, {gaps} with gaps; not filled in")
    if m.frac != 1:
        notes.append(f"{(end - start).days} of {(cycle[1] - cycle[0]).days} days: monthly charges, minimum and "
                     "tiers pro-rated by days" + (", per-kW charges too (transitional bill)" if transitional else ""))
    notes.extend(tariff.provenance(v, start, end))
    return Bill(tariff.id, v.effective_from, tariff.currency, tariff.major_unit, start, end, tuple(m.comps),
                sum((c.amount for c in m.comps), Decimal(0)), sum(m.by_band.values()), m.by_band, m.demands,
                m.billed, value, missing == 0 and gaps == 0, missing, gaps, m.frac != 1, tuple(notes))


def price_months(tariff: Tariff, intervals: Iterable[Interval], start: date, end: date, *,
                 pf: float | None = None, adjustments: Mapping[str, Mapping[str, Money]] | None = None,
                 demand_history: Mapping[str, float] | None = None) -> list[Bill]:
    """One Bill per calendar month of [start, end) under one tariff, split where a new version starts."""
    return price_timeline(TariffTimeline.single(tariff), intervals, start, end, pf=pf, adjustments=adjustments,
                          demand_history=demand_history)


def price_timeline(timeline: TariffTimeline, intervals: Iterable[Interval], start: date, end: date, *,
                   pf: float | None = None, adjustments: Mapping[str, Mapping[str, Money]] | None = None,
                   demand_history: Mapping[str, float] | None = None) -> list[Bill]:
    """One Bill per billing cycle of [start, end), split where the site's tariff or a tariff's version
    changes inside a cycle (a transitional bill: monthly and per-kW charges pro-rated by days, each
    piece's maximum demand measured in that piece); each bill's maximum demand joins the history for
    the next one's ratchet. `adjustments` for an adjustment a tariff does not have are skipped."""
    tz = ZoneInfo(timeline.current.timezone)
    ivs = Zoned.of(intervals, tz)  # zoned once, each piece a bisect
    history, bills = dict(demand_history or {}), []
    for a, b, cycle, transitional in timeline.pieces(start, end):
        tariff = timeline.tariff_on(a)
        if ZoneInfo(tariff.timezone) is not tz:
            ivs = Zoned.of(ivs, ZoneInfo(tariff.timezone))
            tz = ivs.tz  # type: ignore[assignment]
        names = {x.name for w in tariff.versions for x in w.adjustments}
        given = {k: x for k, x in (adjustments or {}).items() if k in names} if len(timeline.periods) > 1 \
            else adjustments
        bill = price(tariff, ivs, a, b, pf=pf, adjustments=given, demand_history=history, cycle=cycle,
                     transitional=transitional)
        measured = [d.kw for d in bill.demands.values() if d]
        if measured:
            history[bill.month] = max(history.get(bill.month, 0.0), measured[0])
        bills.append(bill)
    return bills
