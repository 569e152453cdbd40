#!/usr/bin/env python3
"""Web benchmark (issue 9): latency of the REST API under loopback load while 8 simulated meters poll,
the overview's bytes, and the service's RSS and CPU with the dashboard on beside the same run with --no-web.

    .venv/bin/python bench/web.py            # 60 s load, 60 s idle windows (~5 min)
    .venv/bin/python bench/web.py --quick    # 20 s load, 30 s idle windows (~2.5 min)

What runs, each its own process: `wattlog sim` with 8 unit ids, and `wattlog run --config` polling them
(poll 10 s, the default) with the dashboard on 127.0.0.1. The database is made first: a year of 15-minute
history for one more meter ("history", 35,040 readings written through the Store with a 20-minute gap
limit, so every quarter has energy and power), which the service then keeps writing beside.

Load: this script's threads (one keep-alive connection each) send requests at a fixed total rate (>= 200
per second) for the window: 90 % GET /api/v1/latest, 5 % GET /api/v1/history of a polled meter over 24 h
(auto resolution), 5 % GET /api/v1/history of the year meter over a year at 1h resolution. Latency is
measured from send to the last byte. Baseline in the same run: GET /api/v1/health under the same load
(1 request in 20 replaces a latest), so ratios show what the endpoint's own work costs.
Overview bytes: what a first load of / transfers (page, CSS, JS, /api/v1/sites, /api/v1/latest).
RSS/CPU: after a warm-up, an idle window (no requests) with the web on, then a fresh service with
--no-web over the same database; RSS is the largest sample, CPU is utime + stime over the window.
Goals: p99 <= 50 ms (latest), <= 200 ms (a year hourly); overview <= 500 kB; the web adds <= 30 MB RSS and
<= 1 % of a core at idle. Exit status 0 when all pass.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WATTLOG = Path(sys.executable).parent / "wattlog"
PROFILES = ["office", "workshop", "aircon", "production", "retail", "cold_room"]
CLK_TCK = os.sysconf("SC_CLK_TCK")
GOALS = {"missed_cycles": 0, "latest_p99_ms": 50.0, "year_p99_ms": 200.0, "overview_kb": 500.0, "rss_mb": 30.0, "cpu_pct": 1.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def make_history(url: str, days: int = 365) -> int:
    """A year of 15-minute readings of one meter, rollups kept current by the Store."""
    sys.path.insert(0, str(REPO / "src"))
    from wattlog.reading import Reading
    from wattlog.store import Store

    store = Store(url, site="bench", tz="Asia/Kuala_Lumpur", gap_seconds=1200)
    store.migrate()
    store.ensure_meter("history", location="Year meter")
    end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    t = end - timedelta(days=days)
    batch, n = [], 0
    while t < end:
        hour = (t.hour + 8) % 24
        p = 20_000 + 15_000 * (8 <= hour < 18) + 1_000 * ((n * 7919) % 13) / 13
        batch.append(Reading("history", t, "rx380", {"total_real_power": p, "voltage_l1": 230.0, "voltage_l2": 231.0,
                                                     "voltage_l3": 229.0, "current_l1": p / 690, "frequency": 50.0,
                                                     "total_power_factor": 0.93}))
        n += 1
        t += timedelta(minutes=15)
        if len(batch) >= 5000:
            store.write(batch, defer=True)
            batch = []
    store.write(batch, defer=True)
    store.refresh_pending()
    store.close()
    return n


def write_config(path: Path, data: Path, sim_port: int, web_port: int) -> None:
    lines = ["[site]", 'name = "bench"', f'data_dir = "{data}"', "[csv]", "enabled = false",
             "[web]", f'listen = "127.0.0.1:{web_port}"', ""]
    for u in range(1, 9):
        lines += ["[[meters]]", f'name = "{PROFILES[(u - 1) % len(PROFILES)]}{u}"', f'url = "tcp://127.0.0.1:{sim_port}/{u}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, int]:
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    return r.status, len(body)


def wait_http(port: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            if get(c, "/api/v1/health")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the dashboard on port {port} did not answer")


def load(port: int, rate: float, seconds: float, procs: int = 4) -> dict[str, list[float]]:
    """`procs` client processes share the rate (one Python client would measure its own GIL queue)."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(procs) as pool:
        parts = pool.starmap(_load_part, [(port, rate / procs, seconds, i / rate) for i in range(procs)])
    out: dict[str, list[float]] = {}
    for part, errors in parts:
        for k, v in part.items():
            out.setdefault(k, []).extend(v)
    done = sum(len(v) for v in out.values())
    errs = [e for _, es in parts for e in es]
    print(f"  load: {done} requests in {seconds:.0f} s = {done / seconds:.0f} req/s (asked {rate:.0f}) from {procs} "
          f"processes; errors: {len(errs)}" + (f" e.g. {errs[0]}" if errs else ""))
    return out


