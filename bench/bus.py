#!/usr/bin/env python3
"""Bus benchmark (issue 2): transactions and bus time per RX380 snapshot, and meters per bus.

    .venv/bin/python bench/bus.py            # full run (a few minutes)
    .venv/bin/python bench/bus.py --quick    # short run: fewer snapshots, verifies N=100 only

Everything runs against wattlog's paced RX380 simulator on a pty at 19200 baud with 10 ms meter
latency. A pty delivers bytes at once whatever the baud rate, so the *simulator* holds every reply
back by the real RS485 wire time (11 bits/char as for 8E1, 3.5-char gap before each frame, plus
the meter latency) and serves one request at a time, like a real bus. Clients use parity N
because ptys reject parity E.

Part 1 - one full RX380 snapshot, measured as wall time of the reads, many snapshots over several
meters, median and p95:
  (a) wattlog's BusPoller (its planner: one request for registers 4002-4039),
  (b) a per-quantity reader, the proof of concept's way: one pymodbus read_input_registers per
      quantity of the RX380 definition (18 requests), run beside (a), alternating cycles,
  (c) the wire-time limit from the bus arithmetic (README, "How it reads the bus").
Part 2 - the most meters one bus polls every 10 s with no missed cycle: BusPoller.run() with real
10 s cycles on N meters, N predicted from part 1 and confirmed at N and N+5 (then stepped).

The simulator runs in a child process (a meter is separate hardware; in-process it would share
the GIL with the client under test); --sim-thread runs it in a thread of this process instead.
Nothing is written to the repository: the pty links live in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pymodbus
from pymodbus.client import AsyncModbusSerialClient
from pymodbus.framer import FramerType

from wattlog.address import parse_address
from wattlog.meters import get_model
from wattlog.polling import BusPoller, MeterSpec, plan_reads
from wattlog.sim import PROFILES, SimOptions, SimThread

BAUD = 19200
LATENCY_S = 0.010
CHAR_S = 11 / BAUD  # 8E1 on the RS485 side: start + 8 data + parity + stop
GAP_CHARS = 3.5
INTERVAL = 10.0
MARGIN = 9.5  # a cycle must end by this many seconds to count as "fits in 10 s"
SIM_UNITS = 200  # unit ids served on the bus for part 2
STEP = 5

# goals (issue 2)
GOAL_FEWER = 5.0  # wattlog needs >= 5x fewer bus seconds per snapshot than per-quantity
GOAL_NEAR_WIRE = 1.2  # wattlog within 1.2x of wire time + latency
GOAL_METERS = 100

log = logging.getLogger("bench.bus")


# ------------------------------------------------------------------------------ bus arithmetic

def wire_seconds(counts: list[int]) -> float:
    """RS485 time of one read per entry of `counts` (registers per request): request 8 bytes,
    reply 5 + 2n bytes, 3.5 characters of silence before each frame, meter latency per request."""
    chars = sum((8 + GAP_CHARS) + (5 + 2 * n + GAP_CHARS) for n in counts)
    return chars * CHAR_S + LATENCY_S * len(counts)


# ------------------------------------------------------------------------------ the simulator

def sim_options(paths: list[str]) -> SimOptions:
    profiles = list(PROFILES)
    units = {u: profiles[(u - 1) % len(profiles)] for u in range(1, SIM_UNITS + 1)}
    return SimOptions(units=units, serial_links=paths, pace=True, baud=BAUD, latency_ms=LATENCY_S * 1000)


def _sim_child(paths: list[str], conn: Any) -> None:
    """Child process: serve the paced simulator until told to stop; answer stats requests."""
    logging.basicConfig(level=logging.ERROR)
    with SimThread(sim_options(paths)) as sim:
        conn.send("ready")
        while True:
            msg = conn.recv()
            if msg == "stats":
                conn.send(_sim_counts(sim))
            else:
                break
    conn.send("stopped")


def _sim_counts(sim: Any) -> dict[str, Any]:
    s = sim.stats
    return {"requests": sum(s.requests.values()), "replies": sum(s.replies.values()),
            "faults": dict(s.faults), "dropped_bytes": s.dropped_bytes}


class Sim:
    """The paced simulator, in a child process (default) or a thread of this one."""

    def __init__(self, paths: list[str], in_thread: bool) -> None:
        self.paths, self.in_thread = paths, in_thread
        self._thread: SimThread | None = None
        self._sim: Any = None
        self._proc: Any = None
        self._conn: Any = None

    def __enter__(self) -> Sim:
        if self.in_thread:
            self._thread = SimThread(sim_options(self.paths))
            self._sim = self._thread.__enter__()
        else:
            ctx = mp.get_context("spawn")
            self._conn, child = ctx.Pipe()
            self._proc = ctx.Process(target=_sim_child, args=(self.paths, child), daemon=True)
            self._proc.start()
            if not self._conn.poll(30) or self._conn.recv() != "ready":
                raise RuntimeError("the simulator process did not start")
        return self

    def counts(self) -> dict[str, Any]:
        if self.in_thread:
            return _sim_counts(self._sim)
        self._conn.send("stats")
        return self._conn.recv()

    def __exit__(self, *exc: object) -> None:
        if self.in_thread:
            assert self._thread is not None
            self._thread.__exit__(*exc)
            return
        self._conn.send("stop")
        self._conn.poll(15)
        self._proc.join(15)
        if self._proc.is_alive():
            self._proc.terminate()  # our own child, by its handle
            self._proc.join(5)


# ------------------------------------------------------------------------------ part 1

def specs(path: str, units: list[int]) -> list[MeterSpec]:
    model = get_model("rx380")
    return [MeterSpec(f"meter{u}", parse_address(f"rtu://{path}?unit={u}&parity=N&timeout=1"), model)
            for u in units]


@dataclass
class Series:
    seconds: list[float] = field(default_factory=list)
    requests: int = 0
    snapshots: int = 0
    failures: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.seconds, n=20, method="inclusive")[18]

    @property
    def per_snapshot(self) -> float:
        return self.requests / self.snapshots


async def wattlog_cycle(poller: BusPoller, out: Series, record: bool) -> None:
    """One poll_cycle; each snapshot's wall time is the time between consecutive readings."""
    stamps: list[float] = []
    n_before = poller.stats.requests
    t0 = time.monotonic()
    readings = await poller.poll_cycle(INTERVAL, lambda r: stamps.append(time.monotonic()))
    if not record:
        return
    prev = t0
    for t in stamps:
        out.seconds.append(t - prev)
        prev = t
    out.requests += poller.stats.requests - n_before
    out.snapshots += len(readings)
    out.failures += len(poller.meters) - sum(1 for r in readings if not r.problems)


