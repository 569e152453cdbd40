#!/usr/bin/env python3
"""Service benchmark (issue 3): resident memory and CPU of `wattlog run` with 8 simulated meters at 10 s.

    .venv/bin/python bench/service.py            # full run: 2 min warm-up, 6 min measured (~9 min)
    .venv/bin/python bench/service.py --quick    # 1 min warm-up, 1 min measured (~2.5 min)

What runs, each its own process, as on a site:
  - the RX380 simulator: `.venv/bin/wattlog sim --tcp 127.0.0.1:PORT --unit 1=office ... --unit 8=...`
    (8 unit ids, load profiles cycling through wattlog.sim.PROFILES);
  - the service: `.venv/bin/wattlog run --config SITE.toml`, stdout to /dev/null (the summary table),
    stderr to a file; the config has the 8 meters (tcp://127.0.0.1:PORT/1..8) and nothing else, so
    every default applies: poll 10 s, summary 2 min, CSV every 5 min, SQLite in the data folder, log file.
After the warm-up this script samples /proc/PID/status VmRSS (every second) and /proc/PID/stat
utime + stime over the measured window, then stops the service with SIGTERM (it drains its sinks),
and counts what was stored: SQLite rows per meter (each meter once per cycle: 8 x cycles in all),
against the service's own "N readings taken this run" and the CSV rows.

Baselines in the same run: a bare `python -c "import time; time.sleep(...)"` (the same interpreter
as the venv's) and the service's RSS right after start, so the interpreter's and the libraries' share
is visible. Also, for information, the RSS of a fresh interpreter after importing each library the
service loads. Everything lives in a temporary directory, removed at the end (--keep keeps it).
Exit status 0 when both goals pass: RSS <= 80 MB (decimal megabytes, the largest sample from start to
stop) and CPU <= 2 % of one core over the measured window.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
WATTLOG = VENV_BIN / "wattlog"
PROFILES = ["office", "workshop", "aircon", "production", "retail", "cold_room"]  # wattlog.sim.PROFILES
POLL = 10.0
GOAL_RSS_MB = 80.0  # 10^6 bytes
GOAL_CPU_PCT = 2.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
IMPORTS = ["wattlog", "wattlog.config", "click", "rich.console", "sqlalchemy", "wattlog.store", "alembic",
           "pymodbus.client", "psycopg", "wattlog.cli", "wattlog.service.runner"]


# ------------------------------------------------------------------------------ /proc

def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of the process (all its threads), seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat(5)


def thread_cpu(pid: int) -> dict[int, tuple[float, float]]:
    """(utime, stime) per thread (tid -> seconds)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        out[int(task.name)] = (int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK)
    return out


def threads(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))
    except (OSError, StopIteration):
        return 0


def mb(kib: float) -> str:
    return f"{kib * 1024 / 1e6:.1f} MB ({kib / 1024:.1f} MiB)"


# ------------------------------------------------------------------------------ helpers

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def bare_python_rss(seconds: float = 3.0) -> int:
    """RSS of `python -c "import time; time.sleep(...)"` once it sleeps (largest sample)."""
    p = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])
    best = 0
    try:
        end = time.monotonic() + seconds - 0.5
        while time.monotonic() < end:
            best = max(best, rss_kib(p.pid) or 0)
            time.sleep(0.1)
    finally:
        p.wait()
    return best


def import_rss() -> list[tuple[str, int]]:
    """RSS (KiB) of a fresh interpreter after importing each module on its own, then all of them."""
    code = ("import sys, importlib\n"
            "def rss():\n"
            "    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS:'))\n"
            "for m in sys.argv[1:]:\n"
            "    importlib.import_module(m)\n"
            "print(rss())\n")
    out = []
    for mod in [None, *IMPORTS]:
        mods = [] if mod is None else [mod]
        r = subprocess.run([sys.executable, "-c", code, *mods], capture_output=True, text=True, cwd="/")
        out.append((mod or "(nothing)", int(r.stdout.strip()) if r.returncode == 0 else -1))
    r = subprocess.run([sys.executable, "-c", code, *IMPORTS], capture_output=True, text=True, cwd="/")
    out.append(("all of the above", int(r.stdout.strip()) if r.returncode == 0 else -1))
    return out


