"""The simulator's asyncio Modbus servers: TCP, RTU over TCP and a serial pty; pacing and faults."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from ..errors import ConfigError
from .hostile import HOSTILE, Served, lie, scramble
from .links import Link, PtyLink, TcpLink
from .model import DEFAULT_TZ, PROFILES, Site, register_span, sim_clock
from .protocol import GATEWAY_NO_RESPONSE, answer, exception_pdu

log = logging.getLogger("wattlog.sim")

FAULTS = ("no_reply", "bad_crc", "exception", "truncated", "counter_reset", "link_down", *HOSTILE)
REPLY_FAULTS = ("no_reply", "bad_crc", "exception", "truncated", *HOSTILE)
CHAR_BITS = 11  # 8E1: what a character costs on the RS485 side, even where the link is a pty
T = TypeVar("T")


@dataclass
class SimOptions:
    units: dict[int, str]  # unit id -> profile name
    tcp: Sequence[tuple[str, int]] = ()  # Modbus TCP listen addresses; port 0 picks a free one
    rtu_tcp: Sequence[tuple[str, int]] = ()  # RTU frames over TCP (a transparent serial server)
    serial_links: Sequence[str] = ()  # paths where each pty's client end is linked
    baud: int = 19200
    pace: bool = False
    latency_ms: float = 10.0
    faults: dict[str, float] = field(default_factory=dict)  # kind -> probability per request
    link_down_seconds: float = 10.0
    exception_code: int = 4
    refuse: Sequence[tuple[int, int]] = ()  # inclusive address ranges answered with exception 02
    seed: int = 1
    speed: float = 1.0
    tz: str = DEFAULT_TZ
    clock: Callable[[], datetime] | None = None
    gateway_errors: bool = False  # Modbus TCP: answer 0x0B for unknown unit ids instead of silence
    late_seconds: float = 1.5  # a late_reply fault sends the true reply this long after the request
    record: bool = False  # keep a ledger of every request's answer (tests: grows without bound)


@dataclass
class SimStats:
    requests: Counter[int] = field(default_factory=Counter)  # per unit id, known or not
    replies: Counter[int] = field(default_factory=Counter)  # frames sent per unit, garbled ones too
    faults: Counter[str] = field(default_factory=Counter)  # injected, by kind
    dropped_bytes: int = 0  # RTU request bytes discarded: bad CRC or garbage


def _check(o: SimOptions) -> None:
    if not o.units:
        raise ConfigError("no units to simulate", fix="e.g. units={1: 'office'}")
    for unit, profile in o.units.items():
        if not 1 <= unit <= 247:
            raise ConfigError(f"unit id {unit} out of range", fix="use 1..247")
        if profile not in PROFILES:
            raise ConfigError(f"unknown load profile {profile!r}", fix=f"use one of {', '.join(PROFILES)}")
    for kind, rate in o.faults.items():
        if kind not in FAULTS:
            raise ConfigError(f"unknown fault {kind!r}", fix=f"use one of {', '.join(FAULTS)}")
        if not 0 <= rate <= 1:
            raise ConfigError(f"fault rate {kind}={rate} is not a probability", fix="use 0..1")
    for lo, hi in o.refuse:
        if lo > hi:
            raise ConfigError(f"refused range {lo}-{hi} is reversed", fix=f"write {hi}-{lo}")
    if o.baud <= 0 or o.speed <= 0 or o.latency_ms < 0 or o.link_down_seconds <= 0 or o.late_seconds <= 0:
        raise ConfigError("baud, speed and link-down seconds must be positive, latency not negative")
    if not 1 <= o.exception_code <= 255:
        raise ConfigError(f"exception code {o.exception_code} out of range", fix="use 1..255, e.g. 4")


class Simulator:
    """Simulated RX380 meters behind every listener in the options."""

    def __init__(self, options: SimOptions) -> None:
        _check(options)
        self.options = options
        self.site = Site(options.units, options.seed, options.tz)
        self.clock = options.clock or sim_clock(options.speed)
        self.span = register_span()
        self.stats = SimStats()
        self.ledger: dict[int, list[Served]] = defaultdict(list)  # unit -> answers, if options.record
        self.endpoints: list[str] = []
        self.silence_s = max(3.5 * CHAR_BITS / options.baud, 0.00175)  # Modbus: fixed 1.75 ms above 19200
        self._rng = random.Random(f"wattlog.sim faults {options.seed}")
        self._noise = random.Random(f"wattlog.sim noise {options.seed}")  # garbage bytes
        self._forced: list[list[Any]] = []  # [kind, unit or None, remaining]
        self._lock = threading.Lock()  # site and injections are also touched from other threads
        self._links: list[Link] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._down_until = 0.0

    async def start(self) -> None:
        """Start every listener in the options."""
        self._loop = asyncio.get_running_loop()
        o = self.options
        self._links = ([TcpLink(self, h, p, rtu=False) for h, p in o.tcp]
                       + [TcpLink(self, h, p, rtu=True) for h, p in o.rtu_tcp]
                       + [PtyLink(self, path) for path in o.serial_links])
        try:
            for link in self._links:
                await link.up()
        except BaseException:
            await self.close()
            raise
        self.endpoints = [link.endpoint for link in self._links]
        names = ", ".join(f"{u}={p}" for u, p in sorted(o.units.items()))
        log.info("simulating RX380 units %s%s", names, " (paced)" if o.pace else "")
        for endpoint in self.endpoints:
            log.info("listening on %s", endpoint)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for link in self._links:
            await link.down()
        await asyncio.sleep(0.01)  # aborted transports finish closing on the next loop turns
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)

    def snapshot(self, unit: int) -> dict[str, float]:
        """Current physical values of a unit (what a client reading now should see)."""
        with self._lock:
            return self.site.snapshot(unit, self.clock())

    def inject(self, kind: str, unit: int | None = None, count: int = 1) -> None:
        """Force a fault: on the next `count` requests to `unit` (None: any unit) for reply faults;
        at once for counter_reset (unit None: every unit) and link_down. Thread-safe."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; use one of {', '.join(FAULTS)}")
        if unit is not None and unit not in self.options.units:
            raise ValueError(f"unit {unit} is not simulated; units: {sorted(self.options.units)}")
        if kind == "counter_reset":
            for u in sorted(self.options.units) if unit is None else [unit]:
                self._reset(u)
        elif kind == "link_down":
            if self._loop is None:
                raise RuntimeError("start the simulator first")
            seconds = self.options.link_down_seconds
            self._loop.call_soon_threadsafe(lambda: self._spawn(self.link_down(seconds)))
        else:
            with self._lock:
                self._forced.append([kind, unit, count])

    async def link_down(self, seconds: float) -> None:
        """Take every link down now (listeners and connections closed, pty gone); they come
        back by themselves after `seconds`."""
        loop = asyncio.get_running_loop()
        self._down_until = max(self._down_until, loop.time() + seconds)
        self.stats.faults["link_down"] += 1
        log.warning("link down for %.1f s", seconds)
        for link in self._links:
            await link.down()
        self._spawn(self._restore(seconds))

    async def _restore(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(seconds)
        while loop.time() < self._down_until - 0.001:  # a later outage extends this one
            await asyncio.sleep(self._down_until - loop.time())
        for link in self._links:
            while True:
                try:
                    await link.up()
                    break
                except OSError as exc:
                    log.error("cannot bring %s back: %s; retrying", link.endpoint, exc)
                    await asyncio.sleep(1.0)
        log.warning("link up again")

    def _spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception():
            log.error("simulator task failed", exc_info=task.exception())

    def _reset(self, unit: int) -> None:
        with self._lock:
            self.site.reset_counters(unit)
            self.stats.faults["counter_reset"] += 1
        log.debug("unit %d: energy counters reset", unit)

    def _fault(self, unit: int) -> str | None:
        kind = None
        with self._lock:
            for item in self._forced:
                if item[1] is None or item[1] == unit:
                    kind, item[2] = item[0], item[2] - 1
                    if item[2] <= 0:
                        self._forced.remove(item)
                    break
        # one draw per configured kind on every request, so a seeded run repeats exactly
        hits = [k for k, rate in sorted(self.options.faults.items()) if self._rng.random() < rate]
        kind = kind or (hits[0] if hits else None)
        if kind == "counter_reset":
            self._reset(unit)
            return None
        if kind in REPLY_FAULTS:
            self.stats.faults[kind] += 1
            log.debug("unit %d: fault %s", unit, kind)
        return kind

    def wire_time(self, request_bytes: int, reply_bytes: int) -> float:
        """RS485 time of a request and its reply (RTU sizes): characters, 3.5-character gaps before
        each frame, and the meter's latency before it answers."""
        char = CHAR_BITS / self.options.baud
        seconds = (request_bytes + 3.5) * char
        if reply_bytes:
            seconds += (reply_bytes + 3.5) * char + self.options.latency_ms / 1000
        return seconds

    def _read(self, unit: int, address: int, count: int) -> list[int]:
        with self._lock:
            words = self.site.registers(unit, self.clock())
        return [words[a] for a in range(address, address + count)]

    async def exchange(self, link: Link, unit: int, pdu: bytes, received: float,
                       frame: Callable[[bytes, str | None], bytes], send: Callable[[bytes], None]) -> None:
        """Serve one request PDU that arrived complete at loop time `received`: decide faults,
        wait the wire time when pacing (one request at a time per bus), send the framed reply."""
        loop = asyncio.get_running_loop()
        self.stats.requests[unit] += 1
        if unit not in self.options.units:  # silence, like a bus without that meter
            if link.gateway and self.options.gateway_errors:
                send(frame(exception_pdu(pdu[0], GATEWAY_NO_RESPONSE), None))
                self.stats.replies[unit] += 1
            return
        async with link.bus:
            start = max(received, loop.time())  # a queued request goes on the wire after the last
            resets = self.stats.faults["counter_reset"]
            fault = self._fault(unit)
            reply = b""
            words: list[list[int]] = []
            if fault == "link_down":
                self._spawn(self.link_down(self.options.link_down_seconds))
            elif fault == "exception":
                reply = exception_pdu(pdu[0], self.options.exception_code)
            elif fault != "no_reply":
                def read(address: int, count: int) -> list[int]:
                    words.append(self._read(unit, address, count))
                    return words[-1]
                reply = lie(answer(pdu, self.span, self.options.refuse, read), fault)
            if self.options.record and len(pdu) >= 5:
                true = tuple(words[0]) if words and fault in (None, "late_reply") else None
                self.ledger[unit].append(Served(fault, pdu[0], int.from_bytes(pdu[1:3], "big"),
                                                int.from_bytes(pdu[3:5], "big"), true,
                                                self.stats.faults["counter_reset"] > resets))
            if self.options.pace:
                wire = self.wire_time(len(pdu) + 3, len(reply) + 3 if reply else 0)
                await asyncio.sleep(max(0.0, start + wire - loop.time()))
            if fault == "late_reply":
                await asyncio.sleep(max(0.0, start + self.options.late_seconds - loop.time()))
            if reply:
                data = frame(reply, fault)
                send(scramble(data, self._noise) if fault == "garbage" else data)
                self.stats.replies[unit] += 1


class SimThread:
    """Runs a Simulator on its own event loop in a background thread (for sync code and tests)."""

    def __init__(self, options: SimOptions) -> None:
        self.options = options
        self.sim: Simulator | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._main, name="wattlog-sim", daemon=True)
        self._started = threading.Event()
        self._error: BaseException | None = None

    def _main(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self.sim = Simulator(self.options)
            loop.run_until_complete(self.sim.start())
        except BaseException as exc:  # handed to the caller of __enter__
            self._error = exc
        self._started.set()
        if self._error is None:
            loop.run_forever()
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(asyncio.sleep(0.01))  # let closed transports finish closing
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    def __enter__(self) -> Simulator:
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error
        assert self.sim is not None
        return self.sim

    def __exit__(self, *exc: object) -> None:
        if self.sim is not None and self._loop is not None and self._error is None:
            try:
                self.run(self.sim.close(), timeout=10)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the simulator's loop (e.g. sim.link_down(1)) and return its result."""
        if self._loop is None:
            raise RuntimeError("enter the SimThread first")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)


async def run_sim(options: SimOptions, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set or the task is cancelled (what `wattlog sim` runs)."""
    sim = Simulator(options)
    await sim.start()
    try:
        await (stop.wait() if stop else asyncio.get_running_loop().create_future())
    finally:
        await sim.close()
