"""The spool: every reading is written here first, durably, then each sink drains it in order.

A database or broker that is down only makes its cursor fall behind; nothing is lost and the
poller never waits for a sink. The bound counts only undelivered readings (those behind the
slowest sink's cursor): it warns at 80 % and, past the bound, drops the oldest undelivered
readings, logging once when an episode of drops starts and once with the true count and cause
when it ends. Rows every sink has taken are pruned hourly, or at once when they crowd the bound.
One SQLite file, used from one thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from ..reading import Reading, from_record, to_record

log = logging.getLogger("wattlog.spool")
T = TypeVar("T")
WARN_AT = 0.8

# Records are deflated against this dictionary (a typical record's keys): ~120 bytes instead of ~490
# of JSON, so each reading costs the SD card a quarter of the writes (issue 14). Rows are tagged with
# the format's byte: this text must never change (a spool written before an upgrade is read after it);
# a new dictionary gets a new tag. Rows written as JSON text by older versions are read as they are.
PACKED_V1 = b"\x01"
_ZDICT_V1 = (
    b'{"m":"","t":"2026-01-01T00:00:00.000000+00:00","model":"rx380","v":{"total_real_energy":0.0,'
    b'"total_apparent_energy":0.0,"total_reactive_energy":0.0,"total_real_power":0.0,"total_apparent_power":0.0,'
    b'"total_reactive_power":0.0,"total_power_factor":0.0,"frequency":50.0,"current_l1":0.0,"current_l2":0.0,'
    b'"current_l3":0.0,"current_ln":0.0,"voltage_l12":400.0,"voltage_l23":400.0,"voltage_l31":400.0,'
    b'"voltage_l1":230.0,"voltage_l2":230.0,"voltage_l3":230.0},"p":{"missing: ","implausible: "}}')


def pack(reading: Reading) -> bytes:
    z = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=_ZDICT_V1)
    text = json.dumps(to_record(reading), separators=(",", ":")).encode()
    return PACKED_V1 + z.compress(text) + z.flush()


def unpack(data: bytes | str) -> Reading:
    if isinstance(data, str):  # JSON text, as spooled before issue 14
        return from_record(json.loads(data))
    if data[:1] != PACKED_V1:
        raise ValueError(f"spool row in an unknown format (tag {data[:1]!r})")
    z = zlib.decompressobj(-15, zdict=_ZDICT_V1)
    return from_record(json.loads(z.decompress(data[1:]) + z.flush()))

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
        self.dropped = 0  # undelivered readings dropped at the bound, this run
        self._episode = 0  # dropped in the current episode (0: none going on)
        self._episode_cause = ""
        self._sinks: list[str] = []  # the sinks of this run: only their cursors hold rows
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
            # Small pages for a new spool: a flush appends a few 120-byte rows, and every page it
            # touches is written whole to the WAL and again at the checkpoint (issue 14: SD wear).
            db.execute("PRAGMA page_size=1024")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # a reading acknowledged as spooled survives power loss
            db.executescript(SCHEMA)
            self._db = db
        return self._db

    def _append(self, readings: list[Reading]) -> int:
        db = self._open()
        with db:
            db.execute("BEGIN")
            db.executemany("INSERT INTO spool (data) VALUES (?)", [(pack(r),) for r in readings])
        return self._enforce_bound(db)

    def _cursor(self, db: sqlite3.Connection, sink: str) -> int:
        row = db.execute("SELECT seq FROM cursors WHERE sink = ?", (sink,)).fetchone()
        return row[0] if row else 0

    def _slowest(self, db: sqlite3.Connection, hi: int) -> int:
        """The lowest cursor of this run's sinks: every row at or below it is delivered everywhere."""
        return min((self._cursor(db, s) for s in self._sinks), default=hi)

    def _enforce_bound(self, db: sqlite3.Connection) -> int:
        """Keep at most max_readings undelivered rows; returns how many are undelivered."""
        lo, hi = db.execute("SELECT MIN(seq), MAX(seq) FROM spool").fetchone()
        if lo is None:
            return 0
        slow = self._slowest(db, hi)
        if hi - lo + 1 > self.max_readings and slow >= lo:  # delivered rows crowd the bound: no loss
            db.execute("DELETE FROM spool WHERE seq <= ?", (slow,))
            lo = slow + 1
        size = hi - max(slow, lo - 1)  # rows are only ever deleted from the start: seqs are contiguous
        if size > self.max_readings:
            cut = hi - self.max_readings
            n = db.execute("DELETE FROM spool WHERE seq <= ?", (cut,)).rowcount
            self.dropped += n
            size -= n
            if not self._episode:
                behind = [s for s in self._sinks if self._cursor(db, s) < cut]
                self._episode_cause = (f"{', '.join(behind) or 'a sink'} did not take them (see its errors); "
                                       f"[spool] max_readings = {self.max_readings}")
                log.error("spool full: dropping the oldest undelivered readings (%d so far) because %s; "
                          "the total follows when it ends", n, self._episode_cause)
            self._episode += n
        elif self._episode and size <= WARN_AT * self.max_readings:
            self._end_episode()
        if size >= WARN_AT * self.max_readings and not self._warned:
            self._warned = True
            log.warning("spool at %d of %d undelivered readings (%.0f %%): a sink is not keeping up; past the "
                        "bound the oldest are dropped", size, self.max_readings, 100 * size / self.max_readings)
        elif size < 0.5 * self.max_readings:
            self._warned = False
        return size

    def _end_episode(self) -> None:
        log.error("spool: %d undelivered readings were dropped (lost) because %s", self._episode, self._episode_cause)
        self._episode = 0

    def _fetch(self, sink: str, limit: int) -> list[Entry]:
        db = self._open()
        row = db.execute("SELECT seq FROM cursors WHERE sink = ?", (sink,)).fetchone()
        after = row[0] if row else 0
        rows = db.execute("SELECT seq, data FROM spool WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)).fetchall()
        return [Entry(seq, unpack(data)) for seq, data in rows]

    def _ack(self, sink: str, seq: int) -> None:
        db = self._open()
        db.execute("INSERT INTO cursors (sink, seq) VALUES (?, ?) "
                   "ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq", (sink, seq))

    def _register(self, sink: str, from_start: bool) -> None:
        """A sink seen for the first time starts at the end (or the start) of the spool."""
        db = self._open()
        if sink not in self._sinks:
            self._sinks.append(sink)
        if db.execute("SELECT 1 FROM cursors WHERE sink = ?", (sink,)).fetchone() is None:
            start = 0 if from_start else (db.execute("SELECT MAX(seq) FROM spool").fetchone()[0] or 0)
            db.execute("INSERT INTO cursors (sink, seq) VALUES (?, ?)", (sink, start))

    def _pending(self, sink: str) -> int:
        db = self._open()
        row = db.execute("SELECT seq FROM cursors WHERE sink = ?", (sink,)).fetchone()
        return db.execute("SELECT COUNT(*) FROM spool WHERE seq > ?", (row[0] if row else 0,)).fetchone()[0]

    def _prune(self, sinks: list[str]) -> int:
        """Delete what every active sink has taken: up to the SLOWEST sink's cursor."""
        db = self._open()
        if not sinks:
            return 0
        low = min(self._cursor(db, s) for s in sinks)
        return db.execute("DELETE FROM spool WHERE seq <= ?", (low,)).rowcount

    def _close(self) -> None:
        if self._episode:
            self._end_episode()
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
