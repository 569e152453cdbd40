"""A power cut under the running service (tests/powercut.py: ext4 shut down without flushing):
nothing the spool acknowledged as spooled, and nothing a sink acknowledged, is lost."""

from __future__ import annotations

import asyncio
import csv
import logging
import sqlite3
from pathlib import Path

from test_service import UNITS, run_for, simulator, site_config  # noqa: F401 — the fixture too

from wattlog.service.runner import Service
from wattlog.sinks.spool import unpack


def spool_rows(data: Path) -> tuple[dict[int, tuple[str, str]], dict[str, int]]:
    with sqlite3.connect(data / "spool.db") as db:
        rows = {seq: unpack(d) for seq, d in db.execute("SELECT seq, data FROM spool")}
        cursors = dict(db.execute("SELECT sink, seq FROM cursors"))
    return {seq: (r.meter, r.timestamp.isoformat()) for seq, r in rows.items()}, cursors


def test_power_cut_loses_nothing_acknowledged(ext4_fs, simulator, caplog):  # noqa: F811
    data = ext4_fs.path / "data"
    cfg = site_config(simulator.endpoints[0], data, poll="0.2s", csv_every="1s")
    svc = Service(cfg)
    seen: dict = {}

    async def cut(svc: Service) -> None:
        await asyncio.sleep(3.3)
        await asyncio.to_thread(ext4_fs.cut)
        seen["spooled"] = svc.spooled
        await asyncio.sleep(1.0)

    with caplog.at_level(logging.INFO, logger="wattlog"):
        run_for(svc, 0, during=cut)
    ext4_fs.remount()
    spooled, cursors = spool_rows(data)
    assert seen["spooled"] >= 20 and len(spooled) >= seen["spooled"], "a reading spooled is a reading kept"
    # the database sink: every reading it acknowledged is in the database
    acked = [seq for seq in spooled if seq <= cursors.get("db:main", 0)]
    assert acked, "the database had acknowledged readings before the cut"
    with sqlite3.connect(data / "wattlog.db") as db:
        try:
            stored = set(db.execute("SELECT m.name, r.ts FROM readings r JOIN meters m ON m.id = r.meter_id"))
        except sqlite3.OperationalError:  # with synchronous=NORMAL even the schema was still in the WAL
            stored = set()
    assert len(stored) >= len(acked), f"{len(acked) - len(stored)} acknowledged readings lost by the database"
    # the CSV sink likewise
    rows = []
    for path in sorted((data / "csv").glob("*.csv")):
        with path.open(newline="") as f:
            rows.extend(csv.DictReader(f))
    csv_acked = [seq for seq in spooled if seq <= cursors.get("csv", 0)]
    assert len(rows) >= len(csv_acked), f"{len(csv_acked) - len(rows)} acknowledged readings lost by the CSV"
    print(f"power cut: {seen['spooled']} spooled, {len(spooled)} in the spool after the cut, "
          f"db acked {len(acked)} / stored {len(stored)}, csv acked {len(csv_acked)} / rows {len(rows)}")
