#!/usr/bin/env python3
"""Scale benchmark (issue 14): one `wattlog run` polling 1, 2, 4 and 8 buses of up to 130 meters each.

    .venv/bin/python bench/scale.py            # full: 60 s warm-up, 120 s measured per bus count (~14 min)
    .venv/bin/python bench/scale.py --quick    # 15 s warm-up, 30 s measured per bus count (< 4 min)
    .venv/bin/python bench/scale.py --profile  # also: py-spy on the service at 4 buses, top functions

What runs, each its own process, as on a site (one simulator process per bus, as each bus is
separate hardware):
  - even buses (0, 2, 4, 6): a paced pty, `wattlog sim --serial-link PATH --pace --unit 1=... --unit 130=...`
    (replies held back by the real wire time of a 19200 baud RS485 line, 8E1, plus 10 ms meter latency:
    a 130-meter cycle takes about 9.4 s of the 10 s, so this is a full RS485 port of a Pi or CM4);
  - odd buses (1, 3, 5, 7): a Modbus TCP gateway, `wattlog sim --tcp 127.0.0.1:PORT --unit ...`, not paced
    (meters on Ethernet or a fast gateway: the whole cycle is a burst at the start of each 10 s slot);
  - the service: `wattlog run --config SITE.toml` with every meter of every bus and every default (poll 10 s,
    SQLite in the data folder, CSV every 5 min, log file, the dashboard, here on a free port, the summary
    table every 2 min: to /dev/null).
Measured over a window aligned to 10 s slots, after the warm-up: the service's utime+stime
(/proc/PID/stat), its largest VmRSS (every second from start to stop), its write_bytes (/proc/PID/io),
the simulators' CPU and the whole machine's busy share (/proc/stat: the other engineers' load too).
Readings and missed cycles come from what the service stored and logged: rows per meter per slot in
SQLite, and the poller's "N missed" warnings (BusStats.missed_cycles). Ratios are against the 1-bus
run of the same invocation. Exit 0 when the goals pass at 4 x 130: no missed cycle, CPU <= 25 % of
one core, RSS <= 150 MB, and CPU per reading at most 1.5 x the 1-bus run's (per-meter cost flat).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from service import (  # noqa: E402  (bench/service.py's /proc readers and helpers)
    PROFILES,
    REPO,
    WATTLOG,
    cpu_seconds,
    free_port,
    machine,
    rss_kib,
    wait_port,
)

POLL = 10.0
GOAL_BUSES = 4
GOAL_CPU_PCT = 25.0
GOAL_RSS_MB = 150.0  # 10^6 bytes
GOAL_FLAT = 1.5  # CPU per reading at GOAL_BUSES vs the 1-bus run
MISSED = re.compile(r"bus (\S+): a cycle took ([\d.]+) s, longer than .* (\d+) missed")


def kind(i: int) -> str:
    return "pty" if i % 2 == 0 else "tcp"


def write_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("write_bytes:"))
    except (OSError, StopIteration):
        return None


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


class Run:
    """One bus count: simulators, the service, the measured window."""

    def __init__(self, buses: int, meters: int, tmp: Path, summary: str = "", nice: int = 0) -> None:
        self.buses, self.meters, self.tmp, self.summary, self.nice = buses, meters, tmp, summary, nice
        self.data = tmp / "data"
        self.sims: list[subprocess.Popen] = []
        self.svc: subprocess.Popen | None = None
        self.rss: list[int] = []
        self.links: list[str] = []  # per bus: pty path or tcp port

    def units(self) -> list[str]:
        return [a for u in range(1, self.meters + 1) for a in ("--unit", f"{u}={PROFILES[(u - 1) % len(PROFILES)]}")]

    def start_sims(self) -> None:
        for i in range(self.buses):
            log = (self.tmp / f"sim{i}.log").open("wb")
            if kind(i) == "pty":
                path = str(self.tmp / f"ttyBUS{i}")
                cmd = [str(WATTLOG), "sim", "--serial-link", path, "--pace", *self.units()]
                self.links.append(path)
            else:
                port = free_port()
                cmd = [str(WATTLOG), "sim", "--tcp", f"127.0.0.1:{port}", *self.units()]
                self.links.append(str(port))
            self.sims.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                              preexec_fn=self._priority))
        for i, link in enumerate(self.links):
            ok = wait_port(int(link), 30) if kind(i) == "tcp" else _wait_path(Path(link), 30)
            if not ok:
                raise RuntimeError(f"simulator {i} did not start; see {self.tmp}/sim{i}.log")

    def config(self) -> Path:
        lines = ["[site]", 'name = "scale"', f'data_dir = "{self.data}"', "",  # the dashboard on, as by default
                 "[web]", f'listen = "127.0.0.1:{free_port()}"', ""]
        if self.summary:
            lines += ["[intervals]", f'summary = "{self.summary}"', ""]
        for i, link in enumerate(self.links):
            for u in range(1, self.meters + 1):
                url = f"rtu://{link}?unit={u}&parity=N" if kind(i) == "pty" else f"tcp://127.0.0.1:{link}/{u}"
                lines += ["[[meters]]", f'name = "b{i}_m{u}"', f'url = "{url}"', ""]
        path = self.tmp / "site.toml"
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    def start_service(self) -> int:
        err = (self.tmp / "service.stderr").open("wb")
        self.svc = subprocess.Popen([str(WATTLOG), "run", "--config", str(self.config())], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err, preexec_fn=self._priority)
        return self.svc.pid

    def _priority(self) -> None:
        if self.nice:
            os.setpriority(os.PRIO_PROCESS, 0, self.nice)

    def sample(self) -> None:
        assert self.svc is not None
        r = rss_kib(self.svc.pid)
        if r is None or self.svc.poll() is not None:
            raise RuntimeError(f"the service exited ({self.svc.poll()}); see {self.tmp}/service.stderr")
        self.rss.append(r)

    def sleep_sampling(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.sample()
            time.sleep(min(1.0, left))

    def stop(self) -> int | None:
        code = None
        if self.svc is not None and self.svc.poll() is None:
            self.svc.send_signal(signal.SIGTERM)
            try:
                code = self.svc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.svc.kill()
                self.svc.wait()
        elif self.svc is not None:
            code = self.svc.returncode
        for p in self.sims:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.sims:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return code


def _wait_path(path: Path, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists():
            return True
        time.sleep(0.1)
    return False


def stored_in(db: Path, t0: float, t1: float) -> dict[str, list[float]]:
    """Reading timestamps (epoch s) per meter, for readings taken in [t0, t1)."""
    lo = datetime.fromtimestamp(t0, timezone.utc).replace(tzinfo=None).isoformat(" ")
    hi = datetime.fromtimestamp(t1, timezone.utc).replace(tzinfo=None).isoformat(" ")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT m.name, r.ts FROM readings r JOIN meters m ON m.id = r.meter_id "
                           "WHERE r.ts >= ? AND r.ts < ?", (lo, hi)).fetchall()
    finally:
        con.close()
    out: dict[str, list[float]] = collections.defaultdict(list)
    for name, ts in rows:
        out[name].append(datetime.fromisoformat(str(ts)).replace(tzinfo=timezone.utc).timestamp())
    return out


def measure(buses: int, meters: int, warmup: float, window: float, summary: str, nice: int = 0,
            profile: bool = False) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"wattlog-bench-scale-{buses}-"))
    run = Run(buses, meters, tmp, summary, nice)
    res: dict = {"buses": buses, "meters": buses * meters, "tmp": tmp}
    try:
        run.start_sims()
        pid = run.start_service()
        run.sleep_sampling(warmup)
        # the window starts half a second before a slot boundary and covers whole slots
        now = time.time()
        start_at = (now // POLL + 1) * POLL - 0.5
        if start_at - now < 1.0:
            start_at += POLL
        run.sleep_sampling(start_at - time.time())
        slots = max(1, round(window / POLL))
        t0, c0, w0, j0 = time.time(), cpu_seconds(pid), write_bytes(pid), machine_jiffies()
        s0 = [cpu_seconds(p.pid) or 0.0 for p in run.sims]
        spy = None
        if profile:
            res["profile_file"] = tmp / "pyspy.txt"
            spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking",
                                    "--full-filenames", "--format", "raw", "-r", "50", "-d", str(int(slots * POLL)),
                                    "-o", str(res["profile_file"]), "-p", str(pid)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run.sleep_sampling(slots * POLL)
        t1, c1, w1, j1 = time.time(), cpu_seconds(pid), write_bytes(pid), machine_jiffies()
        s1 = [cpu_seconds(p.pid) or 0.0 for p in run.sims]
        if spy is not None:
            spy.wait(timeout=60)
        assert c0 is not None and c1 is not None
        res["code"] = run.stop()
        first_slot = (t0 // POLL + 1) * POLL
        per_meter = stored_in(run.data / "wattlog.db", first_slot, first_slot + slots * POLL)
        readings = sum(len(v) for v in per_meter.values())
        expected = buses * meters * slots
        late: dict[str, float] = {}
        for name, stamps in per_meter.items():
            k = kind(int(name[1:].split("_")[0]))
            late[k] = max([late.get(k, 0.0)] + [t - (t // POLL) * POLL for t in stamps])
        text = (run.data / "wattlog.log").read_text(errors="replace") if (run.data / "wattlog.log").exists() else ""
        missed_log = sum(int(m.group(3)) for m in MISSED.finditer(text))
        res.update(
            slots=slots, seconds=t1 - t0, readings=readings, expected=expected, short=expected - readings,
            missed_log=missed_log, cpu_pct=100 * (c1 - c0) / (t1 - t0),
            us_per_reading=1e6 * (c1 - c0) / readings if readings else float("nan"),
            rss_mb=max(run.rss) * 1024 / 1e6, wbytes_per_reading=(w1 - w0) / readings if readings and w0 is not None
            and w1 is not None else float("nan"),
            sim_pct=100 * (sum(s1) - sum(s0)) / (t1 - t0),
            machine_pct=100 * (j1[0] - j0[0]) / (j1[1] - j0[1]) * (os.cpu_count() or 1),
            late=late, errors=[ln for ln in text.splitlines() if " ERROR " in ln][:3])
    finally:
        run.stop()
    return res


def top_functions(raw: Path, n: int = 20) -> list[str]:
    """Inclusive and self share of samples per function from py-spy's collapsed stacks."""
    incl: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    area: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        c = int(count)
        total += c
        frames = [_short(f) for f in stack.split(";")]
        for f in set(frames):
            incl[f] += c
        own[frames[-1]] += c
        idle = stack.rsplit(";", 1)[-1]  # only a stack that ends waiting in epoll is idle
        area[next((name for name, marks in AREAS
                   if any(m in (idle if "epoll" in name else stack) for m in marks)), "other")] += c
    out = [f"{total} samples at 50 Hz of the busy threads (py-spy leaves idle ones out); by area:"]
    out += [f"  {100 * c / total:5.1f} %  {a}" for a, c in area.most_common()]
    out += ["inclusive:"]
    out += [f"  {100 * c / total:5.1f} %  {f}" for f, c in incl.most_common(n)]
    out += ["self:"] + [f"  {100 * c / total:5.1f} %  {f}" for f, c in own.most_common(n)]
    return out


