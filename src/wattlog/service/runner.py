"""The service: pollers → spool → sinks, the terminal summary, maintenance, and a clean stop.

    bus pollers ──emit──▶ live state (terminal, web)
                    └──▶ buffer ──every [spool] flush (5 s)──▶ spool (SQLite, fsync) ──▶ one worker per sink
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from datetime import datetime, timezone

from ..alarms.watcher import AlarmWatcher  # issue 13
from ..config import Config
from ..live import LiveState
from ..polling.bus import BusPoller, MeterSpec, MeterStatus
from ..reading import Reading
from ..sinks.base import SinkWorker
from ..sinks.database import DatabaseSink
from ..sinks.sections import build_sinks
from ..sinks.spool import Spool
from .disk import DiskWatch, parts_of
from .monthcost import month_costs

log = logging.getLogger("wattlog.service")

MAX_BUFFER = 100_000  # readings held in memory while the spool itself cannot be written
STOP_BUDGET = 15.0  # seconds from SIGTERM to exit, as the README promises (systemd's TimeoutStopSec is longer)
DRAIN_DEADLINE = STOP_BUDGET  # the most a stop waits for the sinks (tests/test_deploy.py checks the unit against it)
WORKER_GRACE = 2.0  # seconds for a worker to finish its current delivery before it is cancelled
MAINTENANCE_EVERY = 3600.0


def build_pollers(cfg: Config) -> list[BusPoller]:
    by_bus: dict[str, list[MeterSpec]] = {}
    for m in cfg.meters:
        by_bus.setdefault(m.address.bus, []).append(MeterSpec(m.name, m.address, m.model))
    pollers = []
    for bus, specs in by_bus.items():
        b = cfg.bus_config(bus)
        pollers.append(BusPoller(specs, silence=b.silence, retries=b.retries, backoff_max=b.backoff_max))
    return pollers


class Service:
    """Runs until `stop` is set (SIGTERM, SIGINT, or q on the terminal)."""

    def __init__(self, cfg: Config, *, summary: Callable[[Service], None] | None = None) -> None:
        self.cfg = cfg
        self.spool = Spool(cfg.data_dir / "spool.db", cfg.spool_max)
        self.sinks = build_sinks(cfg)
        self.workers = [SinkWorker(s, self.spool) for s in self.sinks]
        self.pollers = build_pollers(cfg)
        self.live = LiveState(cfg.tz, cfg.gap_seconds)
        self.paused = False
        self.spooled = 0
        self.taken = 0  # readings the pollers produced this run (spooled + still in memory + dropped)
        self.memory_dropped = 0  # dropped from memory while the spool could not be written
        self._memory_cause = ""
        self.started = datetime.now(timezone.utc)
        self._buffer: list[Reading] = []
        self._spool_failing = False
        self._bus_seconds: dict[str, float] = {}
        self._summary = summary
        self.stop = asyncio.Event()
        self.alarms = AlarmWatcher.build(cfg)  # issue 13: None without [[alarms.rules]]
        self.month_cost: dict[str, float] = {}  # location -> this month's cost so far (service/monthcost.py)
        self.disk = DiskWatch(cfg.data_dir, parts_of(cfg))  # issue 14: a warning past 80 % full
        for s in self.sinks:  # the MQTT sink publishes each meter's health, each location's kWh today and cost
            if hasattr(s, "watch"):
                s.watch(lambda: self.statuses, self.kwh_by_location, lambda: self.month_cost)

    # -- what the pollers emit ----------------------------------------------------------------

    def _emit(self, reading: Reading) -> None:
        self.live.update(reading)
        self.taken += 1
        if self.alarms is not None:  # issue 13: a queue, never a wait on the polling path
            self.alarms.offer(reading)
        if len(self._buffer) >= MAX_BUFFER:
            self._buffer.pop(0)  # only while the local disk itself fails; counted, logged at the stop
            self.memory_dropped += 1
        self._buffer.append(reading)

    async def _flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        try:
            await self.spool.append(batch)
        except asyncio.CancelledError:  # a stop that could not wait for a hung disk: still counted
            self._buffer[:0] = batch
            self._memory_cause = f"writing the spool {self.spool.path} did not finish at the stop"
            raise
        except Exception as exc:  # noqa: BLE001 — disk full or failing SD card: keep polling, keep trying
            self._buffer[:0] = batch
            self._memory_cause = f"cannot write the spool {self.spool.path}: {exc}"
            if not self._spool_failing:
                log.error("cannot write the spool %s: %s; holding %d readings in memory (at most %d)",
                          self.spool.path, exc, len(self._buffer), MAX_BUFFER)
            self._spool_failing = True
            return
        if self._spool_failing:
            log.info("spool writable again")
            self._spool_failing = False
        self.spooled += len(batch)
        for w in self.workers:
            if not w.sink.period:
                w.wake()

    async def _flusher(self) -> None:
        while not self.stop.is_set():
            try:
                await asyncio.wait_for(self.stop.wait(), self.cfg.spool_flush)
            except asyncio.TimeoutError:
                pass
            await self._flush()

    # -- status -------------------------------------------------------------------------------

    @property
    def statuses(self) -> dict[str, MeterStatus]:
        return {st.name: st for p in self.pollers for st in p.meters}

    def kwh_by_location(self) -> dict[str, float]:
        """Today's kWh per location, from the live state (seeded from the store after a restart)."""
        out: dict[str, float] = {}
        for m in self.cfg.meters:
            live = self.live.meters.get(m.name)
            out[m.location] = out.get(m.location, 0.0) + (live.kwh_today if live else 0.0)
        return out

    def pause(self, paused: bool) -> None:
        self.paused = paused
        for p in self.pollers:
            p.paused = paused
        log.warning("polling %s", "paused (press r to resume)" if paused else "resumed")

    # -- periodic work ------------------------------------------------------------------------

    async def _summaries(self) -> None:
        if self._summary is None or self.cfg.summary <= 0:
            return
        # the first table as soon as every bus has polled once, then on clock boundaries
        deadline = time.monotonic() + 2 * self.cfg.poll + 5
        while time.monotonic() < deadline and not all(p.stats.cycles for p in self.pollers):
            if await _sleep(self.stop, 0.2):
                return
        # a little after the boundary, so the poll that starts on the same boundary is shown
        offset = min(0.3 * self.cfg.poll, 5.0)
        while not self.stop.is_set():
            self._summary(self)
            wait = self.cfg.summary - (time.time() - offset) % self.cfg.summary
            if wait < self.cfg.summary / 2:  # the boundary is near: not a second table seconds after the first
                wait += self.cfg.summary
            if await _sleep(self.stop, wait):
                return

    def _log_bus_stats(self, seconds: float) -> None:
        for p in self.pollers:
            st = p.stats
            busy = 100 * (st.bus_seconds - self._bus_seconds.get(p.bus, 0.0)) / seconds
            self._bus_seconds[p.bus] = st.bus_seconds
            log.info("bus %s: %d requests, %d replies, %d no answer, %d bad frames, %d refused, %d reconnects, "
                     "%d missed cycles; busy %.1f %% of the last hour, last cycle %.2f s", p.bus, st.requests,
                     st.replies, st.no_answer, st.bad_frames, st.refused, st.reconnects, st.missed_cycles, busy,
                     st.last_cycle_seconds)

    async def _check_disk(self) -> None:
        try:
            await asyncio.to_thread(self.disk.check)
        except Exception as exc:  # noqa: BLE001
            log.debug("disk check failed: %s", exc)

    async def _maintenance(self) -> None:
        names = [s.name for s in self.sinks]
        await self._check_disk()
        while not await _sleep(self.stop, MAINTENANCE_EVERY):
            self._log_bus_stats(MAINTENANCE_EVERY)
            await self._check_disk()
            try:
                n = await self.spool.prune(names)
                log.debug("spool: %d delivered readings removed", n)
            except Exception as exc:  # noqa: BLE001
                log.error("spool maintenance failed: %s", exc)
            main = True
            for s in self.sinks:
                if isinstance(s, DatabaseSink):  # the main one archives first ([archive]); the others only prune
                    await s.prune(self.cfg.raw_retention_days, self.cfg.archive_dir if main else None,
                                  self.stop.is_set)
                    main = False

    # -- run ----------------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        handled = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self.stop.set)
                handled.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread (tests)
        for s in self.sinks:  # before the first reading, so no sink misses any
            await self.spool.register(s.name)
        await self._seed_today()
        log.info("wattlog started: site %s, %d meter(s) on %d bus(es), polling every %g s; sinks: %s",
                 self.cfg.site, len(self.cfg.meters), len(self.pollers), self.cfg.poll,
                 ", ".join(s.name for s in self.sinks) or "none")
        poll_stop = asyncio.Event()
        tasks = [asyncio.create_task(p.run(self.cfg.poll, self._emit, poll_stop), name=f"poll {p.bus}")
                 for p in self.pollers]
        helpers = [asyncio.create_task(self._flusher(), name="spool"),
                   asyncio.create_task(self._summaries(), name="summary"),
                   asyncio.create_task(self._maintenance(), name="maintenance"),
                   asyncio.create_task(month_costs(self, self.stop), name="month cost")]
        if self.alarms is not None:  # issue 13
            helpers.append(asyncio.create_task(self.alarms.run(self.stop), name="alarms"))
        workers = [asyncio.create_task(w.run(self.stop), name=f"sink {w.sink.name}") for w in self.workers]
        try:
            await self.stop.wait()
        finally:
            await self._shutdown(poll_stop, tasks, helpers, workers)
            for sig in handled:
                loop.remove_signal_handler(sig)

    async def _shutdown(self, poll_stop: asyncio.Event, tasks: list[asyncio.Task], helpers: list[asyncio.Task],
                        workers: list[asyncio.Task]) -> None:
        """Within STOP_BUDGET s: the current poll, the last flush, then the sinks' drain; a hung
        database or disk is left behind (its readings stay in the spool for the next start)."""
        t0 = time.monotonic()
        log.info("stopping: finishing the current poll, spooling and delivering what is pending")
        poll_stop.set()
        self.stop.set()
        await _within(asyncio.gather(*tasks, return_exceptions=True), 3.0)
        await _within(asyncio.gather(*helpers, return_exceptions=True), 1.0)
        await _within(self._flush(), 3.0)
        await _within(asyncio.gather(*workers, return_exceptions=True), WORKER_GRACE)
        deadline = max(STOP_BUDGET - 4.0 - (time.monotonic() - t0), 1.0)  # 2 s to close sinks, 2 s spare
        results = await asyncio.gather(*(w.drain(deadline) for w in self.workers), return_exceptions=True)
        for w, ok in zip(self.workers, results):
            if ok is not True:
                try:
                    pending = await asyncio.wait_for(self.spool.pending(w.sink.name), 1.0)
                    log.warning("%s: %d readings stay in the spool for the next start", w.sink.name, pending)
                except Exception:  # noqa: BLE001
                    log.warning("%s: undelivered readings stay in the spool for the next start", w.sink.name)
        await _within(self.spool.close(), 1.0)
        self._log_totals()

    def _log_totals(self) -> None:
        lost = len(self._buffer) + self.memory_dropped
        if lost:
            log.error("%d readings taken this run were never spooled and are lost (%d still in memory at the "
                      "stop, %d dropped from memory at its bound of %d): %s", lost, len(self._buffer),
                      self.memory_dropped, MAX_BUFFER, self._memory_cause or "the spool could not be written")
        log.info("wattlog stopped: %d readings taken this run, %d spooled, %d lost", self.taken, self.spooled, lost)

    async def _seed_today(self) -> None:
        main = next((s for s in self.sinks if isinstance(s, DatabaseSink)), None)
        if main is None:
            return
        day = datetime.now(self.cfg.tz).strftime("%Y-%m-%d")
        try:
            kwh = await asyncio.wait_for(main.energy_today(day), 10)
        except Exception as exc:  # noqa: BLE001 — a database that is down must not delay the start
            log.debug("no energy-today totals from the store: %s", exc)
            return
        self.live.seed_today(kwh, day)


async def _within(aw, seconds: float) -> None:  # type: ignore[no-untyped-def]
    """Await `aw` for at most `seconds`; then cancel it (shutdown never waits on a hung call)."""
    try:
        await asyncio.wait_for(aw, seconds)
    except asyncio.TimeoutError:
        log.warning("stopping: a task did not finish within %g s and was cancelled", seconds)
    except Exception as exc:  # noqa: BLE001
        log.warning("stopping: %s", exc)


async def _sleep(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep; True if `stop` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), max(seconds, 0.0))
        return True
    except asyncio.TimeoutError:
        return False
