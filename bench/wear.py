#!/usr/bin/env python3
"""SD-card wear (issue 14): bytes the service writes to disk per reading, by setting and meter count.

    .venv/bin/python bench/wear.py            # 8, 32, 128 meters + the old settings at 32 (~25 min)
    .venv/bin/python bench/wear.py --quick    # the same runs, 120 s windows (~12 min)
    .venv/bin/python bench/wear.py --dir /mnt/sdcard/tmp   # on the card itself

Each run is a real `wattlog run --no-web` process with the defaults (SQLite in the data folder,
daily CSV, log file) against `wattlog sim --pace --baud 38400` on Modbus TCP (an RTU gateway: each
reply takes its wire time at 38400 baud plus 10 ms), N meters polled every 10 s, so a poll cycle is
spread over time as on an RS485 bus (32 meters: ~1.2 s, 128: ~4.5 s) instead of arriving at once. After a warm-up, the service's
`write_bytes` from /proc/PID/io (what it sent to the block layer: whole pages, counted when dirtied)
is read at the start of the window and again after it has stopped (SIGTERM; its last checkpoint
included, read from the zombie before it is reaped), and divided by the readings it stored in the
window. The database and spool are created by a first 15 s run beforehand (their creation is a
one-off); the measured run starts on them, as a service does after a restart. The baseline, in the same run, is the settings before issue 14 (spool fsync every 0.5 s,
SQLite written as soon as spooled), given as config keys. A power cut or kill -9 loses at most the
readings of the last spool flush interval: that is the "loss bound" column (tests/test_power_cut.py
and tests/test_service.py kill the service to check it).

SQLite writes each page twice: appended to the WAL at a commit, copied into the database file at a
checkpoint (every 1000 WAL pages, and at the stop). The stop's checkpoint is counted here and shared
by the window's readings only, so a short window overstates the steady state: use the full run.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from service import free_port, wait_port  # bench/service.py: the same helpers

REPO = Path(__file__).resolve().parent.parent
WATTLOG = Path(sys.executable).parent / "wattlog"
POLL = 10.0
GOAL_KIB = 3.0 * 1000 / 1024  # 3 KB (decimal) per reading at 32 meters, the goal
CARD_GB, CARD_TBW = 32, 10.0  # a 32 GB card assumed good for 10 TB written (about 300 full writes)


@dataclass(frozen=True)
class Setting:
    label: str
    toml: str  # added to the site's config
    loss: str  # what a power cut or kill -9 can cost


NEW = Setting("defaults (issue 14)", "", "readings of the last 5 s")
OLD = Setting("before issue 14", '[spool]\nflush = "0.5s"\n\n[[databases]]\nurl = "sqlite:///DATA/wattlog.db"\nevery = "0s"\n',
              "readings of the last 0.5 s")


def io(pid: int) -> dict[str, int]:
    with open(f"/proc/{pid}/io") as f:
        return {k: int(v) for k, v in (line.split(":") for line in f)}


def stored_since(db: Path, since: datetime) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT COUNT(*) FROM readings WHERE ts >= ?",
                           (since.strftime("%Y-%m-%d %H:%M:%S.%f"),)).fetchone()[0]
    finally:
        con.close()


def run(meters: int, setting: Setting, warmup: float, window: float, base: Path, baud: int) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="wear-", dir=base))
    data = tmp / "data"
    port = free_port()
    lines = ["[site]", 'name = "bench"', f'data_dir = "{data}"', "", setting.toml.replace("DATA", str(data)), ""]
    for u in range(1, meters + 1):
        lines += ["[[meters]]", f'name = "m{u}"', f'url = "tcp://127.0.0.1:{port}/{u}"', ""]
    (tmp / "site.toml").write_text("\n".join(lines), encoding="utf-8")
    units = [a for u in range(1, meters + 1) for a in ("--unit", f"{u}=office")]
    sim = subprocess.Popen([str(WATTLOG), "sim", "--tcp", f"127.0.0.1:{port}", "--pace", "--baud", str(baud), *units],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    svc = None
    try:
        if not wait_port(port, 30):
            raise RuntimeError("the simulator did not start")
        cmd = [str(WATTLOG), "run", "--no-web", "--config", str(tmp / "site.toml")]
        # A first run creates the database and the spool, then stops (checkpointing both): their
        # creation is a one-off, not what a site writes day after day. The second run is measured.
        svc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=(tmp / "stderr").open("wb"))
        time.sleep(15)
        svc.send_signal(signal.SIGTERM)
        svc.wait()
        svc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=(tmp / "stderr").open("ab"))
        time.sleep(warmup)
        if svc.poll() is not None:
            raise RuntimeError(f"the service exited: {(tmp / 'stderr').read_text()[-500:]}")
        start, t0, a = datetime.now(timezone.utc).replace(tzinfo=None), time.monotonic(), io(svc.pid)
        time.sleep(window)
        end = datetime.now(timezone.utc).replace(tzinfo=None)
        svc.send_signal(signal.SIGTERM)
        os.waitid(os.P_PID, svc.pid, os.WEXITED | os.WNOWAIT)  # a zombie still has its /proc/PID/io
        b, t1 = io(svc.pid), time.monotonic()
        svc.wait()
        n = stored_since(data / "wattlog.db", start)
        written = b["write_bytes"] - a["write_bytes"]
        return {"meters": meters, "readings": n, "seconds": (end - start).total_seconds(), "bytes": written,
                "cancelled": b["cancelled_write_bytes"] - a["cancelled_write_bytes"], "stop_s": t1 - t0 - window}
    finally:
        for p in (svc, sim):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="120 s measured windows instead of 300 s")
    ap.add_argument("--meters", type=int, nargs="*", default=[8, 32, 128])
    ap.add_argument("--dir", type=Path, default=None, help="where the data folders go [a temporary directory]")
    ap.add_argument("--baud", type=int, default=38400, help="the paced simulator's baud rate")
    args = ap.parse_args()
    warmup, window = 30.0, 120.0 if args.quick else 300.0
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    base = args.dir or Path(tempfile.gettempdir())
    print(f"bench/wear.py{' --quick' if args.quick else ''}: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"commit {commit}, nproc {os.cpu_count()}, data on {base}")
    print(f"each run: warm-up {warmup:g} s, window {window:g} s, poll {POLL:g} s, simulator paced at "
          f"{args.baud} baud; write_bytes of the service from /proc/PID/io, its stop included\n")
    runs = [(32, OLD)] + [(m, NEW) for m in args.meters]
    results = []
    for meters, setting in runs:
        r = run(meters, setting, warmup, window, base, args.baud)
        results.append((setting, r))
        print(f"  ran {meters:4d} meters, {setting.label}: {r['readings']} readings, {r['bytes'] / 1e6:.2f} MB "
              f"written ({r['cancelled'] / 1e6:.2f} MB cancelled), stop took {r['stop_s']:.1f} s", flush=True)
    baseline = results[0][1]
    base_per = baseline["bytes"] / max(baseline["readings"], 1)
    print(f"\n| meters | settings | loss bound (power cut, kill -9) | bytes written per reading | vs before | "
          f"GB a day | years of a {CARD_GB} GB card good for {CARD_TBW:g} TB |")
    print("|---|---|---|---|---|---|---|")
    ok = True
    for setting, r in results:
        per = r["bytes"] / max(r["readings"], 1)
        per_day = r["bytes"] / r["seconds"] * 86400 / 1e9
        years = CARD_TBW * 1000 / per_day / 365 if per_day else float("inf")
        print(f"| {r['meters']} | {setting.label} | {setting.loss} | {per:,.0f} ({per / 1024:.2f} KiB) | "
              f"{per / base_per:.2f} | {per_day:.2f} | {years:.0f} |")
        if setting is NEW and r["meters"] == 32:
            ok = per <= 3000
            print(f"goal at 32 meters: <= 3,000 bytes per reading -> {per:,.0f}: {'PASS' if ok else 'FAIL'}",
                  file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