async def per_quantity_cycle(client: AsyncModbusSerialClient, units: list[int], out: Series,
                             record: bool) -> None:
    """The proof of concept's way: one request per quantity, straight through pymodbus."""
    regs = get_model("rx380").registers
    for unit in units:
        ok = True
        t0 = time.monotonic()
        for reg in regs:
            rr = await client.read_input_registers(reg.address, count=reg.words, device_id=unit)
            ok = ok and not rr.isError() and len(rr.registers) == reg.words
        t1 = time.monotonic()
        if record:
            out.seconds.append(t1 - t0)
            out.requests += len(regs)
            out.snapshots += 1
            out.failures += not ok


async def block_cycle(client: AsyncModbusSerialClient, units: list[int], out: Series, record: bool) -> None:
    """Reference for the breakdown: the same one 38-register read as wattlog, straight through
    pymodbus with no inter-frame silence and no decoding."""
    for unit in units:
        t0 = time.monotonic()
        rr = await client.read_input_registers(4002, count=38, device_id=unit)
        t1 = time.monotonic()
        if record:
            out.seconds.append(t1 - t0)
            out.requests += 1
            out.snapshots += 1
            out.failures += rr.isError() or len(rr.registers) != 38


async def sleep_overshoot(seconds: float, n: int = 200) -> float:
    """Median wall time of asyncio.sleep(seconds) on this machine (wattlog's inter-frame silence)."""
    took = []
    for _ in range(n):
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        took.append(time.monotonic() - t0)
    return statistics.median(took)