def wattlog_source() -> str:
    """Where the service's interpreter imports wattlog from (PYTHONPATH can point it elsewhere)."""
    r = subprocess.run([sys.executable, "-c", "import wattlog; print(wattlog.__file__)"], capture_output=True, check=False,
                       text=True, cwd="/")
    return str(Path(r.stdout.strip()).parent.parent) if r.returncode == 0 else "?"


def machine() -> str:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, check=False,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"], capture_output=True, check=False,
                           text=True).stdout.strip()
    return (f"python {platform.python_version()}, {platform.system()} {platform.release()} {platform.machine()}, "
            f"nproc {os.cpu_count()}, {cpu}, commit {commit}{' (src/ has uncommitted changes)' if dirty else ''}")


def write_config(path: Path, data: Path, port: int, meters: int, poll: float) -> None:
    lines = ["[site]", 'name = "bench"', f'data_dir = "{data}"', ""]
    if poll != POLL:  # only for investigations: the goals are for the default 10 s
        lines += ["[intervals]", f'poll = "{poll:g}s"', ""]
    for u in range(1, meters + 1):
        lines += ["[[meters]]", f'name = "{PROFILES[(u - 1) % len(PROFILES)]}{u}"',
                  f'url = "tcp://127.0.0.1:{port}/{u}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def stored(db: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return dict(con.execute("SELECT m.name, COUNT(r.ts) FROM meters m LEFT JOIN readings r ON r.meter_id = m.id "
                                "GROUP BY m.name ORDER BY m.id").fetchall())
    finally:
        con.close()


def csv_rows(folder: Path) -> int:
    n = 0
    for f in folder.glob("*.csv"):
        with f.open(encoding="utf-8") as fh:
            n += max(0, sum(1 for _ in fh) - 1)  # minus the header
    return n


