"""One poller per bus: serialises the requests of every meter on a serial line or TCP endpoint.

It keeps the silence between frames, retries a failed request a bounded number of times, backs
off from a meter that stays dead (so it does not eat the healthy meters' bus time), reopens a
link that vanished (USB adapter unplugged, gateway rebooted), and never stores a value it did
not read. A failing meter is logged once with its cause, and its recovery once; a flapping one
is summarised (episodes.py). A link that is down is retried at least every poll interval.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..address import MeterAddress
from ..errors import ConfigError, DeviceRefused, LinkError, NoAnswer, RequestError
from ..meters.definition import MeterModel
from ..reading import IMPLAUSIBLE, MISSING, Problem, Reading, check_plausible
from ..transport import Link, make_link
from .episodes import WINDOW_S, EpisodeLog
from .plan import ReadBlock, plan_reads, split_block

log = logging.getLogger("wattlog.poller")

SPLIT_CODES = (2, 3)  # illegal data address / value: the block is too wide for this meter
OFFLINE_AFTER = 3  # failed polls in a row before a meter is backed off
SILENT_CYCLES_BEFORE_REOPEN = 3
# Upper bounds (s) of the request-latency histogram (/metrics); a last, unbounded bucket follows.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(frozen=True)
class MeterSpec:
    """A meter on a bus; its name is its location label."""

    name: str
    address: MeterAddress
    model: MeterModel


@dataclass
class MeterStatus:
    """What a status page shows about one meter."""

    name: str
    unit: int
    bus: str
    model: str
    state: str = "new"  # new, ok, degraded, failing, offline, bus down
    last_ok: datetime | None = None
    last_error: str = ""
    hint: str = ""  # what to check, for the last error
    failures: int = 0  # failed polls in a row
    readings: int = 0
    requests: int = 0
    errors: int = 0


@dataclass
class BusStats:
    """Counters for status pages; bus_seconds is time the line was busy or held silent."""

    requests: int = 0
    replies: int = 0
    no_answer: int = 0
    bad_frames: int = 0
    refused: int = 0
    link_errors: int = 0
    reconnects: int = 0
    bus_seconds: float = 0.0
    cycles: int = 0
    missed_cycles: int = 0
    last_cycle_seconds: float = 0.0
    latency_counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0

    def observe(self, seconds: float) -> None:
        """One request's time on the wire, answered or not, into the latency histogram."""
        self.latency_sum += seconds
        self.latency_counts[next((i for i, b in enumerate(LATENCY_BUCKETS) if seconds <= b), len(LATENCY_BUCKETS))] += 1


@dataclass(frozen=True)
class _Failure:
    block: ReadBlock
    error: RequestError

    def __str__(self) -> str:
        return f"registers {self.block.span}: {self.error}"


def _mark(reading: Reading, block: ReadBlock, reason: str) -> None:
    for reg in block.registers:
        reading.problems[reg.name] = Problem(MISSING, reason)


@dataclass
class _Meter:
    spec: MeterSpec
    status: MeterStatus
    base_plan: list[ReadBlock]
    plan: list[ReadBlock]
    unsupported: dict[str, str] = field(default_factory=dict)
    learned_at: float = 0.0
    next_try: float = 0.0
    last_counters: dict[str, float] = field(default_factory=dict)
    episodes: EpisodeLog = field(default_factory=lambda: EpisodeLog(""))


def _check_same_bus(meters: list[MeterSpec]) -> None:
    first = meters[0].address
    for m in meters[1:]:
        if m.address.bus != first.bus:
            raise ConfigError(f"meter {m.name!r} is on {m.address.bus}, not {first.bus}",
                              key=m.name, fix="give each bus its own poller")
        if m.address.line_settings != first.line_settings:
            raise ConfigError(
                f"meters {meters[0].name!r} and {m.name!r} share {first.bus} but disagree on the line "
                f"settings (baud, parity, stop bits)", key=m.name,
                fix="every meter on one RS485 line must use the same baud rate, parity and stop bits")
    units: dict[int, str] = {}
    for m in meters:
        if m.address.unit in units:
            raise ConfigError(f"meters {units[m.address.unit]!r} and {m.name!r} both use unit id "
                              f"{m.address.unit} on {first.bus}", key=m.name,
                              fix="give every meter on a bus its own unit id (set it on the meter's front panel)")
        units[m.address.unit] = m.name