async def part1(path_a: str, path_b: str, meters: int, rounds: int) -> tuple[Series, Series, Series, float, float]:
    units = list(range(1, meters + 1))
    poller = BusPoller(specs(path_a, units))
    client = AsyncModbusSerialClient(path_b, framer=FramerType.RTU, baudrate=BAUD, bytesize=8, parity="N",
                                     stopbits=1, timeout=1, retries=0)
    if not await client.connect():
        raise RuntimeError(f"cannot open {path_b}")
    a, b, raw = Series(), Series(), Series()
    bus_before = 0.0
    try:
        for r in range(rounds + 1):  # round 0 warms up both (opens the port, first frames)
            if r == 1:
                bus_before = poller.stats.bus_seconds
            await wattlog_cycle(poller, a, record=r > 0)
            await per_quantity_cycle(client, units, b, record=r > 0)
            await block_cycle(client, units, raw, record=r > 0)
        accounted = (poller.stats.bus_seconds - bus_before) / a.snapshots
        silence = await sleep_overshoot(poller.silence)
    finally:
        poller.close()
        client.close()
    return a, b, raw, accounted, silence


# ------------------------------------------------------------------------------ part 2

@dataclass
class CycleRun:
    meters: int
    cycle_seconds: list[float]
    missed: int
    readings: int
    requests: int
    no_answer: int
    bad_frames: int

    @property
    def ok(self) -> bool:
        return (self.missed == 0 and len(self.cycle_seconds) > 0 and max(self.cycle_seconds) <= MARGIN
                and self.readings == self.meters * len(self.cycle_seconds))


async def run_cycles(path: str, meters: int, cycles: int) -> CycleRun:
    """BusPoller.run(interval=10) on `meters` meters for `cycles` full cycles."""
    poller = BusPoller(specs(path, list(range(1, meters + 1))))
    stop = asyncio.Event()
    times: list[float] = []
    readings = Counter[str]()

    async def watch() -> None:
        seen = 0
        while not stop.is_set():
            await asyncio.sleep(0.1)
            if poller.stats.cycles > seen:
                seen = poller.stats.cycles
                times.append(poller.stats.last_cycle_seconds)
                if seen >= cycles or poller.stats.missed_cycles:
                    stop.set()

    await asyncio.gather(poller.run(INTERVAL, lambda r: readings.update([r.meter]), stop), watch())
    s = poller.stats
    return CycleRun(meters, times, s.missed_cycles, sum(readings.values()), s.requests, s.no_answer,
                    s.bad_frames)


def describe(run: CycleRun) -> str:
    if run.ok:
        return "fits"
    if run.missed:
        return "does NOT fit: missed a cycle"
    if run.readings != run.meters * len(run.cycle_seconds):
        return "does NOT fit: readings missing"
    return f"does NOT fit: over the {MARGIN:g} s margin (no cycle missed)"


def confirm(path: str, meters: int, cycles: int, runs: list[CycleRun]) -> bool:
    print(f"  confirming N={meters} with {cycles} real {INTERVAL:g} s cycles ...", flush=True)
    run = asyncio.run(run_cycles(path, meters, cycles))
    runs.append(run)
    verdict = describe(run)
    print(f"    cycles {', '.join(f'{t:.2f}' for t in run.cycle_seconds)} s; missed {run.missed}; "
          f"readings {run.readings}; no answer {run.no_answer} -> {verdict}", flush=True)
    return run.ok