# ------------------------------------------------------------------------------ main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 min warm-up, 1 min measured")
    ap.add_argument("--meters", type=int, default=8)
    ap.add_argument("--warmup", type=float, default=None, help="seconds [default: 120, quick 60]")
    ap.add_argument("--window", type=float, default=None, help="measured seconds [default: 360, quick 60]")
    ap.add_argument("--poll", type=float, default=POLL,
                    help="poll interval, s, for investigations only (the goals are for the default 10 s)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    warmup = args.warmup if args.warmup is not None else (60.0 if args.quick else 120.0)
    window = args.window if args.window is not None else (60.0 if args.quick else 360.0)
    started = time.monotonic()
    print(f"bench/service.py {'--quick' if args.quick else '(full)'}: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(f"wattlog imported from {wattlog_source()}")
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    tmp = Path(tempfile.mkdtemp(prefix="wattlog-bench-service-"))
    data = tmp / "data"
    port = free_port()
    cfg = tmp / "site.toml"
    write_config(cfg, data, port, args.meters, args.poll)
    units = [a for u in range(1, args.meters + 1) for a in ("--unit", f"{u}={PROFILES[(u - 1) % len(PROFILES)]}")]
    sim_cmd = [str(WATTLOG), "sim", "--tcp", f"127.0.0.1:{port}", *units]
    run_cmd = [str(WATTLOG), "run", "--config", str(cfg)]
    print(f"temp dir {tmp}; df: {subprocess.run(['df', '-h', str(tmp)], capture_output=True, text=True, check=False).stdout.splitlines()[-1]}")
    print("simulator: " + " ".join(sim_cmd).replace(str(REPO) + "/", ""))
    print("service:   " + " ".join(run_cmd).replace(str(REPO) + "/", "") + "  (stdout > /dev/null)")
    local = datetime.now(ZoneInfo("Asia/Kuala_Lumpur"))
    print(f"site time zone Asia/Kuala_Lumpur (the default): local time at start {local:%H:%M} "
          f"(rollup work per write grows through the local day; this database starts empty)")
    print(f"warm-up {warmup:g} s, measured window {window:g} s, {args.meters} meters, poll {args.poll:g} s"
          f"{' (defaults)' if args.poll == POLL else ' (NOT the default: an investigation, goals do not apply)'}")

    # Baselines that need no service.
    bare = bare_python_rss()
    print(f"\nbaseline: bare `{Path(sys.executable).name} -c 'import time; time.sleep(...)'`: RSS {mb(bare)}")

    sim = svc = None
    sim_log = (tmp / "sim.log").open("wb")
    svc_err = (tmp / "service.stderr").open("wb")
    passed = False
    try:
        sim = subprocess.Popen(sim_cmd, stdin=subprocess.DEVNULL, stdout=sim_log, stderr=subprocess.STDOUT)
        if not wait_port(port, 30):
            raise RuntimeError(f"the simulator did not listen on port {port}; see {tmp / 'sim.log'}")
        t_start = time.monotonic()
        svc = subprocess.Popen(run_cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=svc_err)
        pid = svc.pid
        samples: list[tuple[float, int]] = []  # (seconds since start, RSS KiB)
        log = data / "wattlog.log"
        marks: dict[str, tuple[float, int]] = {}

        def sample() -> int:
            r = rss_kib(pid)
            if r is None or svc.poll() is not None:
                raise RuntimeError(f"the service exited ({svc.poll()}); see {tmp / 'service.stderr'}")
            samples.append((time.monotonic() - t_start, r))
            return r

        def first_reading() -> bool:
            db = data / "wattlog.db"
            if not db.exists():
                return False
            try:
                return sum(stored(db).values()) > 0
            except sqlite3.Error:
                return False

        # Warm-up: fine samples at first (the start-up share), then every second.
        while time.monotonic() - t_start < warmup:
            r = sample()
            t = samples[-1][0]
            if "started" not in marks and log.exists() and "wattlog started" in log.read_text(errors="replace"):
                marks["started"] = (t, r)
            if "first reading stored" not in marks and "started" in marks and first_reading():
                marks["first reading stored"] = (t, r)
            time.sleep(0.1 if t < 5 else 1.0)
        marks["end of warm-up"] = samples[-1]

        # Measured window.
        c0, w0, tc0 = cpu_seconds(pid), time.monotonic(), thread_cpu(pid)
        cpu_marks = [(w0, c0)]
        window_rss: list[int] = []
        while time.monotonic() - w0 < window:
            time.sleep(1.0)
            window_rss.append(sample())
            now = time.monotonic()
            if now - cpu_marks[-1][0] >= 10.0:
                cpu_marks.append((now, cpu_seconds(pid)))
        c1, w1, tc1 = cpu_seconds(pid), time.monotonic(), thread_cpu(pid)
        cpu_marks.append((w1, c1))
        n_threads = threads(pid)
        marks["end of window"] = samples[-1]
        assert c0 is not None and c1 is not None
        cpu_pct = 100 * (c1 - c0) / (w1 - w0)
        per10 = [100 * (b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(cpu_marks, cpu_marks[1:]) if b[0] - a[0] > 1]

        # Stop: SIGTERM, the service drains its sinks and exits.
        t_stop = time.monotonic()
        svc.send_signal(signal.SIGTERM)
        code = svc.wait(timeout=60)
        run_s = t_stop - t_start
        print(f"\nservice ran {run_s:.0f} s, stopped with SIGTERM in {time.monotonic() - t_stop:.1f} s, exit status {code}; "
              f"{n_threads} threads")

        # What was stored.
        per_meter = stored(data / "wattlog.db")
        total = sum(per_meter.values())
        counts = sorted(set(per_meter.values()))
        cycles = min(per_meter.values()) if per_meter else 0
        text = log.read_text(errors="replace") if log.exists() else ""
        taken = [int(line.split("wattlog stopped: ")[1].split()[0]) for line in text.splitlines()
                 if "wattlog stopped: " in line]
        csv_n = csv_rows(data / "csv")
        problems = [line for line in text.splitlines() if " ERROR " in line or " WARNING " in line]
        count_ok = (len(counts) == 1 and total == args.meters * cycles and taken == [total] and csv_n == total
                    and len(per_meter) == args.meters)
        print(f"stored: {total} readings in SQLite = {args.meters} meters x {cycles} cycles "
              f"({'every meter ' + str(cycles) if len(counts) == 1 else 'per meter ' + str(per_meter)}); "
              f"expected about {run_s / args.poll:.0f} cycles for {run_s:.0f} s; service log: "
              f"{taken[0] if taken else '?'} readings taken this run; CSV rows: {csv_n} -> "
              f"{'OK' if count_ok else 'MISMATCH'}")
        if problems:
            print(f"log warnings/errors: {len(problems)}, first: {problems[0]}")

        # RSS.
        run_rss = [r for t, r in samples]
        rss_max = max(run_rss)
        win_max, win_end = max(window_rss), window_rss[-1]
        print("\nRSS of the service (VmRSS):")
        print(f"  bare interpreter (baseline)          {mb(bare)}")
        first = next(((t, r) for t, r in samples if t >= 1.0), samples[0])
        shown = {**marks, "first sample from 1 s on": first}
        for name, (t, r) in sorted(shown.items(), key=lambda kv: kv[1][0]):
            print(f"  {t:5.1f} s {name + ':':<28} {mb(r)}")
        print(f"  window: max {mb(win_max)}, end {mb(win_end)}, min {mb(min(window_rss))}; "
              f"growth over the window {(win_end - window_rss[0]):+d} KiB")
        print(f"  largest sample from start to stop: {mb(rss_max)}")
        step = 60.0 if run_s > 300 else 10.0
        timeline, nxt = [], step
        for t, r in samples:
            if t >= nxt:
                timeline.append(f"{t:.0f}s {r / 1024:.1f}")
                nxt += step
        print(f"  every {step:g} s (MiB): " + ", ".join(timeline))
        start_rss = marks.get("started", first)[1]
        print(f"  shares at the end: interpreter {mb(bare)}; libraries and start-up {mb(start_rss - bare)}; "
              f"growth since start {mb(win_end - start_rss)}")

        # CPU.
        print(f"\nCPU of the service over the {w1 - w0:.0f} s window: {c1 - c0:.2f} s = {cpu_pct:.2f} % of one core "
              f"(per 10 s slice: median {statistics.median(per10):.2f} %, max {max(per10):.2f} %)")
        minutes = [100 * (b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(cpu_marks[::6], cpu_marks[6::6])]
        if len(minutes) > 1:
            print("  per minute (%): " + ", ".join(f"{x:.2f}" for x in minutes))
        zero = (0.0, 0.0)
        main_u, main_s = (a - b for a, b in zip(tc1.get(pid, zero), tc0.get(pid, zero)))
        others = [sum(v) - sum(tc0.get(t, zero)) for t, v in sorted(tc1.items()) if t != pid]
        names = ["spool", "database sink", "CSV (asyncio.to_thread)"]  # the order the service starts them
        print(f"  by thread: main (event loop: polling, spool flushes, summaries) {main_u + main_s:.2f} s "
              f"(user {main_u:.2f}, system {main_s:.2f}); other threads, in order of creation: "
              + ", ".join(f"{names[i] if i < len(names) else 'thread'} {v:.2f} s" for i, v in enumerate(others)))
        print(f"  CPU from start to the end of the warm-up (start-up included): {c0:.2f} s in {marks['end of warm-up'][0]:.0f} s")

        # Imports.
        print("\nfor information, RSS of a fresh interpreter after importing (each alone):")
        for mod, kib in import_rss():
            print(f"  {mod:<28} {mb(kib) if kib >= 0 else 'failed'}")

        ok_rss = rss_max * 1024 <= GOAL_RSS_MB * 1e6
        ok_cpu = cpu_pct <= GOAL_CPU_PCT
        passed = ok_rss and ok_cpu and count_ok and code == 0
        print(f"\nGOAL RSS <= {GOAL_RSS_MB:g} MB: largest {mb(rss_max)}  {'PASS' if ok_rss else 'FAIL'}")
        print(f"GOAL CPU <= {GOAL_CPU_PCT:g} % of one core: {cpu_pct:.2f} %  {'PASS' if ok_cpu else 'FAIL'}")
        if not count_ok:
            print("CHECK FAILED: stored readings do not match 8 x cycles / the service's count / the CSV rows")
    finally:
        for p in (svc, sim):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        sim_log.close()
        svc_err.close()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"run time {time.monotonic() - started:.0f} s")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