AREAS = [  # the first that matches a stack names its area
    ("database sink: sinks/database.py, store/* (rollup refresh included)", ("DatabaseSink", "/store/")),
    ("spool: sinks/spool.py", ("/sinks/spool.py",)),
    ("CSV sink", ("/sinks/csvfiles.py",)),
    ("event loop waiting in epoll (sampled as busy)", ("/selectors.py:",)),
    ("transport: pymodbus and transport/modbus.py", ("pymodbus/", "/transport/")),
    ("service loop: runner.py (emit, flush), live state, alarms", ("/service/", "/live.py", "/alarms/")),
    ("polling: polling/bus.py, reading checks", ("/polling/", "/reading.py")),
]


def _short(frame: str) -> str:
    """'func (path/to/module.py:123)' -> 'func (module.py)' (lines differ within one function)."""
    m = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not m:
        return frame
    path = m.group(2)
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif "/src/" in path:
        path = path.split("/src/", 1)[1]
    else:
        path = path.rsplit("/", 1)[-1]
    return f"{m.group(1)} ({path})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="15 s warm-up, 30 s measured per bus count")
    ap.add_argument("--buses", default="1,2,4,8", help="bus counts to run, the first is the baseline [1,2,4,8]")
    ap.add_argument("--meters", type=int, default=130, help="meters per bus [130]")
    ap.add_argument("--warmup", type=float, default=None, help="seconds [60, quick 15]")
    ap.add_argument("--window", type=float, default=None, help="measured seconds, whole 10 s slots [120, quick 30]")
    ap.add_argument("--profile", action="store_true", help="then profile the service at 4 buses with py-spy")
    ap.add_argument("--nice", type=int, default=0,
                    help="run the service and simulators at this nice value, e.g. -10 (root): an investigation of "
                         "whether other work on the machine is the limit; goals are for 0")
    ap.add_argument("--summary", default=None, metavar="DURATION",
                    help="the summary table's interval, e.g. 0s for none (investigation) [2m, quick 30s]")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = ap.parse_args()
    warmup = args.warmup if args.warmup is not None else (15.0 if args.quick else 60.0)
    window = args.window if args.window is not None else (30.0 if args.quick else 120.0)
    counts = [int(x) for x in args.buses.split(",")]
    # the terminal table (every 2 min by default) is the service's largest single job on its loop:
    # a short window gets one too
    summary = args.summary if args.summary is not None else ("30s" if window < 120 else "")
    started = time.monotonic()
    print(f"bench/scale.py {' '.join(sys.argv[1:]) or '(full)'}: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(f"load average at start (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{args.meters} meters per bus, poll {POLL:g} s; buses: even = paced pty (19200 baud RS485 wire time), "
          f"odd = Modbus TCP gateway (not paced); one simulator process per bus; warm-up {warmup:g} s, "
          f"window {window:g} s; summary table every {summary or '2m (the default)'}"
          + (f"; service and simulators at nice {args.nice} (an investigation)" if args.nice else ""))
    results = []
    for n in counts:
        print(f"\n{n} bus(es) ({', '.join(kind(i) for i in range(n))}) x {args.meters} meters ...", flush=True)
        r = measure(n, args.meters, warmup, window, summary, args.nice)
        results.append(r)
        print(f"  {r['readings']} readings of {r['expected']} expected in {r['slots']} slots; missed cycles (log) "
              f"{r['missed_log']}; service exit {r['code']}; last read of a slot started at "
              + ", ".join(f"{k} +{v:.2f} s" for k, v in sorted(r["late"].items())))
        for line in r["errors"]:
            print(f"  log: {line}")
        if not args.keep:
            shutil.rmtree(r["tmp"], ignore_errors=True)

    base = results[0]
    print(f"\nsummary (ratios against {base['buses']} bus = {base['meters']} meters, same run):")
    head = (f"{'buses':>5} {'meters':>6} {'missed':>6} {'short':>5} {'svc CPU %':>9} {'x':>5} {'RSS MB':>7} "
            f"{'x':>5} {'µs CPU/rdg':>10} {'x':>5} {'write B/rdg':>11} {'x':>5} {'sims CPU %':>10} "
            f"{'machine %':>9}")
    print(head)
    for r in results:
        print(f"{r['buses']:>5} {r['meters']:>6} {r['missed_log']:>6} {r['short']:>5} {r['cpu_pct']:>9.1f} "
              f"{r['cpu_pct'] / base['cpu_pct']:>5.2f} {r['rss_mb']:>7.1f} {r['rss_mb'] / base['rss_mb']:>5.2f} "
              f"{r['us_per_reading']:>10.0f} {r['us_per_reading'] / base['us_per_reading']:>5.2f} "
              f"{r['wbytes_per_reading']:>11.0f} {r['wbytes_per_reading'] / base['wbytes_per_reading']:>5.2f} "
              f"{r['sim_pct']:>10.1f} {r['machine_pct']:>9.1f}")
    print("missed = the poller's 'N missed' warnings over the whole run; short = readings missing from the "
          "window's slots in SQLite; svc CPU = utime+stime of `wattlog run`, % of one core; machine % = all "
          f"processes, of one core ({os.cpu_count()} cores = {100 * (os.cpu_count() or 1)} %)")

    passed = True
    goal = next((r for r in results if r["buses"] == GOAL_BUSES), None)
    if goal is None:
        print(f"\nno {GOAL_BUSES}-bus run: goals not checked")
    else:
        checks = [(f"no missed cycle at {GOAL_BUSES} x {args.meters}", goal["missed_log"] == 0 and goal["short"] == 0,
                   f"{goal['missed_log']} missed, {goal['short']} readings short"),
                  (f"CPU <= {GOAL_CPU_PCT:g} % of one core", goal["cpu_pct"] <= GOAL_CPU_PCT,
                   f"{goal['cpu_pct']:.1f} %"),
                  (f"RSS <= {GOAL_RSS_MB:g} MB", goal["rss_mb"] <= GOAL_RSS_MB, f"{goal['rss_mb']:.1f} MB"),
                  (f"CPU per reading <= {GOAL_FLAT:g} x the {base['buses']}-bus run's",
                   goal["us_per_reading"] <= GOAL_FLAT * base["us_per_reading"],
                   f"{goal['us_per_reading'] / base['us_per_reading']:.2f} x")]
        print()
        for name, ok, got in checks:
            print(f"GOAL {name}: {got}  {'PASS' if ok else 'FAIL'}")
            passed = passed and ok
    if args.profile:
        print(f"\nprofile: py-spy on the service at {GOAL_BUSES} buses x {args.meters} meters ...", flush=True)
        r = measure(GOAL_BUSES, args.meters, warmup, window, summary, args.nice, profile=True)
        print(f"  (under py-spy: service CPU {r['cpu_pct']:.1f} %, {r['missed_log']} missed)")
        if r["profile_file"].exists():
            for line in top_functions(r["profile_file"]):
                print("  " + line)
        if not args.keep:
            shutil.rmtree(r["tmp"], ignore_errors=True)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"run time {time.monotonic() - started:.0f} s; repository {REPO}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
