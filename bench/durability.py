#!/usr/bin/env python3
"""What durable commits cost (issue 8, item 2): the store's SQLite with synchronous=FULL (what
wattlog uses since issue 8) against NORMAL (before), the way the service writes.

    .venv/bin/python bench/durability.py           # about a minute
    .venv/bin/python bench/durability.py --quick   # a few seconds

Two series per setting, each in a fresh database in DIR (default: a temp folder; give the SD
card's folder on a Pi, since fsync cost is the disk's):
  steady    one poll cycle per transaction (3 meters), as the sink writes every 0.5 s flush
  backlog   batches of 2000 (the sink's catch-up batch, rollups deferred)
Reported: ms per transaction, readings per second, and the bytes the process wrote to the disk
per reading (/proc/self/io write_bytes: the SD-card wear, target <= 3 KB per reading).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from wattlog.reading import Reading  # noqa: E402
from wattlog.store import Store  # noqa: E402

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
METERS = ("office", "workshop", "aircon")


def written() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def cycles(n: int, start: int) -> list[list[Reading]]:
    out = []
    for i in range(start, start + n):
        ts = T0 + timedelta(seconds=10 * i)
        out.append([Reading(m, ts, "rx380", {"total_real_power": 1000.0 + i, "voltage_l1": 230.0,
                                              "total_import_active_energy": 0.01 * i, "frequency": 50.0})
                    for m in METERS])
    return out


def run(folder: Path, sync: str, steady: int, backlog: int) -> dict[str, float]:
    path = folder / f"bench-{sync}.db"
    store = Store(f"sqlite:///{path}", site="bench")

    @event.listens_for(store.engine, "connect")
    def _sync(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute(f"PRAGMA synchronous={sync}")  # after the store's own pragmas

    store.migrate()
    for m in METERS:
        store.ensure_meter(m)
    res: dict[str, float] = {}
    batches = cycles(steady, 0)
    w0, t0 = written(), time.perf_counter()
    for b in batches:
        store.write(b)
    dt = time.perf_counter() - t0
    res["steady_ms"] = 1000 * dt / steady
    res["steady_bytes"] = (written() - w0) / (steady * len(METERS))
    flat = [r for b in cycles(backlog * 2000 // len(METERS) + 1, steady) for r in b][: backlog * 2000]
    w0, t0 = written(), time.perf_counter()
    for i in range(0, len(flat), 2000):
        store.write(flat[i:i + 2000], defer=True)
    store.refresh_pending()
    dt = time.perf_counter() - t0
    res["backlog_rps"] = len(flat) / dt
    res["backlog_bytes"] = (written() - w0) / len(flat)
    store.close()
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--dir", type=Path, default=None, help="where the databases go (the disk to measure)")
    a = ap.parse_args()
    steady, backlog = (100, 2) if a.quick else (600, 10)
    folder = a.dir or Path(tempfile.mkdtemp(prefix="wattlog-bench-"))
    print(f"SQLite store in {folder}: {steady} poll cycles of {len(METERS)} readings, then {backlog} x 2000")
    print(f"{'synchronous':12} {'steady ms/tx':>13} {'steady B/reading':>17} {'backlog readings/s':>19} "
          f"{'backlog B/reading':>18}")
    for sync in ("NORMAL", "FULL"):
        r = run(folder, sync, steady, backlog)
        print(f"{sync:12} {r['steady_ms']:13.2f} {r['steady_bytes']:17.0f} {r['backlog_rps']:19.0f} "
              f"{r['backlog_bytes']:18.0f}")


if __name__ == "__main__":
    main()