def _load_part(port: int, rate: float, seconds: float, offset: float, threads: int = 4) -> tuple[dict, list]:
    """Requests at `rate` per second in total for `seconds`; latencies (ms) by kind."""
    now = datetime.now(timezone.utc)
    year = (f"/api/v1/history?meter=history&resolution=1h&start={(now - timedelta(days=365)).isoformat()}"
            f"&end={now.isoformat()}").replace("+", "%2B")
    kinds = {"latest": "/api/v1/latest", "history 24 h": "/api/v1/history?meter=office1",
             "year hourly": year, "health (baseline)": "/api/v1/health"}
    plan = []  # per 20 requests: 17 latest, 1 health, 1 history 24 h, 1 year hourly
    for i in range(20):
        plan.append("history 24 h" if i == 5 else "year hourly" if i == 15 else "health (baseline)" if i == 10 else "latest")
    out: dict[str, list[float]] = {k: [] for k in kinds}
    errors: list[str] = []
    lock = threading.Lock()
    start = time.monotonic() + 0.5 + offset
    total = int(rate * seconds)

    def worker(w: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in range(w, total, threads):
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            kind = plan[i % len(plan)]
            t0 = time.perf_counter()
            try:
                status, _ = get(conn, kinds[kind])
            except (OSError, http.client.HTTPException) as exc:
                errors.append(str(exc))
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                out[kind].append(ms)
                if status != 200:
                    errors.append(f"{kind}: HTTP {status}")

    ts = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out, errors


def year_cold(port: int, n: int = 8) -> list[float]:
    """A year at 1 h with start times a quarter hour apart: each one misses the cache."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    now = datetime.now(timezone.utc)
    out = []
    for i in range(n):
        s = (now - timedelta(days=365, minutes=15 * (i + 1))).isoformat().replace("+", "%2B")
        t0 = time.perf_counter()
        get(conn, f"/api/v1/history?meter=history&resolution=1h&start={s}&end={now.isoformat().replace('+', '%2B')}")
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))] if values else float("nan")


def overview_bytes(port: int) -> dict[str, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    out = {}
    status, size = get(conn, "/")
    out["/"] = size
    conn.request("GET", "/")
    page = conn.getresponse().read().decode()
    import re

    for ref in re.findall(r'(?:href|src)="(/static/[^"]+)"', page):
        out[ref] = get(conn, ref)[1]
    out["/api/v1/sites"] = get(conn, "/api/v1/sites")[1]
    out["/api/v1/latest"] = get(conn, "/api/v1/latest")[1]
    return out


def idle(pid: int, seconds: float) -> tuple[float, float]:
    """(largest RSS MB, CPU % of one core) over an idle window."""
    c0, t0, peak = cpu_seconds(pid), time.monotonic(), 0
    end = t0 + seconds
    while time.monotonic() < end:
        peak = max(peak, rss_kib(pid))
        time.sleep(1)
    return peak * 1024 / 1e6, 100 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rate", type=float, default=220.0)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    window, idle_s, warm = (20.0, 30.0, 20.0) if args.quick else (60.0, 60.0, 30.0)
    tmp = Path(tempfile.mkdtemp(prefix="wattlog-bench-web-"))
    procs: list[subprocess.Popen] = []
    results: dict[str, float] = {}
    try:
        db = tmp / "wattlog.db"
        t0 = time.monotonic()
        n = make_history(f"sqlite:///{db}")
        print(f"history: {n:,} readings of one meter (a year at 15 min) in {time.monotonic() - t0:.1f} s")
        sim_port, web_port = free_port(), free_port()
        units = [f"--unit={u}={PROFILES[(u - 1) % len(PROFILES)]}" for u in range(1, 9)]
        procs.append(subprocess.Popen([str(WATTLOG), "sim", "--tcp", f"127.0.0.1:{sim_port}", *units],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        cfg = tmp / "site.toml"
        write_config(cfg, tmp, sim_port, web_port)

        def service(*extra: str) -> subprocess.Popen:
            p = subprocess.Popen([str(WATTLOG), "run", "--config", str(cfg), *extra], stdout=subprocess.DEVNULL,
                                 stderr=open(tmp / "service.err", "a"))
            procs.append(p)
            return p

        svc = service()
        wait_http(web_port)
        print(f"service with the dashboard: pid {svc.pid}; warming up {warm:.0f} s")
        time.sleep(warm)
        sizes = overview_bytes(web_port)
        total_kb = sum(sizes.values()) / 1000
        print(f"overview first load: {total_kb:.1f} kB ({', '.join(f'{k} {v:,}' for k, v in sizes.items())})")
        results["overview_kb"] = total_kb
        mb_web, cpu_web = idle(svc.pid, idle_s)
        print(f"idle with web ({idle_s:.0f} s): RSS {mb_web:.1f} MB, CPU {cpu_web:.2f} % of a core")
        print(f"load {window:.0f} s at {args.rate:.0f} req/s while 8 meters poll every 10 s:")
        lat = load(web_port, args.rate, window)
        base = statistics.median(lat["health (baseline)"]) if lat["health (baseline)"] else float("nan")
        print(f"  {'endpoint':<18} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'p50 / health p50':>17}")
        for kind, values in lat.items():
            p50, p99 = pct(values, 50), pct(values, 99)
            print(f"  {kind:<18} {len(values):>6} {p50:>8.1f} {p99:>8.1f} {p50 / base:>16.1f}x")
        conn = http.client.HTTPConnection("127.0.0.1", web_port, timeout=10)
        conn.request("GET", "/api/v1/buses")
        bus = json.loads(conn.getresponse().read())
        print(f"  polling meanwhile: {sum(b['cycles'] for b in bus)} cycles, {sum(b['missed_cycles'] for b in bus)} missed, "
              f"{sum(b['no_answer'] + b['link_errors'] for b in bus)} failed requests (the web must not slow the pollers)")
        results["missed_cycles"] = sum(b["missed_cycles"] for b in bus)
        cold = year_cold(web_port)
        print(f"  year hourly, cold (a new span each, no cache; sequential, after the load): p50 {pct(cold, 50):.0f} ms, "
              f"max {max(cold):.0f} ms over {len(cold)}")
        results["latest_p99_ms"] = pct(lat["latest"], 99)
        results["year_p99_ms"] = pct(lat["year hourly"], 99)
        os.kill(svc.pid, signal.SIGTERM)
        svc.wait(60)
        svc2 = service("--no-web")
        time.sleep(warm)
        mb_plain, cpu_plain = idle(svc2.pid, idle_s)
        print(f"idle with --no-web ({idle_s:.0f} s): RSS {mb_plain:.1f} MB, CPU {cpu_plain:.2f} % of a core")
        results["rss_mb"] = mb_web - mb_plain
        results["cpu_pct"] = cpu_web - cpu_plain
        print(f"web adds: RSS {results['rss_mb']:+.1f} MB ({mb_web / mb_plain:.2f}x), CPU {results['cpu_pct']:+.2f} % "
              f"of a core ({cpu_web / max(cpu_plain, 1e-9):.2f}x)")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    ok = True
    for key, goal in GOALS.items():
        passed = results.get(key, float("inf")) <= goal
        ok &= passed
        value = results.get(key, float("nan"))
        share = f" ({value / goal:.2f} of the goal)" if goal else ""
        print(f"goal {key} <= {goal:g}: {value:.2f}{share} {'PASS' if passed else 'FAIL'}")
    print(json.dumps(results))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