class BusPoller:
    """Owns one link and polls its meters one request at a time."""

    def __init__(self, meters: list[MeterSpec], *, link: Link | None = None, silence: float | None = None,
                 retries: int = 1, backoff_max: float = 300.0, replan_after: float = 6 * 3600.0,
                 summary_window: float = WINDOW_S) -> None:
        if not meters:
            raise ValueError("a bus needs at least one meter")
        _check_same_bus(meters)
        self.bus = meters[0].address.bus
        self.link = link or make_link(meters[0].address)
        # Modbus RTU needs 3.5 characters of silence between frames; TCP needs none.
        self.silence = silence if silence is not None else (
            3.5 * meters[0].address.char_time if meters[0].address.scheme != "tcp" else 0.0)
        self.retries = retries
        self.backoff_max = backoff_max
        self.replan_after = replan_after
        self.stats = BusStats()
        self.paused = False  # the terminal's w key: no bus traffic until resumed
        self.link_state = "closed"  # closed, open, down
        self.link_error = ""
        self._link_next_try = 0.0
        self._link_failures = 0
        self._interval = 10.0  # the last poll interval: link retries are capped near it
        self._silent_cycles = 0
        self._last_io = 0.0
        self._meters = []
        for spec in meters:
            plan = plan_reads(spec.model.registers, spec.model.max_read, spec.model.max_gap)
            status = MeterStatus(spec.name, spec.address.unit, self.bus, spec.model.model)
            where = f"{spec.name} (unit {spec.address.unit} on {self.bus})"
            self._meters.append(_Meter(spec, status, plan, list(plan),
                                       episodes=EpisodeLog(where, summary_window)))

    @property
    def meters(self) -> list[MeterStatus]:
        return [m.status for m in self._meters]

    def plan_of(self, name: str) -> list[ReadBlock]:
        """The requests the next poll of meter `name` will send (after anything it learned)."""
        return next(m.plan for m in self._meters if m.spec.name == name)

    # -- one request ---------------------------------------------------------------------------

    async def _request(self, meter: _Meter, block: ReadBlock, attempts: int) -> list[int]:
        a = meter.spec.address
        for attempt in range(attempts):
            gap = self.silence - (time.monotonic() - self._last_io)
            if gap > 0:
                await asyncio.sleep(gap)
            t0 = time.monotonic()
            self.stats.requests += 1
            meter.status.requests += 1
            try:
                words = await self.link.read(block.function, a.unit, block.address, block.count, a.timeout)
                self.stats.replies += 1
                return words
            except DeviceRefused as exc:
                self.stats.replies += 1
                self.stats.refused += 1
                meter.status.errors += 1
                if exc.code in SPLIT_CODES or attempt + 1 == attempts:
                    raise
            except RequestError as exc:
                meter.status.errors += 1
                if isinstance(exc, NoAnswer):
                    self.stats.no_answer += 1
                else:
                    self.stats.bad_frames += 1
                if attempt + 1 == attempts:
                    raise
            finally:
                self._last_io = time.monotonic()
                self.stats.bus_seconds += self._last_io - t0 + max(gap, 0.0)
                self.stats.observe(self._last_io - t0)
        raise AssertionError("unreachable")

    # -- one meter -----------------------------------------------------------------------------

    async def _read_meter(self, meter: _Meter) -> tuple[Reading | None, _Failure | None]:
        """A reading (None when nothing was read) and the first failure, None when all went well."""
        if self.replan_after and meter.learned_at and time.monotonic() - meter.learned_at > self.replan_after:
            # The meter may have had a firmware update or the refusal was a glitch: try the full plan.
            meter.plan, meter.unsupported, meter.learned_at = list(meter.base_plan), {}, 0.0
        spec = meter.spec
        attempts = 1 if meter.status.state == "offline" else 1 + self.retries
        reading = Reading(spec.name, datetime.now(timezone.utc), spec.model.model)
        failure: _Failure | None = None
        queue = list(meter.plan)
        kept: list[ReadBlock] = []
        while queue:
            block = queue.pop(0)
            try:
                words = await self._request(meter, block, attempts)
            except DeviceRefused as exc:
                if exc.code in SPLIT_CODES:
                    self._learn(meter, block, exc, queue)
                    continue
                failure = failure or _Failure(block, exc)
                kept.append(block)
                _mark(reading, block, str(exc))
                continue
            except RequestError as exc:
                failure = failure or _Failure(block, exc)
                kept.append(block)
                _mark(reading, block, str(exc))
                if isinstance(exc, NoAnswer):
                    # A silent meter is likely dead: don't spend more timeouts on it this cycle.
                    kept.extend(queue)
                    for rest in queue:
                        _mark(reading, rest, "not asked: the meter did not answer")
                    break
                continue
            kept.append(block)
            for reg in block.registers:
                value = reg.value(block.words_of(reg, words))
                if value is None:
                    reading.problems[reg.name] = Problem(MISSING, "the meter reports 'not available'")
                else:
                    reading.values[reg.name] = value
        meter.plan = kept
        for name, reason in meter.unsupported.items():
            reading.problems[name] = Problem(MISSING, reason)
        before = dict(meter.last_counters)
        check_plausible(reading, spec.model, meter.last_counters)
        self._log_counter_resets(meter, reading, before)
        return (reading if reading.values else None), failure

    def _log_counter_resets(self, meter: _Meter, reading: Reading, before: dict[str, float]) -> None:
        """A counter that went backwards is flagged in the reading (once, at the drop): say so."""
        drops = [(n, before[n], p.raw) for n, p in reading.problems.items()
                 if p.flag == IMPLAUSIBLE and p.raw is not None and n in before and p.raw < before[n]
                 and p.reason.startswith("counter went backwards")]
        if drops:
            spec = meter.spec
            log.warning("%s (unit %d on %s): counter reset: %s; kept aside, the new values count from here "
                        "(meter reset or replaced?)", spec.name, spec.address.unit, self.bus,
                        ", ".join(f"{n} {old:g} → {new:g} {spec.model.by_name[n].unit}" for n, old, new in drops))

    def _learn(self, meter: _Meter, block: ReadBlock, exc: DeviceRefused, queue: list[ReadBlock]) -> None:
        """The meter refused `block`: read it in smaller parts now, and from now on."""
        spec = meter.spec
        parts = split_block(block)
        meter.learned_at = time.monotonic()
        if parts:
            log.info("%s (unit %d on %s) refuses registers %s (%s); reading %s instead",
                     spec.name, spec.address.unit, self.bus, block.span, exc, ", ".join(p.span for p in parts))
            queue[0:0] = parts
            return
        reg = block.registers[0]
        meter.unsupported[reg.name] = f"meter refuses register {block.span} ({exc})"
        log.warning("%s (unit %d on %s) has no %s: %s; it will not be asked for again",
                    spec.name, spec.address.unit, self.bus, reg.name, meter.unsupported[reg.name])

    def _note(self, meter: _Meter, reading: Reading | None, failure: _Failure | None, interval: float) -> None:
        """Update a meter's status; log the start of a failure and the recovery, once each."""
        st, spec = meter.status, meter.spec
        where = f"{spec.name} (unit {spec.address.unit} on {self.bus})"
        if reading is not None:
            st.readings += 1
            st.last_ok = reading.timestamp
        if failure is None:
            meter.episodes.ok(f"{where} recovered after {max(st.failures, 1)} failed poll(s)")
            st.state, st.failures, st.last_error, st.hint = "ok", 0, "", ""
            meter.next_try = 0.0
            return
        meter.episodes.failed(failure.error, f"{where}: {failure} — {failure.error.hint}")
        st.last_error, st.hint = str(failure), failure.error.hint
        if reading is not None:
            st.state, st.failures = "degraded", 0
            return
        st.failures += 1
        st.state = "offline" if st.failures >= OFFLINE_AFTER else "failing"
        if st.state == "offline":
            # Back off exponentially, so a dead meter costs one short timeout now and then.
            delay = min(interval * 2 ** (st.failures - OFFLINE_AFTER), self.backoff_max)
            meter.next_try = time.monotonic() + delay
            if st.failures == OFFLINE_AFTER:
                log.warning("%s is offline; asking it again after %g s, backing off up to %g s",
                            where, delay, self.backoff_max)

    # -- the link ------------------------------------------------------------------------------

    async def _ensure_link(self) -> bool:
        if self.link.is_open:
            return True
        now = time.monotonic()
        if now < self._link_next_try:
            return False
        try:
            await self.link.open()
        except LinkError as exc:
            self._link_down(str(exc))
            return False
        if self.link_state == "down":
            log.info("bus %s is back", self.bus)
            self.stats.reconnects += 1
        self.link_state, self.link_error, self._link_failures = "open", "", 0
        return True

    def _link_down(self, error: str) -> None:
        self.stats.link_errors += 1
        self._link_failures += 1
        # capped below the poll interval: every cycle tries again, so an outage costs at most
        # itself plus one interval (a 30 s cap made a 20 s link loss cost 36 s)
        cap = max(min(self._interval / 2, 30.0), 0.1)
        self._link_next_try = time.monotonic() + min(2.0 ** (self._link_failures - 1), cap)
        if self.link_state != "down":
            log.error("bus %s: %s; retrying until it comes back", self.bus, error)
        self.link_state, self.link_error = "down", error
        for m in self._meters:
            m.status.state, m.status.last_error = "bus down", error

    # -- cycles --------------------------------------------------------------------------------

    async def poll_cycle(self, interval: float = 10.0,
                         emit: Callable[[Reading], None] | None = None) -> list[Reading]:
        """Poll every meter that is due, once, in order; emit each reading as it is taken."""
        out: list[Reading] = []
        self._interval = interval
        if not await self._ensure_link():
            return out
        replies_before, requests_before = self.stats.replies, self.stats.requests
        for meter in self._meters:
            if meter.next_try > time.monotonic():
                continue
            try:
                reading, failure = await self._read_meter(meter)
            except LinkError as exc:
                self.link.close()
                self._link_down(str(exc))
                return out
            self._note(meter, reading, failure, interval)
            if reading is not None:
                out.append(reading)
                if emit is not None:
                    emit(reading)
        if self.stats.requests > requests_before and self.stats.replies == replies_before:
            self._silent_cycles += 1
            if self._silent_cycles % SILENT_CYCLES_BEFORE_REOPEN == 0:
                # Every meter silent: a half-open TCP connection or a wedged adapter looks like this.
                log.warning("no meter on %s answered for %d cycles; reopening the link", self.bus,
                            self._silent_cycles)
                self.link.close()
        else:
            self._silent_cycles = 0
        return out

    async def run(self, interval: float, emit: Callable[[Reading], None], stop: asyncio.Event) -> None:
        """Poll every `interval` seconds, on clock boundaries (:00, :10, …), until `stop` is set."""
        slot = math.floor(time.time() / interval) + 1
        try:
            while not stop.is_set():
                wait = slot * interval - time.time()
                if wait > interval:  # the clock went back (NTP on a Pi without RTC): resync
                    slot = math.floor(time.time() / interval) + 1
                    continue
                if wait > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), wait)
                        break
                    except asyncio.TimeoutError:
                        continue  # re-check: timers may fire a hair early
                if self.paused:
                    slot += 1
                    continue
                t0 = time.monotonic()
                await self.poll_cycle(interval, emit)
                self.stats.cycles += 1
                self.stats.last_cycle_seconds = time.monotonic() - t0
                end_slot = math.floor(time.time() / interval)
                missed = end_slot - slot
                if 0 < missed < 1000:  # more is a clock jump, not a slow bus
                    self.stats.missed_cycles += missed
                    log.warning("bus %s: a cycle took %.1f s, longer than the %g s interval; %d missed",
                                self.bus, self.stats.last_cycle_seconds, interval, missed)
                slot = max(slot + 1, end_slot + 1)
        finally:
            self.link.close()

    def close(self) -> None:
        self.link.close()