def search(path: str, predicted: int, cycles: int, runs: list[CycleRun]) -> int | None:
    """Largest N (multiple of STEP, <= SIM_UNITS) that fits, starting at the prediction."""
    n = max(STEP, min(SIM_UNITS, predicted // STEP * STEP))
    if confirm(path, n, cycles, runs):
        while n + STEP <= SIM_UNITS and confirm(path, n + STEP, cycles, runs):
            n += STEP
        return n
    while n - STEP >= STEP:
        n -= STEP
        if confirm(path, n, cycles, runs):
            return n
    return None


# ------------------------------------------------------------------------------ report

def machine() -> str:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return (f"Python {platform.python_version()} on {platform.system()} {platform.release()} "
            f"{platform.machine()}; nproc {len(os.sched_getaffinity(0))}; {cpu or 'cpu unknown'}; "
            f"pymodbus {pymodbus.__version__}")


def poller_silence() -> float:
    """The 3.5-character silence BusPoller keeps on these (parity N, 10-bit) pty addresses."""
    return 3.5 * parse_address("rtu:///dev/null?unit=1&parity=N").char_time


def ms(x: float) -> str:
    return f"{x * 1000:.1f}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short run: fewer snapshots, verify N=100 only")
    ap.add_argument("--sim-thread", action="store_true", help="run the simulator in a thread of this process")
    ap.add_argument("--meters", type=int, help="meters in part 1 (default 6, quick 4)")
    ap.add_argument("--rounds", type=int, help="cycles of each reader in part 1 (default 25, quick 5)")
    args = ap.parse_args()
    meters = args.meters or (4 if args.quick else 6)
    rounds = args.rounds or (5 if args.quick else 25)
    cycles = 2 if args.quick else 3

    logging.basicConfig(level=logging.WARNING, format="  [%(name)s] %(message)s")
    logging.getLogger("wattlog.poller").setLevel(logging.ERROR)  # missed-cycle warnings: we report them
    started = time.monotonic()
    print(f"wattlog bus benchmark (issue 2) - {'quick' if args.quick else 'full'} run, "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(f"bus: paced RX380 simulator on a pty ({'thread' if args.sim_thread else 'child process'}), "
          f"{BAUD} baud, wire time at 11 bits/char (8E1), {LATENCY_S * 1000:g} ms meter latency. "
          "A pty delivers bytes instantly; pacing is done by the simulator.")

    model = get_model("rx380")
    plan = plan_reads(model.registers, model.max_read, model.max_gap)
    wire_a = wire_seconds([blk.count for blk in plan])
    wire_b = wire_seconds([reg.words for reg in model.registers])

    tmp = tempfile.mkdtemp(prefix="wattlog-bench-bus-")
    path_a, path_b = os.path.join(tmp, "ttyA"), os.path.join(tmp, "ttyB")
    try:
        with Sim([path_a, path_b], args.sim_thread) as sim:
            print(f"\npart 1: {meters} meters x {rounds} cycles per reader, alternating (plus one warm-up "
                  "cycle each) ...", flush=True)
            before = sim.counts()
            a, b, raw, accounted, silence = asyncio.run(part1(path_a, path_b, meters, rounds))
            after = sim.counts()
            sim_requests = after["requests"] - before["requests"]
            expected = (rounds + 1) * meters * (len(plan) + len(model.registers) + 1)

            print("\npart 2: most meters polled every 10 s with no missed cycle", flush=True)
            runs: list[CycleRun] = []
            predicted = int(MARGIN / a.median)
            print(f"  predicted from the median snapshot time: {MARGIN:g} s / {ms(a.median)} ms = {predicted}")
            if args.quick:
                best = GOAL_METERS if confirm(path_a, GOAL_METERS, cycles, runs) else None
            else:
                best = search(path_a, predicted, cycles, runs)
            final = sim.counts()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # ---------------------------------------------------------------- table
    fewer = b.median / a.median
    near = a.median / wire_a
    print("\nper full RX380 snapshot (18 quantities)        requests  median ms   p95 ms  x wire")
    print(f"  (a) wattlog BusPoller, registers "
          f"{plan[0].span if len(plan) == 1 else len(plan)}  {a.per_snapshot:8.0f}  {ms(a.median):>9}  "
          f"{ms(a.p95):>7}  {a.median / wire_a:6.2f}")
    print(f"  (b) per-quantity pymodbus reader (PoC)    {b.per_snapshot:8.0f}  {ms(b.median):>9}  "
          f"{ms(b.p95):>7}  {b.median / wire_b:6.2f}")
    print(f"  (c) wire + latency limit, one block       {len(plan):8d}  {ms(wire_a):>9}  {'':>7}  {1:6.2f}")
    print(f"      wire + latency limit, per quantity    {len(model.registers):8d}  {ms(wire_b):>9}  "
          f"{'':>7}  {1:6.2f}")
    print(f"  ref: pymodbus, same 38-register read,   {raw.per_snapshot:8.0f}  {ms(raw.median):>9}  "
          f"{ms(raw.p95):>7}  {raw.median / wire_a:6.2f}")
    print("       no silence, no decoding (for the breakdown below)")
    print(f"  snapshots measured: {a.snapshots} (a), {b.snapshots} (b), {raw.snapshots} (ref); incomplete: "
          f"{a.failures + b.failures + raw.failures}")
    print(f"  BusPoller's own bus_seconds per snapshot: {ms(accounted)} ms (excludes decoding between "
          "requests)")
    print(f"  where (a)'s {ms(a.median)} ms go (medians): wire + latency {ms(wire_a)} ms")
    print(f"    + pymodbus, pty and the simulator's pacing: {ms(raw.median - wire_a)} ms per request "
          f"(per-quantity reader: {ms((b.median - wire_b) / len(model.registers))} ms per request)")
    print(f"    + BusPoller's inter-frame silence: asyncio.sleep({ms(poller_silence())} ms) takes "
          f"{ms(silence)} ms here")
    print(f"    + the rest (planning, decoding, plausibility checks, emit): "
          f"{ms(a.median - raw.median - silence)} ms")
    print(f"  simulator saw {sim_requests} requests in part 1 (expected {expected}); faults "
          f"{after['faults'] or 'none'}, dropped bytes {after['dropped_bytes']}")

    runs_ok = [r for r in runs if r.ok]
    print("\nmeters on one 19200 bus, 10 s interval (cycle must end within "
          f"{MARGIN:g} s, no missed cycle)")
    for r in runs:
        print(f"  N={r.meters:3d}: cycles {', '.join(f'{t:.2f}' for t in r.cycle_seconds)} s, missed {r.missed}, "
              f"{r.requests / max(r.readings, 1):.2f} requests per reading -> {describe(r)}")
    limit_b = int(MARGIN / b.median)
    print(f"  wattlog: largest N confirmed = {best if best is not None else 'none'}"
          f"{' (quick: only N=100 tried)' if args.quick else ''}; predicted {predicted}; "
          f"wire limit {int(MARGIN / wire_a)} ({int(INTERVAL / wire_a)} at the full 10 s)")
    print(f"  per-quantity reader (computed from its median): {MARGIN:g} s / {ms(b.median)} ms = {limit_b} meters; "
          f"wire limit {int(MARGIN / wire_b)}")
    if not args.quick and runs_ok and best is not None:
        top = max(runs_ok, key=lambda r: r.meters)
        print(f"  at N={top.meters} the slowest cycle took {max(top.cycle_seconds):.2f} s = "
              f"{max(top.cycle_seconds) / top.meters * 1000:.1f} ms per meter")
    print(f"  simulator totals: {final['requests']} requests, {final['replies']} replies, "
          f"faults {final['faults'] or 'none'}")

    # ---------------------------------------------------------------- goals
    goals = [
        (f"wattlog >= {GOAL_FEWER:g}x fewer bus seconds than per-quantity (median)", fewer >= GOAL_FEWER,
         f"{fewer:.2f}x (p95 {b.p95 / a.p95:.2f}x); transactions {b.per_snapshot / a.per_snapshot:.0f}x fewer"),
        (f"wattlog within {GOAL_NEAR_WIRE:g}x of wire time + latency (median)", near <= GOAL_NEAR_WIRE,
         f"{near:.3f}x (p95 {a.p95 / wire_a:.3f}x)"),
        (f">= {GOAL_METERS} meters per 19200 bus at 10 s", best is not None and best >= GOAL_METERS,
         f"{best if best is not None else 0} meters confirmed"),
    ]
    print("\ngoals")
    for name, ok, detail in goals:
        print(f"  {verdict(ok)}  {name}: {detail}")
    print(f"\nrun time {time.monotonic() - started:.0f} s")
    return 0 if all(ok for _, ok, _ in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
