#!/usr/bin/env python3
"""Archive benchmark (issue 14): bytes per raw reading in the monthly .csv.gz archive and in the
daily CSV files, against SQLite's bytes per raw reading measured in the same run.

    .venv/bin/python bench/archive.py            # 4 meters x 7 days at 10 s (241,920 readings)
    .venv/bin/python bench/archive.py --quick    # 2 meters x 1 day (17,280 readings)

Readings: simulated RX380 meters (wattlog.sim.model.Site, daily load profiles, values rounded to
the register resolution, all 18 canonical quantities), 10 s apart, in October 2026 (local time).
Baseline: the SQLite file's growth for those raw readings (Store._write without rollups, WAL
checkpointed), bytes / reading. Subject: store/archive.py's October files as the service writes
them (gzip level 6, one day appended per run, as a gzip member), bytes / reading, and the same readings through the CSV sink (a plain day file,
then gzipped as csvkeep.py does when the day closes). Also timed: archiving (read, gzip, fsync,
delete) against `wattlog export`'s CSV of the same rows to /dev/null, rows per second.
A meter-year is 3,153,600 readings at 10 s.
"""

from __future__ import annotations

import argparse
import gzip
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from wattlog.quantities import QUANTITIES
from wattlog.reading import Reading
from wattlog.sim.model import PROFILES, Site, rx380
from wattlog.sinks.csvfiles import CsvSink
from wattlog.sinks.csvkeep import compress
from wattlog.store import Store
from wattlog.store.archive import archive
from wattlog.store.export import export_rows

REPO = Path(__file__).resolve().parent.parent
TZ = "Asia/Kuala_Lumpur"
POLL = 10.0
YEAR = 365 * 86400 / POLL


def make_readings(meters: int, days: int) -> list[Reading]:
    profiles = list(PROFILES)
    site = Site({u: profiles[(u - 1) % len(profiles)] for u in range(1, meters + 1)}, seed=1, tz=TZ)
    regs = [r for r in rx380().registers if r.name in QUANTITIES]
    start = datetime(2026, 10, 5, tzinfo=ZoneInfo(TZ)).astimezone(timezone.utc)
    out = []
    for c in range(int(days * 86400 / POLL)):
        t = start + timedelta(seconds=POLL * c)
        for u in range(1, meters + 1):
            v = site.snapshot(u, t)
            out.append(Reading(f"meter{u}", t, "rx380", {r.name: round(v[r.name] / r.factor) * r.factor for r in regs}))
    return out


def db_bytes(path: Path) -> int:
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return path.stat().st_size


def one_run(stream: list[Reading], days: int, folder: Path) -> dict[str, float]:
    n = len(stream)
    path = folder / "w.db"
    store = Store(f"sqlite:///{path}", site="bench", tz=TZ, gap_seconds=60)
    store.migrate()
    for m in sorted({r.meter for r in stream}):
        store.ensure_meter(m)
    empty = db_bytes(path)
    for i in range(0, n, 2000):
        store._write(stream[i:i + 2000], rollups=False)  # raw rows only: what the archive takes out
    sqlite_row = (db_bytes(path) - empty) / n

    with open("/dev/null", "w") as sink:
        t0 = time.perf_counter()
        assert export_rows(store, fmt="csv", out=sink) == n
        export_s = time.perf_counter() - t0

    archived = deleted = 0
    t0 = time.perf_counter()
    for d in range(1, days + 1):  # as the service does: a day more each day, appended to the month's file
        before = datetime(2026, 10, 5 + d, tzinfo=ZoneInfo(TZ)).astimezone(timezone.utc)
        result = archive(store, folder / "arch", before)
        archived, deleted = archived + result.archived, deleted + result.deleted
    archive_s = time.perf_counter() - t0
    assert archived == n == deleted, (archived, deleted, n)
    files = list((folder / "arch" / "bench").glob("*.csv.gz"))
    gz_bytes = sum(f.stat().st_size for f in files)
    raw_csv = sum(len(gzip.decompress(f.read_bytes())) for f in files)
    gz9 = sum(len(gzip.compress(gzip.decompress(f.read_bytes()), 9)) for f in files)
    store.close()

    csv_dir = folder / "csv"
    sink = CsvSink(csv_dir, ZoneInfo(TZ), {}, period=0)
    for i in range(0, n, 500):
        sink._write(stream[i:i + 500])
    plain = sum(p.stat().st_size for p in csv_dir.glob("*.csv"))
    for p in list(csv_dir.glob("*.csv")):
        compress(p)
    daily_gz = sum(p.stat().st_size for p in csv_dir.glob("*.csv.gz"))
    return {"sqlite": sqlite_row, "archive": gz_bytes / n, "archive_plain": raw_csv / n, "archive_gz9": gz9 / n,
            "daily_plain": plain / n, "daily_gz": daily_gz / n, "export_rate": n / export_s,
            "archive_rate": n / archive_s}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=0)
    args = ap.parse_args()
    meters, days = (2, 1) if args.quick else (4, 7)
    rounds = args.rounds or (1 if args.quick else 3)
    stream = make_readings(meters, days)
    print(f"{meters} meters x {days} day(s) at {POLL:g} s: {len(stream):,} readings; {rounds} round(s); "
          f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}")
    runs = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(dir=REPO, prefix=".bench-archive-") as tmp:
            runs.append(one_run(stream, days, Path(tmp)))

    def span(key: str, fmt: str = "{:.1f}") -> str:
        lo, hi = min(r[key] for r in runs), max(r[key] for r in runs)
        return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}-{fmt.format(hi)}"

    print(f"\n{'bytes per reading':38} {'bytes':>10} {'x SQLite':>9} {'MB per meter-year':>18}")
    for key, label in [("sqlite", "SQLite raw rows (baseline)"), ("archive", "archive .csv.gz (gzip 6, as written)"),
                       ("archive_gz9", "  same CSV at gzip 9 (for information)"),
                       ("archive_plain", "  same CSV uncompressed"), ("daily_plain", "daily CSV file, plain (today)"),
                       ("daily_gz", "daily CSV file, gzipped (closed day)")]:
        ratio = max(r[key] / r["sqlite"] for r in runs)
        print(f"{label:38} {span(key):>10} {ratio:>9.3f} {runs[0][key] * YEAR / 1e6:>18.0f}")
    print(f"\narchive (read, gzip, fsync, delete): {span('archive_rate', '{:,.0f}')} readings/s; "
          f"export CSV to /dev/null: {span('export_rate', '{:,.0f}')} readings/s; ratio "
          f"{min(r['archive_rate'] / r['export_rate'] for r in runs):.2f}-"
          f"{max(r['archive_rate'] / r['export_rate'] for r in runs):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
