"""This month's cost per location, recomputed now and then for MQTT (Home Assistant sensors).

Priced with the site's tariff by the cost report over the daily rollups of the main database: a
few milliseconds for a month, so every COST_EVERY seconds is cheap. Without a tariff or a database
there is nothing to publish.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

log = logging.getLogger("wattlog.service")

COST_EVERY = 900.0  # seconds


async def month_costs(svc: Any, stop: asyncio.Event) -> None:
    """Keep svc.month_cost ({location: amount in the tariff's currency}) fresh until `stop`."""
    from ..sinks.database import DatabaseSink

    main = next((s for s in svc.sinks if isinstance(s, DatabaseSink)), None)
    if main is None or svc.cfg.tariff is None:
        return
    from ..reports.cost import (
        cost_report,  # only where there is a tariff: it is a heavy import
    )
    while not stop.is_set():
        now = datetime.now(svc.cfg.tz)
        first, tomorrow = now.date().replace(day=1), now.date() + timedelta(days=1)

        def work() -> dict[str, float]:
            main._open()
            report = cost_report(main.store, first, tomorrow, svc.cfg.report_settings, tariff=svc.cfg.tariff)
            return {c.location: float(c.total) for c in report.locations}

        try:
            svc.month_cost = await main._run(work)
        except Exception as exc:  # noqa: BLE001 — no data yet, database down: try again later
            log.debug("this month's cost per location: %s", exc)
        try:
            await asyncio.wait_for(stop.wait(), COST_EVERY)
        except asyncio.TimeoutError:
            pass
