"""The latest reading of every meter with its status (ok, stale, error) and the last error in words:
from the live state and the pollers inside the service, from the store when serving read-only."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from ..errors import WattlogError
from . import queries
from .context import SiteContext

FAILING = ("failing", "offline", "bus down")
TILE = ("total_real_power", "voltage_l1", "voltage_l2", "voltage_l3", "current_l1", "current_l2", "current_l3",
        "total_power_factor", "frequency", "total_real_energy")


def meters_of(ctx: SiteContext) -> list[dict[str, Any]]:
    """Known meters: the store's, plus any the pollers have that the store has not seen yet."""
    try:
        known = {m["name"]: m for m in ctx.stored_meters()}
    except WattlogError:  # the database is down: the live state and the pollers still know the meters
        if ctx.live is None:
            raise
        known = {}
    for name in list(ctx.live.meters) if ctx.live is not None else []:
        known.setdefault(name, {"name": name, "model": "", "location": None, "tags": {}})
    for name in ctx.statuses():
        known.setdefault(name, {"name": name, "model": "", "location": None, "tags": {}})
    out = []
    for name, m in sorted(known.items()):
        out.append({"name": name, "location": ctx.locations.get(name) or m.get("location") or name,
                    "model": m.get("model") or "", "tags": m.get("tags") or {}})
    return out


def snapshot(ctx: SiteContext, now: datetime | None = None) -> list[dict[str, Any]]:
    """One entry per meter: values (only what was read), status, error, age, kWh today."""
    now = now or datetime.now(timezone.utc)
    statuses = ctx.statuses()
    ms = meters_of(ctx)
    stored = {} if ctx.live is not None else queries.latest(ctx.store, [m["name"] for m in ms])
    today = now.astimezone(ctx.tz).strftime("%Y-%m-%d")
    out = []
    for m in ms:
        name = m["name"]
        ts: datetime | None = None
        values: dict[str, float] = {}
        kwh_today: float | None = None
        partial_day = False
        if ctx.live is not None:
            lm = ctx.live.meters.get(name)
            if lm is not None and lm.reading is not None:
                ts, values = lm.reading.timestamp, dict(lm.reading.values)
                if lm.day == today:
                    kwh_today, partial_day = lm.kwh_today, lm.since_start
        elif name in stored:
            ts, values = stored[name]["timestamp"], stored[name]["values"]
        age = None if ts is None else max((now - ts).total_seconds(), 0.0)
        st = statuses.get(name)
        status, error, hint = "ok", None, None
        if st is not None and st.state in FAILING:
            status, error, hint = "error", st.last_error or st.state, st.hint or None
        elif ts is None:
            status, error = "unknown", "no reading yet"
        elif age is not None and age > ctx.stale_after:
            status, error = "stale", f"no reading for {_duration(age)}"
        if status != "ok" and st is not None and st.state == "degraded" and st.last_error:
            error = st.last_error
        out.append({"meter": name, "location": m["location"], "tags": m["tags"], "status": status,
                    "state": st.state if st is not None else None, "error": error, "hint": hint,
                    "timestamp": ctx.local(ts), "age_s": None if age is None else round(age, 1),
                    # a value is shown only while it is current: a failed or stale meter shows none
                    "values": {k: values[k] for k in TILE if k in values} if status == "ok" else {},
                    "last_values": {k: values[k] for k in TILE if k in values},
                    "kwh_today": kwh_today, "kwh_today_partial": partial_day})
    if ctx.live is None:
        _fill_today(ctx, out, now)
    return out


def _fill_today(ctx: SiteContext, rows: list[dict[str, Any]], now: datetime) -> None:
    """Read-only: today's kWh per meter from the daily rollups."""
    local = now.astimezone(ctx.tz)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        kwh = {r["meter"]: r["energy_kwh"] for r in ctx.store.rollups("1d", start=start, end=start + timedelta(days=1))}
    except Exception:  # noqa: BLE001 — a store that cannot answer leaves the totals empty, not the page
        return
    for row in rows:
        row["kwh_today"] = kwh.get(row["meter"])


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def today(ctx: SiteContext) -> date:
    return datetime.now(ctx.tz).date()
