"""The spool: every reading is written here first, durably, then each sink drains it in order.

A database or broker that is down only makes its cursor fall behind; nothing is lost and the
poller never waits for a sink. The spool is bounded: it warns at 80 % and, at the bound, drops
the oldest readings (and says how many). One SQLite file, used from one thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from ..reading import Reading, from_record, to_record

log = logging.getLogger("wattlog.spool")
T = TypeVar("T")
WARN_AT = 0.8

SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (sink TEXT PRIMARY KEY, seq INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class Entry:
    seq: int
    reading: Reading


class Spool:
    """Append-only journal of readings with one cursor per sink."""

    def __init__(self, path: Path, max_readings: int = 1_000_000) -> None:
        self.path = path
        self.max_readings = max_readings
        self.dropped = 0
        self._warned = False
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool")
        self._db: sqlite3.Connection | None = None
        self.changed = asyncio.Event()

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    # -- everything below runs in the spool thread --------------------------------------------

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # a reading acknowledged as spooled survives power loss
            db.executescript(SCHEMA)
            self._db = db
        return self._db

    def _append(self, readings: list[Reading]) -> int:
        db = self._open()
        with db:
            db.execute("BEGIN")
            db.executemany("INSERT INTO spool (data) VALUES (?)",
                           [(json.dumps(to_record(r), separators=(",", ":")),) for r in readings])
        return self._enforce_bound(db)

    def _enforce_bound(self, db: sqlite3.Connection) -> int:
        lo, hi = db.execute("SELECT MIN(seq), MAX(seq) FROM spool").fetchone()
        size = 0 if lo is None else hi - lo + 1
        if size > self.max_readings:
            cut = hi - self.max_readings
            n = db.execute("DELETE FROM spool WHERE seq <= ?", (cut,)).rowcount
            self.dropped += n
            log.error("spool full (%d readings): dropped the %d oldest undelivered readings; "
                      "a sink has been down too long — see the sink errors above", self.max_readings, n)
            size -= n
        if size >= WARN_AT * self.max_readings and not self._warned:
            self._warned = True
            log.warning("spool at %d of %d readings (%.0f %%): a sink is not keeping up; at the bound the "
                        "oldest readings are dropped", size, self.max_readings, 100 * size / self.max_readings)
        elif size < 0.5 * self.max_readings:
            self._warned = False
        return size

    def _fetch(self, sink: str, limit: int) -> list[Entry]:
        db = self._open()
        row = db.execute("SELECT seq FROM cursors WHERE sink = ?", (sink,)).fetchone()
        after = row[0] if row else 0
        rows = db.execute("SELECT seq, data FROM spool WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)).fetchall()
        return [Entry(seq, from_record(json.loads(data))) for seq, data in rows]

    def _ack(self, sink: str, seq: int) -> None:
        db = self._open()
        db.execute("INSERT INTO cursors (sink, seq) VALUES (?, ?) "
                   "ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq", (sink, seq))

    def _register(self, sink: str, from_start: bool) -> None:
        """A sink seen for the first time starts at the end (or the start) of the spool."""
        db = self._open()
        if db.execute("SELECT 1 FROM cursors WHERE sink = ?", (sink,)).fetchone() is None:
            start = 0 if from_start else (db.execute("SELECT MAX(seq) FROM spool").fetchone()[0] or 0)
            db.execute("INSERT INTO cursors (sink, seq) VALUES (?, ?)", (sink, start))

    def _pending(self, sink: str) -> int:
        db = self._open()
        row = db.execute("SELECT seq FROM cursors WHERE sink = ?", (sink,)).fetchone()
        return db.execute("SELECT COUNT(*) FROM spool WHERE seq > ?", (row[0] if row else 0,)).fetchone()[0]

    def _prune(self, sinks: list[str]) -> int:
        """Delete what every active sink has taken."""
        db = self._open()
        if not sinks:
            return 0
        marks = [db.execute("SELECT seq FROM cursors WHERE sink = ?", (s,)).fetchone() for s in sinks]
        low = min(m[0] if m else 0 for m in marks)
        return db.execute("DELETE FROM spool WHERE seq <= ?", (low,)).rowcount

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- async API --------------------------------------------------------------------------

    async def append(self, readings: list[Reading]) -> None:
        if readings:
            await self._call(self._append, readings)
            self.changed.set()

    async def fetch(self, sink: str, limit: int = 500) -> list[Entry]:
        return await self._call(self._fetch, sink, limit)

    async def ack(self, sink: str, seq: int) -> None:
        await self._call(self._ack, sink, seq)

    async def register(self, sink: str, from_start: bool = False) -> None:
        await self._call(self._register, sink, from_start)

    async def pending(self, sink: str) -> int:
        return await self._call(self._pending, sink)

    async def prune(self, sinks: list[str]) -> int:
        return await self._call(self._prune, sinks)

    async def close(self) -> None:
        await self._call(self._close)
        self._pool.shutdown(wait=True)
