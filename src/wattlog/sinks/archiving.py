"""The service's hourly archive step for a database sink: raw readings older than the retention
(whole local days) into monthly .csv.gz files, then out of the database (store/archive.py).

It runs in a worker thread with its own connection, not in the sink's call thread: a first run
on a database full of old readings is millions of rows, longer than a delivery may take. `stop()` (the service stops)
ends it between two steps; what is left waits for the next hour.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ArchiveStopped

log = logging.getLogger("wattlog.sinks")


async def archive_old(sink: Any, raw_days: float, folder: Path, stop: Callable[[], bool]) -> None:
    """Archive `sink`'s (a DatabaseSink) old raw readings; logged, never raised."""
    def work():  # type: ignore[no-untyped-def]
        from ..store import Store
        from ..store.archive import archive, boundary

        cfg = sink.cfg
        store = Store(sink.db.url, site=cfg.site, tz=cfg.timezone, gap_seconds=cfg.gap_seconds, timeout=sink.db.timeout)
        try:
            return archive(store, folder, boundary(store, raw_days), stop)
        finally:
            store.close()

    try:
        result = await asyncio.to_thread(work)
    except ArchiveStopped:
        log.info("%s: archiving stopped for the stop; the rest at the next start's hourly step", sink.name)
        return
    except Exception as exc:  # noqa: BLE001 — the raw rows stay in the database until it works
        log.warning("%s: archiving old readings failed, their raw rows stay in the database: %s", sink.name, exc)
        return
    if result.files or result.deleted:
        log.info("%s: %d raw readings archived to %d file(s) in %s, %d removed from the database (rollups kept)",
                 sink.name, result.archived, len(result.files), folder, result.deleted)
    if result.waiting:
        log.info("%s: readings came in while archiving %s: they are archived at the next step",
                 sink.name, ", ".join(result.waiting))
