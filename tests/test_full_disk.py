"""The service on a disk that fills up (a real 2 MB tmpfs): polling goes on, the readings held in
memory at the stop are counted and logged with their cause, and the closing line is right."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3

from test_service import run_for, simulator, site_config  # noqa: F401 — the fixture too

from wattlog.service.runner import Service


def test_a_full_disk_at_the_stop_is_counted_not_silent(small_fs, simulator, caplog):  # noqa: F811
    data = small_fs.path / "data"
    cfg = site_config(simulator.endpoints[0], data, poll="0.2s", csv_every="1s")
    svc = Service(cfg)

    async def fill(svc: Service) -> None:
        await asyncio.sleep(1.5)
        await asyncio.to_thread(small_fs.fill)
        await asyncio.sleep(2.5)

    with caplog.at_level(logging.INFO, logger="wattlog"):
        run_for(svc, 0, during=fill)
    small_fs.free()
    with sqlite3.connect(data / "spool.db") as db:
        in_spool = db.execute("SELECT COUNT(*) FROM spool").fetchone()[0]
    lost = svc.taken - svc.spooled
    assert lost > 0 and svc.spooled == in_spool, (svc.taken, svc.spooled, in_spool)
    msgs = [r.getMessage() for r in caplog.records]
    lost_lines = [m for m in msgs if "never spooled and are lost" in m]
    assert len(lost_lines) == 1 and lost_lines[0].startswith(f"{lost} readings") and "full" in lost_lines[0], msgs
    closing = [m for m in msgs if m.startswith("wattlog stopped")]
    assert closing == [f"wattlog stopped: {svc.taken} readings taken this run, {in_spool} spooled, {lost} lost"]
    taken = int(re.search(r"(\d+) readings taken", closing[0]).group(1))
    assert taken == in_spool + lost
