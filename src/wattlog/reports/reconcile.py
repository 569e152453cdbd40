"""The bill on the desk beside wattlog's estimate: kWh, maximum demand, power factor and amount, the
unmetered remainder, the difference in money, and which line explains it.

Each cause is priced from the estimate's own rates: a kWh difference at the bill's average price per
kWh (every per-kWh line divided by the kWh), a kW difference at the per-kW rates, a power-factor
difference by pricing the same period again at the utility's power factor. What is left is
unexplained (rates, rounding, an adjustment the estimate lacks, a line wattlog does not model).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analytics.frame import load, no_gc
from ..analytics.settings import ReportSettings
from ..errors import ReportError
from ..tariffs.model import Tariff
from ..tariffs.periods import TariffTimeline
from .cost import CostReport, cost_of
from .result import Table, r

BILL_KEYS = {"kwh", "kw", "pf", "amount", "note"}

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported only when a report runs
    from ..store import Store


@dataclass(frozen=True)
class BillFigures:
    """What the utility's bill says (any may be missing)."""

    kwh: float | None = None
    kw: float | None = None
    pf: float | None = None
    amount: Decimal | None = None

    @classmethod
    def from_toml(cls, path: str) -> BillFigures:
        """A small TOML: kwh = 12345, kw = 80.5, pf = 0.86, amount = 6543.21 (any subset)."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ReportError(f"{path}: cannot read the bill figures ({exc})",
                              "write kwh = 12345, kw = 80.5, pf = 0.86, amount = 6543.21 (TOML)") from None
        unknown = set(data) - BILL_KEYS
        if unknown:
            raise ReportError(f"{path}: unknown key {min(unknown)!r}", f"use {', '.join(sorted(BILL_KEYS))}")
        for k in ("kwh", "kw", "pf", "amount"):
            if k in data and (isinstance(data[k], bool) or not isinstance(data[k], (int, float, str))):
                raise ReportError(f"{path}: {k} must be a number", f"{k} = 123.4")
        try:
            return cls(*(float(data[k]) if k in data else None for k in ("kwh", "kw", "pf")),
                       Decimal(str(data["amount"])) if "amount" in data else None)
        except (ValueError, ArithmeticError):
            raise ReportError(f"{path}: a value is not a number", "kwh = 12345, amount = 6543.21") from None


@dataclass
class Cause:
    what: str
    amount: Decimal  # money this difference explains (positive: the utility bills more)
    detail: str


@dataclass
class ReconcileReport:
    start: date
    end: date
    currency: str
    estimate: CostReport
    given: BillFigures
    rows: list[list[Any]]  # figure, utility, wattlog, difference
    causes: list[Cause]
    notes: list[str] = field(default_factory=list)

    @property
    def explains(self) -> Cause | None:
        """The cause that explains most of the difference."""
        known = [c for c in self.causes if c.what != "unexplained"]
        return max(known, key=lambda c: abs(c.amount), default=None)

    def tables(self) -> list[Table]:
        best = self.explains
        notes = list(self.notes)
        if best is not None and best.amount:
            notes.insert(0, f"the largest part of the difference: {best.what} ({best.amount} {self.currency})")
        return [Table("figures", f"the utility's bill beside wattlog's estimate, {self.start} to {self.end}",
                      ["figure", "utility", "wattlog", "difference"], self.rows, notes),
                Table("causes", f"what explains the difference ({self.currency})", ["cause", "amount", "how"],
                      [[c.what, c.amount, c.detail] for c in self.causes])]


def reconcile(store: Store, start: date, end: date, settings: ReportSettings | None = None,
              tariff: Tariff | TariffTimeline | None = None, given: BillFigures | None = None) -> ReconcileReport:
    """wattlog's estimate over [start, end) beside the utility's figures."""
    settings = settings or ReportSettings(timezone=store.tz.key)
    given = given or BillFigures()
    if tariff is None:
        raise ReportError("no tariff given", "set [tariff] in the site config or give --tariff NAME")
    with no_gc():
        frame = load(store, start, end, settings)
        est = cost_of(frame, tariff)
        at_pf = cost_of(frame, tariff, pf=given.pf).total if given.pf is not None else None
    bills = est.bills
    kwh = sum(b.kwh for b in bills)
    kw = max((d.kw for b in bills for d in b.demands.values() if d), default=None)
    pf = bills[0].pf if len(bills) == 1 else None
    rows: list[list[Any]] = []

    def row(name: str, theirs: Any, ours: Any, digits: int | None) -> None:
        diff = None if theirs is None or ours is None else theirs - ours
        fmt = (lambda x: x) if digits is None else (lambda x: None if x is None else r(x, digits))
        rows.append([name, fmt(theirs), fmt(ours), fmt(diff)])

    row("kWh", given.kwh, kwh, 1)
    row("maximum demand kW", given.kw, kw, 2)
    row("power factor", given.pf, pf, 3)
    row("amount", given.amount, est.total, None)
    causes: list[Cause] = []
    per_kwh = [c for b in bills for c in b.components if c.basis == "kWh"]
    if given.kwh is not None and kwh > 0:
        price = sum((c.amount for c in per_kwh), Decimal(0)) / Decimal(repr(kwh))
        d = Decimal(repr(given.kwh - kwh))
        causes.append(Cause("kWh (unmetered remainder or missing data)", (d * price).quantize(Decimal("0.01")),
                            f"{d:.1f} kWh × {price:.4f} a kWh (the estimate's per-kWh lines ÷ its kWh)"))
    per_kw = {c.item: c.rate * (c.amount / (c.rate * c.quantity)) if c.quantity and c.rate else Decimal(0)
              for b in bills for c in b.components if c.basis == "kW"}
    if given.kw is not None and kw is not None and per_kw:
        rate = sum(per_kw.values(), Decimal(0))
        d = Decimal(repr(round(given.kw - kw, 2)))
        causes.append(Cause("maximum demand", (d * rate).quantize(Decimal("0.01")),
                            f"{d} kW × {rate:.2f} (the per-kW lines: {', '.join(per_kw)})"))
    if at_pf is not None:
        causes.append(Cause("power factor", at_pf - est.total,
                            f"the period priced again at the utility's power factor {given.pf}"))
    if given.amount is not None:
        left = given.amount - est.total - sum((c.amount for c in causes), Decimal(0))
        causes.append(Cause("unexplained", left, "rates, rounding, an adjustment or a line wattlog does not price"))
    notes = [f"wattlog's site figures come from: {est.source}"]
    if given.kwh is not None and est.source == "sum of all meters":
        notes.append(f"unmetered remainder: {given.kwh - kwh:,.1f} kWh the utility metered and no meter of this "
                     "site did (or data missing: see the estimate's notes)")
    notes += list(dict.fromkeys(n for b in bills for n in b.notes))
    return ReconcileReport(start, end, est.currency, est, given, rows, causes, notes)
