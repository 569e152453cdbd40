"""The alarms inside the service: readings arrive on a bounded queue (the pollers never wait),
one task evaluates them, events go to the site's database, notifications to the durable outbox,
and another task delivers the outbox in a thread.

    pollers ──offer──▶ queue ──▶ engine ──▶ events (store) + outbox (SQLite) ──▶ channels
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING

from ..reading import Reading
from .engine import Engine
from .events import note_notified, payload, record
from .outbox import Outbox
from .rules import Alarm, Rule

if TYPE_CHECKING:
    from ..config import Config
    from ..store import Store

log = logging.getLogger("wattlog.alarms")

QUEUE_MAX = 20_000  # readings waiting for evaluation (32 meters at 10 s: over 100 minutes)
TICK = 5.0  # seconds between checks for silent meters and ended demand blocks
DELIVER_EVERY = 5.0


def month_peak_from(store: Store, window: int, meters: tuple[str, ...], month: date, tz) -> float | None:  # noqa: ANN001
    """This month's highest clock-aligned block average (kW) of the meters summed, from rollup_15m."""
    start = datetime(month.year, month.month, 1, tzinfo=tz)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=tz)
    blocks: dict[datetime, float] = {}
    for m in meters:
        for row in store.rollups("15m", m, start, end):
            s = row["start"]
            b = s.replace(minute=s.minute // window * window) if window >= 15 else s
            blocks[b] = blocks.get(b, 0.0) + (row["energy_kwh"] or 0.0)
    return max(blocks.values()) * 60 / window if blocks else None


class AlarmWatcher:
    def __init__(self, cfg: Config, store: Store | None = None) -> None:
        self.cfg, self.store = cfg, store
        self.queue: asyncio.Queue[Reading | None] = asyncio.Queue(QUEUE_MAX)
        self.dropped = 0
        self.errors = 0
        self.peaks: dict[tuple[str, date], float | None] = {}
        self.engine = Engine(cfg.alarms.rules, {m.name: m.location for m in cfg.meters}, cfg.tz,
                             cfg.report_settings, cfg.gap_seconds, self._month_peak)
        self.outbox = Outbox(cfg.data_dir / "alarm_outbox.db", cfg.alarms.channels, cfg.tz, on_sent=self._noted)
        self.wake = asyncio.Event()

    @classmethod
    def build(cls, cfg: Config) -> AlarmWatcher | None:
        """None when the config has no rules; the events go to the first database, if any."""
        if not cfg.alarms.rules:
            return None
        store = None
        if cfg.databases:
            from ..store import Store

            store = Store(cfg.databases[0].url, site=cfg.site, tz=cfg.timezone, gap_seconds=cfg.gap_seconds)
        return cls(cfg, store)

    # -- called by the service ------------------------------------------------------------------

    def offer(self, reading: Reading) -> None:
        """From the polling path: never blocks; a full queue drops the reading for alarms only."""
        try:
            self.queue.put_nowait(reading)
        except asyncio.QueueFull:
            if not self.dropped:
                log.warning("alarm evaluation is behind: readings skipped for alarms (stored as usual)")
            self.dropped += 1

    async def run(self, stop: asyncio.Event) -> None:
        await self._prepare()
        deliver = asyncio.create_task(self._deliver(stop), name="alarm delivery")
        next_tick = 0.0
        loop = asyncio.get_running_loop()

        async def wake_on_stop() -> None:  # a None in the queue ends the wait at once (no polling wake-ups)
            await stop.wait()
            try:
                self.queue.put_nowait(None)
            except asyncio.QueueFull:
                pass

        stopper = asyncio.create_task(wake_on_stop())
        try:
            while not (stop.is_set() and self.queue.empty()):
                try:
                    reading = await asyncio.wait_for(self.queue.get(), TICK)
                except asyncio.TimeoutError:
                    reading = None
                try:  # a bug in a rule must not end the alarms (nor, ever, the service)
                    alarms = self.engine.feed(reading) if reading is not None else []
                    if loop.time() >= next_tick:
                        alarms += self.engine.tick(datetime.now(timezone.utc))
                        next_tick = loop.time() + TICK
                except Exception:  # noqa: BLE001
                    self.errors += 1
                    if self.errors == 1 or self.errors % 1000 == 0:
                        log.exception("alarm evaluation failed (%d times so far); continuing", self.errors)
                    continue
                for a in alarms:
                    await self._handle(a)
        finally:
            stopper.cancel()
            self.wake.set()
            await asyncio.gather(deliver, return_exceptions=True)
            await asyncio.to_thread(self.outbox.deliver_due)  # one last try; the rest waits in the outbox
            self.outbox.close()
            if self.store is not None:
                self.store.close()

    # -- inside ---------------------------------------------------------------------------------

    async def _prepare(self) -> None:
        """This month's peak per demand rule from the store, in a thread, before evaluating."""
        today = datetime.now(self.cfg.tz).date().replace(day=1)
        if self.store is not None:
            try:  # the database sink migrates too; whichever is first creates alarm_events
                await asyncio.to_thread(self.store.migrate)
            except Exception as exc:  # noqa: BLE001 — down now: events are retried per alarm
                log.warning("alarm events: database not ready (%s)", exc)
        for rule in self.cfg.alarms.rules:
            if rule.kind == "demand" and "target_kw" not in rule.params and self.store is not None:
                try:
                    self.peaks[(rule.name, today)] = await asyncio.to_thread(
                        month_peak_from, self.store, int(rule.params["window"]), rule.meters, today, self.cfg.tz)
                except Exception as exc:  # noqa: BLE001 — no store yet: the live blocks set the target
                    log.warning("alarm %s: no month peak from the database (%s); using blocks seen from now", rule.name, exc)

    def _month_peak(self, month: date, rule: Rule) -> float | None:
        return self.peaks.get((rule.name, month))

    async def _handle(self, a: Alarm) -> None:
        (log.warning if a.state == "raised" else log.info)("alarm %s", a.text)
        if self.store is not None:
            try:
                await asyncio.to_thread(record, self.store, a)
            except Exception as exc:  # noqa: BLE001 — the notification still goes out
                log.error("alarm event %s not stored: %s", a.key, exc)
        try:
            await asyncio.to_thread(self.outbox.put, a.key, a.state, payload(a, self.cfg.site), a.channels)
        except Exception as exc:  # noqa: BLE001 — a full disk must not stop the service
            log.error("alarm %s not queued for notification: %s", a.key, exc)
        self.wake.set()

    def _noted(self, key: str, channel: str, state: str, at: datetime) -> None:
        if self.store is not None:
            note_notified(self.store, key, channel, state, at)

    async def _deliver(self, stop: asyncio.Event) -> None:
        """Deliver what is due, then sleep until the next message is due or a new one arrives: no
        wake-ups while nothing is pending (an idle wake-up costs more CPU than evaluating a reading)."""
        while not stop.is_set():
            self.wake.clear()
            due: float | None = None
            try:
                await asyncio.to_thread(self.outbox.deliver_due)
                due = await asyncio.to_thread(self.outbox.next_due)
            except Exception as exc:  # noqa: BLE001
                log.error("alarm delivery: %s", exc)
                due = time.time() + DELIVER_EVERY
            try:
                await asyncio.wait_for(self.wake.wait(), None if due is None else max(due - time.time(), 0.05))
            except asyncio.TimeoutError:
                pass
