"""A database sink: batches of readings into a Store (SQLite, PostgreSQL, SQL Server)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import StoreUnavailable
from ..reading import Reading
from ..store.engine import TIMEOUT
from ..validate import Checker
from .archiving import archive_old
from .base import Sink, SinkSection
from .calls import CallThread

log = logging.getLogger("wattlog.sinks")
REFRESH_BUDGET = 5.0  # seconds of pending rollups per delivery: a shutdown's 15 s drain is never held up long
# SQLite on the SD card takes the spool's readings once a minute: a commit rewrites about the same
# pages (each meter's index leaf and rollup rows) whether it holds one reading per meter or six, so
# this divides the card's wear by ~6 (bench/wear.py). Nothing is at risk meanwhile: the readings
# are in the spool. Server databases write to their own disks: they take readings as they come.
SQLITE_EVERY = 60.0


@dataclass(frozen=True)
class DatabaseConfig:
    url: str  # with the password filled in: never print it
    shown: str  # the URL with the password masked, for logs and messages
    name: str = "main"
    timeout: float = TIMEOUT  # connect, statement and lock timeout of every call (issue 8)
    every: float = 0.0  # seconds between deliveries on clock boundaries; 0: as soon as spooled


class DatabaseSink(Sink):
    """Writes each batch in one transaction. A full batch means the spool holds more (a backlog
    after an outage): its rollups are deferred (Store.write(defer=True), recorded in the same
    transaction) and recomputed once the sink has caught up, with the first short batch."""

    # Readings per delivery while catching up: 2000 writes a backlog ~10 % faster than 500 (fewer
    # transactions and range lookups) for ~5 MB more at its peak (a fetched Reading holds ~2.5 KB).
    batch = 2000

    def __init__(self, db: DatabaseConfig, cfg: Any) -> None:  # cfg: the site's config.Config
        self.db, self.cfg = db, cfg
        self.name = f"db:{db.name}"
        self.store = None
        # One thread per database: a hung connection delays only this sink, and at most
        # `limit` seconds: then the thread and its store are abandoned (sinks/calls.py).
        self._thread = CallThread(self.name)
        self.limit = db.timeout + REFRESH_BUDGET
        self.period = db.every or None

    async def _run(self, fn, *args, limit: float | None = None):  # type: ignore[no-untyped-def]
        store = self.store
        try:
            return await self._thread.call(fn, *args, limit=limit or self.limit,
                                           cleanup=store.close if store is not None else None)
        except TimeoutError as exc:  # the call thread's limit: the database hangs
            self.store = None  # its connection is stuck in the abandoned thread; open anew
            raise StoreUnavailable(f"the database does not answer: {exc}", url=self.db.shown,
                                   fix="check that the server is running and not overloaded") from None

    def _open(self) -> None:
        from ..store import Store

        if self.store is not None:
            return
        store = Store(self.db.url, site=self.cfg.site, tz=self.cfg.timezone, gap_seconds=self.cfg.gap_seconds,
                      timeout=self.db.timeout)
        try:
            store.migrate()
            for m in self.cfg.meters:
                store.ensure_meter(m.name, m.model.model, m.location, m.tags)
        except Exception:
            store.close()
            raise
        self.store = store

    async def open(self) -> None:
        await self._run(self._open, limit=3 * self.db.timeout + 10)  # a first start migrates the schema

    async def deliver(self, readings: list[Reading]) -> None:
        if self.store is None:
            raise StoreUnavailable("not open", url=self.db.shown)
        await self._run(self._deliver, self.store, readings)

    def _deliver(self, store: Any, readings: list[Reading]) -> None:
        # `store` is passed, not read from self: an abandoned thread that wakes up late keeps its own
        if len(readings) >= self.batch:  # catching up: rollups once the backlog is in
            store.write(readings, defer=True)
            return
        store.write(readings)
        if not store.refresh_pending(REFRESH_BUDGET):
            log.info("%s: rollups of the backlog partly recomputed; the rest with the next batches", self.name)

    async def prune(self, raw_days: float, archive: Path | None = None, stop: Callable[[], bool] = lambda: False) -> None:
        """Delete raw readings older than raw_days (rollups stay); quietly skipped while down.
        With `archive` (a folder), they go to its monthly files first (store/archive.py)."""
        if archive is not None:
            await archive_old(self, raw_days, archive, stop)
            return

        def work() -> None:
            if self.store is not None:
                n = self.store.prune(raw_days)
                if n:
                    log.info("%s: removed %d raw readings older than %g days (rollups kept)", self.name, n, raw_days)

        try:
            await self._run(work)
        except Exception as exc:  # noqa: BLE001
            log.warning("%s: pruning old readings failed: %s", self.name, exc)

    async def energy_today(self, day: str) -> dict[str, float]:
        """kWh per meter so far in the local day `day` (YYYY-MM-DD), from the daily rollups."""
        def work() -> dict[str, float]:
            self._open()
            assert self.store is not None
            start = datetime.fromisoformat(day).replace(tzinfo=self.cfg.tz)
            rows = self.store.rollups("1d", start=start, end=start + timedelta(days=1))
            return {r["meter"]: r["energy_kwh"] or 0.0 for r in rows}

        return await self._run(work)

    async def close(self) -> None:
        if self.store is not None:
            store, self.store = self.store, None
            await self._run(store.close, limit=2.0)  # never held up by a hung connection


def parse_databases(c: Checker, dbs: Any, cfg: Any) -> list[DatabaseConfig]:
    """[[databases]]; none given: SQLite in the data folder."""
    if dbs is None:
        dbs = [{"url": "sqlite:///" + str(cfg.data_dir / "wattlog.db")}]
    if not isinstance(dbs, list):
        c.fail("databases", "expected [[databases]] entries", '[[databases]] with url = "sqlite:///data/wattlog.db"')
        return []
    return [d for i, e in enumerate(dbs) if isinstance(e, dict) and (d := _database(c, e, i))]


def _database(c: Checker, entry: dict[str, Any], i: int) -> DatabaseConfig | None:
    from sqlalchemy.exc import ArgumentError

    from ..store.engine import check_driver, mask_url, normalise

    where = f"databases[{i}]."
    c.keys(entry, {"name", "url", "password", "password_env", "password_file", "timeout", "every"}, where)
    url_text = c.string(entry, "url", where)
    if not url_text:
        c.fail(where + "url", "missing", 'e.g. url = "postgresql://wattlog@db.local/wattlog"')
        return None
    try:
        url = normalise(url_text)
    except ArgumentError:
        c.fail(where + "url", f"not a database URL: {mask_url(url_text)!r}",
               "e.g. sqlite:///data/wattlog.db, postgresql://user@host/db, mssql+pymssql://user@host/db")
        return None
    if url.password:
        c.fail(where + "url", "the URL contains a password",
               "remove it from the URL and use password_env or password_file")
    password = c.secret(entry, where)
    if password:
        url = url.set(password=password)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        url = url.set(database=str(c.resolve(url.database)))  # relative to the config file
    problem = check_driver(url)
    if problem:
        c.fail(where + "url", problem[0], problem[1])
    name = c.string(entry, "name", where, "main" if i == 0 else f"db{i}")
    timeout = c.duration(entry, "timeout", where, TIMEOUT, 1.0, 600.0)
    every = c.duration(entry, "every", where, SQLITE_EVERY if url.get_backend_name() == "sqlite" else 0.0, 0.0, 3600.0)
    return DatabaseConfig(url=url.render_as_string(hide_password=False),
                          shown=url.render_as_string(hide_password=True), name=name, timeout=timeout, every=every)


SECTION = SinkSection("databases", parse_databases, lambda dbs, cfg: [DatabaseSink(db, cfg) for db in dbs])
