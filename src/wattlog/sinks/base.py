"""One small interface for every output, and the worker that drains the spool into it."""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..reading import Reading
from .spool import Spool

log = logging.getLogger("wattlog.sinks")
CLOSE_LIMIT = 2.0  # seconds a sink may take to close at shutdown (a hung server must not hold it up)


@dataclass(frozen=True)
class SinkSection:
    """A sink's own config section: how to read it and what to build from it (sinks/sections.py)."""

    key: str  # the config's table: "databases", "csv", "mqtt"
    parse: Callable[[Any, Any, Any], Any]  # (checker, the table as written or None, config) -> settings or None (off)
    build: Callable[[Any, Any], list[Sink]]  # (settings, config) -> sinks; config is the site's Config


class Sink(ABC):
    """An output fed from the spool. `deliver` must be idempotent: after a crash, the batch that
    was being delivered is delivered again."""

    name: str = "sink"  # also the spool cursor's name: keep it stable
    period: float | None = None  # deliver at most every `period` s on clock boundaries (CSV)
    batch: int = 500

    async def open(self) -> None:
        """Connect or prepare; raise to be retried later."""

    @abstractmethod
    async def deliver(self, readings: list[Reading]) -> None:
        """Write the batch or raise; nothing is taken off the spool until this returns."""

    async def close(self) -> None:
        """Release connections."""


class SinkWorker:
    """Feeds one sink from the spool, in order, retrying with backoff while it is down."""

    def __init__(self, sink: Sink, spool: Spool, backoff_max: float = 60.0) -> None:
        self.sink, self.spool, self.backoff_max = sink, spool, backoff_max
        self.delivered = 0
        self.state = "starting"  # ok, down (the sink failed), spool error (the spool failed)
        self.last_error = ""
        self._opened = False
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def _deliver_pending(self) -> bool:
        """Deliver everything pending; False if the sink or the spool failed (logged once per episode)."""
        while True:
            try:
                entries = await self.spool.fetch(self.sink.name, self.sink.batch)
            except Exception as exc:  # noqa: BLE001 — disk full, a failing SD card: retry, never end
                self._spool_failed("read", exc)
                return False
            if not entries:
                self._spool_back()
                return True
            try:
                if not self._opened:
                    await self.sink.open()
                    self._opened = True
                await self.sink.deliver([e.reading for e in entries])
            except Exception as exc:  # noqa: BLE001 — any failure of a sink must only delay it
                self._opened = False
                await self._close_quietly()
                if self.state != "down":
                    try:
                        pending = await self.spool.pending(self.sink.name)
                    except Exception:  # noqa: BLE001
                        pending = len(entries)
                    log.error("%s is down: %s; %d readings kept in the spool until it is back",
                              self.sink.name, _one_line(exc), pending)
                self.state, self.last_error = "down", _one_line(exc)
                return False
            if self.state == "down":
                log.info("%s is back; delivering the spooled readings", self.sink.name)
                self.state, self.last_error = "ok", ""
            try:
                await self.spool.ack(self.sink.name, entries[-1].seq)
            except Exception as exc:  # noqa: BLE001 — delivered but not acknowledged: sent again later,
                self._spool_failed("acknowledge", exc)  # and every sink's deliver is idempotent
                return False
            self.delivered += len(entries)
            self._spool_back()

    def _spool_failed(self, what: str, exc: BaseException) -> None:
        if self.state != "spool error":
            log.error("%s: cannot %s the spool %s: %s; retrying with backoff, nothing is lost",
                      self.sink.name, what, self.spool.path, _one_line(exc))
        self.state, self.last_error = "spool error", _one_line(exc)

    def _spool_back(self) -> None:
        if self.state == "spool error":
            log.info("%s: the spool works again", self.sink.name)
        if self.state != "down":
            self.state, self.last_error = "ok", ""

    async def _close_quietly(self) -> None:
        try:
            await self.sink.close()
        except Exception:  # noqa: BLE001
            pass

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            try:
                ok = await self._deliver_pending()
            except Exception as exc:  # noqa: BLE001 — a bug here must not end the task silently
                log.exception("%s: unexpected error, retrying: %s", self.sink.name, exc)
                self.state, self.last_error, ok = "down", _one_line(exc), False
            backoff = 1.0 if ok else min(backoff * 2, self.backoff_max)
            if not ok:
                delay = backoff
            elif self.sink.period:
                delay = self.sink.period - (time.time() % self.sink.period)
            else:
                delay = None
            await _wait_any(stop, self._wake if delay is None else None, delay)
            self._wake.clear()

    async def drain(self, deadline: float) -> bool:
        """At shutdown: deliver what is pending within `deadline` seconds; True if all went."""
        try:
            return await asyncio.wait_for(self._deliver_pending(), deadline)
        except asyncio.TimeoutError:
            return False
        finally:
            try:
                await asyncio.wait_for(self._close_quietly(), CLOSE_LIMIT)
            except asyncio.TimeoutError:
                log.warning("%s: closing took more than %g s; left behind", self.sink.name, CLOSE_LIMIT)


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event | None, timeout: float | None) -> None:
    waits = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waits.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
