"""The running demand block: kWh so far in the current clock-aligned window and the kW it is heading for."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .context import SiteContext


def running_block(ctx: SiteContext, now: datetime) -> dict[str, Any]:
    """Energy of the site (its main meter, else every meter summed) since the block began, from raw
    readings by the trapezoid rule; kW so far is that energy over the elapsed time of the block."""
    assert ctx.settings is not None
    window = ctx.settings.demand_window
    local = now.astimezone(ctx.tz)
    minute = (local.hour * 60 + local.minute) // window * window
    start = local.replace(hour=minute // 60, minute=minute % 60, second=0, microsecond=0)
    end = start + timedelta(minutes=window)
    main = ctx.settings.main_meter
    names = [main] if main else [m["name"] for m in ctx.store.meters()]
    kwh, covered, now_kw = 0.0, 0.0, 0.0
    gap = ctx.store.rules.gap / 1e6
    for name in names:
        prev = None
        for r in ctx.store.readings(name, start, now):
            p = r.get("total_real_power")
            if prev is not None and p is not None:
                dt = (r["timestamp"] - prev[0]).total_seconds()
                if 0 < dt <= gap:
                    kwh += (prev[1] + p) / 2 * dt / 3.6e6
                    covered = max(covered, (r["timestamp"] - start).total_seconds())
            if p is not None:
                prev = (r["timestamp"], p)
        if prev is not None:
            now_kw += prev[1] / 1000
    elapsed = (now - start).total_seconds()
    remaining_h = max((end - now).total_seconds(), 0.0) / 3600
    return {"start": ctx.local(start), "end": ctx.local(end), "source": main or "every meter summed",
            "kwh_so_far": round(kwh, 4), "elapsed_s": round(elapsed, 1),
            "kw_so_far": round(kwh / (covered / 3600), 3) if covered > 60 else None,
            "kw_now": round(now_kw, 3),
            # the block's average if the rest of it runs at today's latest kW
            "projected_kw": round((kwh + now_kw * remaining_h) / (window / 60), 3)}
