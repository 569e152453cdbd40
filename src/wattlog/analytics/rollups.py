"""Rollups per meter or per location (15 min, hour, day, month), with counter-reconciled kWh.

The store keeps rollups per meter only. A location's row is its meters' rows of the same bucket
combined here, at query time: a site has a handful of meters, so this is cheap, and a meter that
moves to another location needs no rebuild.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .frame import reconcile
from .settings import ReportSettings

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported only when a report runs
    from ..store import Store

SUMS = ("samples", "voltage_samples", "energy_kwh", "reactive_kvarh", "apparent_kvah", "counter_kwh", "power_avg", "kwh")
MINS = ("voltage_min", "voltage_ll_min", "pf_min", "freq_min")
MAXES = ("voltage_max", "voltage_ll_max", "unbalance_max", "freq_max", "current_max")


def rollups(store: Store, period: str, start: datetime | None = None, end: datetime | None = None,
            by: str = "meter", settings: ReportSettings | None = None) -> list[dict[str, Any]]:
    """Store rollup rows plus "kwh": energy_kwh scaled by its meter-day's counter factor (the
    figure the reports use). by="location" combines the meters of a location bucket by bucket."""
    if by not in ("meter", "location"):
        raise ValueError(f"by must be meter or location, not {by!r}")
    settings = settings or ReportSettings(timezone=store.tz.key)
    rows = store.rollups(period, None, start, end)
    factors = _factors(store, rows, period, settings)
    for row in rows:
        if period == "1mo":
            days = factors.get((row["meter"], "month", row["start"].date()), None)
            row["kwh"] = days if days is not None else row["energy_kwh"]
        else:
            f = factors.get((row["meter"], "day", row["start"].date()), 1.0)
            row["kwh"] = None if row["energy_kwh"] is None else row["energy_kwh"] * f
    if by == "meter":
        return rows
    loc_of = {m["name"]: m["location"] or m["name"] for m in store.meters()}
    groups: dict[tuple[str, datetime], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((loc_of[row["meter"]], row["start"]), []).append(row)
    return [merge(loc, parts) for (loc, _), parts in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0]))]


def merge(location: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One location row from its meters' rows of one bucket. Sums for energy and average power;
    covered_s is the time every meter was measured (the least), gap_s the most; counters and
    instantaneous power extremes are per meter and left out (a sum of maxima is not a maximum)."""
    out: dict[str, Any] = {"location": location, "start": parts[0]["start"], "end": parts[0]["end"],
                           "meters": sorted(p["meter"] for p in parts)}
    for c in SUMS:
        vals = [p[c] for p in parts if p.get(c) is not None]
        out[c] = sum(vals) if vals else None
    out["covered_s"] = min(p["covered_s"] for p in parts)
    out["gap_s"] = max(p["gap_s"] for p in parts)
    for c in MINS:
        vals = [p[c] for p in parts if p[c] is not None]
        out[c] = min(vals) if vals else None
    for c in MAXES:
        vals = [p[c] for p in parts if p[c] is not None]
        out[c] = max(vals) if vals else None
    n = out["voltage_samples"] or 0
    out["voltage_avg"] = (sum(p["voltage_avg"] * p["voltage_samples"] for p in parts if p["voltage_samples"]) / n
                          if n else None)
    e, s = out["energy_kwh"], out["apparent_kvah"]
    out["pf_avg"] = min(1.0, abs(e) / s) if e is not None and s else None  # arithmetic kVAh: a lower bound
    return out


def _factors(store: Store, rows: list[dict[str, Any]], period: str,
             settings: ReportSettings) -> dict[tuple[str, str, date], float]:
    """Counter factors per meter-day covering the rows (and reconciled kWh per meter-month)."""
    if not rows:
        return {}
    lo = min(r["start"] for r in rows)
    hi = max(r["end"] for r in rows)
    days = store.rollups("1d", None, lo - timedelta(days=1), hi)
    out: dict[tuple[str, str, date], float] = {}
    for d in days:
        f, _ = reconcile(d["energy_kwh"], d["counter_kwh"], settings)
        out[(d["meter"], "day", d["start"].date())] = f
        if period == "1mo" and d["energy_kwh"] is not None:
            key = (d["meter"], "month", d["start"].date().replace(day=1))
            out[key] = out.get(key, 0.0) + d["energy_kwh"] * f
    return out
