"""The tariff model: versions, bands, charges, adjustments and rules as frozen dataclasses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from ..errors import TariffError

DAY_TYPES = ("weekday", "saturday", "sunday", "holiday")
DAY_KEYS = {"weekday": ("weekday",), "saturday": ("saturday",), "sunday": ("sunday",),
            "holiday": ("holiday",), "weekend": ("saturday", "sunday"), "everyday": DAY_TYPES}
SLOTS = 96  # quarter-hours in a day: band boundaries fall on them, like the intervals
CHARGE_KINDS = ("energy", "demand", "capacity", "network", "retail", "fixed")
# The order of calculation: each stage may apply only to components of the stages before it.
STAGES = (CHARGE_KINDS, ("adjustment",), ("minimum",), ("power_factor",), ("levy",), ("tax",))
CONFIDENCE = ("official", "secondary", "code", "unverified")
BASIS_FOR = {"energy": ("kWh",), "demand": ("kW",), "capacity": ("kWh", "kW"),
             "network": ("kWh", "kW"), "retail": ("month",), "fixed": ("month",)}
ROUNDING_MODES = {"half_up": "ROUND_HALF_UP", "half_even": "ROUND_HALF_EVEN"}
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
TIME_RANGE = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


@dataclass(frozen=True)
class Meta:
    """Where a number comes from: the file says so for every item."""

    confidence: str
    placeholder: bool = False
    source: str = ""
    note: str = ""


@dataclass(frozen=True)
class Tier:
    up_to: float | None  # cumulative monthly kWh; None: the rest
    rate: Decimal


@dataclass(frozen=True)
class Charge:
    """An energy, demand, capacity, network, retail or fixed charge."""

    name: str
    kind: str
    unit: str  # as written: "sen/kWh", "RM/kW", "RM/month"
    basis: str  # kWh, kW or month
    factor: Decimal  # rate × factor = major units per basis unit
    meta: Meta
    rate: Decimal | None = None
    rates: dict[str, Decimal] = field(default_factory=dict)  # per band
    tiers: tuple[Tier, ...] = ()
    bands: tuple[str, ...] = ()  # kWh counted only in these bands; () = all
    window: int = 30  # per kW: demand window in minutes, blocks aligned to the clock
    record_in: tuple[str, ...] = ()  # per kW: blocks starting in these bands count; () = all
    ratchet_percent: Decimal | None = None
    ratchet_months: int = 12


@dataclass(frozen=True)
class Adjustment:
    """A per-kWh adjustment set month by month (AFA, ICPT, Ft)."""

    name: str
    label: str
    unit: str
    factor: Decimal
    series: dict[str, Decimal]  # "YYYY-MM" → rate
    missing: str  # "zero" or "error" for a month not in the series
    meta: Meta
    usual: Decimal | None = None  # beyond ±usual a value is flagged on the bill (never refused: AFA was -8.91)
    bands: tuple[str, ...] = ()
    sources: dict[str, Meta] = field(default_factory=dict)  # month → where that value comes from (adjust.py)


@dataclass(frozen=True)
class Minimum:
    """A floor on the bill's components in applies_to: a fixed amount a month, or (MEA) a percentage of
    the highest demand charge of the preceding `months` months - a floor on the bill, not a billed-kW ratchet."""

    amount: Decimal  # major units per month (0 with percent)
    unit: str
    applies_to: tuple[str, ...]
    meta: Meta
    percent: Decimal | None = None  # of the highest demand charge of the preceding months
    months: int = 12


@dataclass(frozen=True)
class PowerFactor:
    """Surcharge (% of the bill per step below the threshold) or kvar (excess kvar × rate)."""

    method: str
    threshold: Decimal
    applies_to: tuple[str, ...]
    meta: Meta
    step: Decimal = Decimal("0.01")
    percent_per_step: Decimal = Decimal(0)
    lower_threshold: Decimal | None = None
    lower_percent_per_step: Decimal = Decimal(0)
    kvar_ratio: Decimal = Decimal(0)
    rate: Decimal = Decimal(0)
    unit: str = ""
    factor: Decimal = Decimal(1)
    window: int = 15
    record_in: tuple[str, ...] = ()

    def surcharge_percent(self, pf: Decimal) -> Decimal:
        """TNB-style: percent_per_step for each whole step below the threshold down to lower_threshold,
        and in addition lower_percent_per_step for each whole step below lower_threshold."""
        if pf >= self.threshold:
            return Decimal(0)
        lower = self.lower_threshold
        n1 = ((self.threshold - (pf if lower is None else max(pf, lower))) / self.step).to_integral_value(ROUND_FLOOR)
        n2 = ((lower - pf) / self.step).to_integral_value(ROUND_FLOOR) if lower is not None and pf < lower else 0
        return n1 * self.percent_per_step + n2 * self.lower_percent_per_step


@dataclass(frozen=True)
class Percent:
    """A levy or tax: a percentage of the components it applies to."""

    name: str
    kind: str  # levy or tax
    label: str
    percent: Decimal
    applies_to: tuple[str, ...]
    meta: Meta


@dataclass(frozen=True)
class Rounding:
    mode: str  # decimal rounding constant, e.g. ROUND_HALF_UP
    money: Decimal  # every component is rounded to this step of the major unit (0.01 = the sen)
    kwh_decimals: int
    kw_decimals: int
    pf_decimals: int


@dataclass(frozen=True)
class Version:
    """One schedule, in force from effective_from to effective_to (inclusive) or the next version."""

    effective_from: date
    effective_to: date | None
    bands: tuple[str, ...]
    grid: dict[str, tuple[str, ...]]  # day type → band of each quarter-hour
    charges: tuple[Charge, ...]
    adjustments: tuple[Adjustment, ...]
    minimum: Minimum | None
    power_factor: PowerFactor | None
    levies: tuple[Percent, ...]
    taxes: tuple[Percent, ...]
    rounding: Rounding
    meta: Meta

    def band_at(self, day_type: str, t: datetime) -> str:
        return self.grid[day_type][(t.hour * 60 + t.minute) // 15]


@dataclass(frozen=True)
class Calendar:
    """Public holidays priced as the 'holiday' day type."""

    name: str
    dates: dict[date, str]
    unverified: frozenset[date]
    meta: Meta


@dataclass(frozen=True)
class Tariff:
    id: str
    name: str
    utility: str
    currency: str
    major_unit: str
    minor_unit: str
    minor_per_major: int
    timezone: str
    verified: bool  # True only when every number is checked against the official schedule
    meta: Meta
    holidays: Calendar
    versions: tuple[Version, ...]
    path: str = ""

    def day_type(self, d: date) -> str:
        if d in self.holidays.dates:
            return "holiday"
        return ("weekday", "weekday", "weekday", "weekday", "weekday", "saturday", "sunday")[d.weekday()]

    def version_on(self, d: date) -> Version:
        """The version in force on day `d`."""
        found = None
        for v in self.versions:
            if v.effective_from <= d and (v.effective_to is None or d <= v.effective_to):
                found = v
        if found is None:
            spans = "; ".join(f"{v.effective_from}–{v.effective_to or 'open'}" for v in self.versions)
            raise TariffError(f"no version of tariff {self.id!r} is in force on {d} (it covers {spans})",
                              file=self.path or None, key="versions",
                              fix="price that period with the tariff then in force (docs/tariffs.md lists the shipped tariffs and their dates), "
                                  "or add a [[versions]] entry covering it")
        return found

    def provenance(self, v: Version, start: date, end: date) -> list[str]:
        """What in version `v` is not from the official schedule, for the notes of a bill of [start, end)."""
        items = [(i.name, i.meta) for i in (*v.charges, *v.adjustments, *v.levies, *v.taxes)]
        items += [("power_factor", v.power_factor.meta)] if v.power_factor else []
        items += [("minimum", v.minimum.meta)] if v.minimum else []
        soft = [f"{name} ({m.confidence})" for name, m in items if m.confidence != "official" and not m.placeholder]
        stand_in = [name for name, m in items if m.placeholder]
        out = [] if self.verified else [f"{self.id} is not verified against the official schedule"]
        if soft:
            out.append("not from the official schedule: " + ", ".join(soft))
        if stand_in:
            out.append("PLACEHOLDER values, not a real rate: " + ", ".join(stand_in))
        days = sorted(d for d in self.holidays.unverified if start <= d < end)
        if days:
            out.append("unverified holidays in the period: " + ", ".join(map(str, days)))
        return out

    def version_end(self, v: Version) -> date | None:
        """The first day the version is no longer in force (None: open-ended)."""
        later = [w.effective_from for w in self.versions if w.effective_from > v.effective_from]
        ends = ([v.effective_to + timedelta(days=1)] if v.effective_to else []) + later
        return min(ends) if ends else None
