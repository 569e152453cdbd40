"""The durable outbox: every notification is written to SQLite (data_dir/alarm_outbox.db, fsync)
before any attempt, so an undelivered alarm survives a restart.

Deduplicated (one row per event, state and channel), retried with exponential backoff, held
during a channel's quiet hours, and rate-limited per channel (the rest wait, nothing is dropped).
`deliver_due` does blocking network I/O: the service runs it in a thread.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time as clock
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .notify import Channel, SendError, send

log = logging.getLogger("wattlog.alarms")

BACKOFF_FIRST, BACKOFF_MAX = 10.0, 900.0  # seconds

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    event_key TEXT NOT NULL,
    state TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL,
    sent REAL,
    last_error TEXT
)"""


def in_quiet(channel: Channel, t: datetime, tz: ZoneInfo) -> datetime | None:
    """The end of the quiet hours `t` falls in (UTC), or None."""
    if channel.quiet is None:
        return None
    start, end = channel.quiet
    local = t.astimezone(tz)
    lt = local.time()
    inside = (start <= lt < end) if start < end else (lt >= start or lt < end)
    if not inside:
        return None
    until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if until <= local:
        until += timedelta(days=1)
    return until.astimezone(timezone.utc)


class Outbox:
    def __init__(self, path: Path, channels: list[Channel], tz: ZoneInfo,
                 on_sent: Callable[[str, str, str, datetime], None] | None = None) -> None:
        self.path, self.tz, self.on_sent = path, tz, on_sent
        self.channels = {c.name: c for c in channels}
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(SCHEMA)
        self.lock = threading.Lock()
        self.failing: set[str] = set()

    def close(self) -> None:
        self.db.close()

    def put(self, key: str, state: str, payload: dict[str, Any], channels: tuple[str, ...] = (),
            now: float | None = None) -> int:
        """Queue the message for each channel (all when empty); a repeat is ignored. Returns how many were new."""
        now = clock.time() if now is None else now
        names = [c for c in (channels or tuple(self.channels)) if c in self.channels]
        new = 0
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            for name in names:
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO outbox (dedupe, channel, event_key, state, payload, created, next_try) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", (f"{key}|{state}|{name}", name, key, state,
                                                     json.dumps(payload, default=str), now, now))
                new += cur.rowcount
            self.db.execute("COMMIT")
        return new

    def pending(self) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.db.execute("SELECT id, channel, event_key, state, attempts, next_try, last_error FROM outbox "
                                   "WHERE sent IS NULL ORDER BY id").fetchall()
        return [dict(zip(("id", "channel", "key", "state", "attempts", "next_try", "error"), r)) for r in rows]

    def next_due(self) -> float | None:
        """When the earliest undelivered message is due (epoch seconds), or None when all are sent."""
        with self.lock:
            row = self.db.execute("SELECT MIN(next_try) FROM outbox WHERE sent IS NULL").fetchone()
        return row[0] if row else None

    def deliver_due(self, now: float | None = None) -> list[tuple[str, str, bool]]:
        """Try every message that is due, in order per channel; (channel, event key, delivered) for each try."""
        now = clock.time() if now is None else now
        at = datetime.fromtimestamp(now, timezone.utc)
        with self.lock:
            rows = self.db.execute("SELECT id, channel, event_key, state, payload, attempts FROM outbox "
                                   "WHERE sent IS NULL AND next_try <= ? ORDER BY id", (now,)).fetchall()
        done: list[tuple[str, str, bool]] = []
        blocked: set[str] = set()  # a channel that failed or must wait keeps its order
        for mid, name, key, state, payload, attempts in rows:
            ch = self.channels.get(name)
            if ch is None or name in blocked:
                continue
            until = in_quiet(ch, at, self.tz) or self._rate_wait(ch, now)
            if until is not None:
                self._defer(mid, until.timestamp() if isinstance(until, datetime) else until, None)
                blocked.add(name)
                continue
            try:
                send(ch, {**json.loads(payload), "id": f"{key}|{state}|{name}"})
            except SendError as exc:
                delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** attempts)
                self._defer(mid, now + delay, str(exc), failed=True)
                if name not in self.failing:
                    log.warning("alarm channel %s: delivery failed (%s); retrying with backoff, up to every %g s",
                                name, exc, BACKOFF_MAX)
                self.failing.add(name)
                blocked.add(name)
                done.append((name, key, False))
                continue
            with self.lock:
                self.db.execute("UPDATE outbox SET sent = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?",
                                (now, mid))
            if name in self.failing:
                log.info("alarm channel %s: delivering again", name)
                self.failing.discard(name)
            done.append((name, key, True))
            if self.on_sent is not None:
                try:
                    self.on_sent(key, name, state, at)
                except Exception as exc:  # noqa: BLE001 — the event row is a record; delivery already happened
                    log.warning("could not note the notification of %s on its event: %s", key, exc)
        return done

    def _rate_wait(self, ch: Channel, now: float) -> float | None:
        with self.lock:
            times = [r[0] for r in self.db.execute(
                "SELECT sent FROM outbox WHERE channel = ? AND sent > ? ORDER BY sent", (ch.name, now - 3600))]
        return times[0] + 3600 if len(times) >= ch.per_hour else None

    def _defer(self, mid: int, until: float, error: str | None, failed: bool = False) -> None:
        with self.lock:
            self.db.execute("UPDATE outbox SET next_try = ?, attempts = attempts + ?, last_error = COALESCE(?, last_error) "
                            "WHERE id = ?", (until, 1 if failed else 0, error, mid))

    def prune(self, days: float = 30, now: float | None = None) -> int:
        now = clock.time() if now is None else now
        with self.lock:
            return self.db.execute("DELETE FROM outbox WHERE sent IS NOT NULL AND sent < ?", (now - days * 86400,)).rowcount
