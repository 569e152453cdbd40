"""SinkWorker on a spool whose disk fills up (a real 2 MB tmpfs): it never ends silently, says so
once, marks its state, retries with backoff and delivers everything exactly once when freed."""

from __future__ import annotations

import asyncio
import csv
import logging
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from wattlog.reading import Reading
from wattlog.sinks.base import SinkWorker
from wattlog.sinks.csvfiles import CsvSink
from wattlog.sinks.spool import Spool

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)


def readings(n: int, start: int = 0) -> list[Reading]:
    return [Reading("m", T0 + timedelta(seconds=start + i), "rx380", {"total_real_power": float(start + i)})
            for i in range(n)]


def test_a_full_disk_under_the_spool_only_delays_the_sink(small_fs, tmp_path, caplog):
    spool = Spool(small_fs.path / "spool.db")
    sink = CsvSink(tmp_path / "csv", ZoneInfo("Asia/Kuala_Lumpur"), {"m": "office"}, period=0)
    # Several acknowledgements: each appends a 1 KB page to the spool's WAL, and the first may still
    # fit in the last block the file already has on the full disk.
    sink.batch = 5
    worker = SinkWorker(sink, spool, backoff_max=0.2)
    seen: dict = {}

    async def go() -> None:
        await spool.register(sink.name)
        await spool.append(readings(40))
        small_fs.fill()  # the acknowledgement after the CSV write now fails: disk full
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        for _ in range(50):
            await asyncio.sleep(0.1)
            if worker.state == "spool error":
                break
        await asyncio.sleep(1.0)  # several retries while full
        seen["state"], seen["alive"] = worker.state, not task.done()
        small_fs.free()
        worker.wake()
        for _ in range(50):
            await asyncio.sleep(0.1)
            if worker.state == "ok" and not await spool.pending(sink.name):
                break
        seen["after"], seen["pending"] = worker.state, await spool.pending(sink.name)
        stop.set()
        await asyncio.wait_for(task, 5)
        await spool.close()

    with caplog.at_level(logging.INFO, logger="wattlog"):
        asyncio.run(go())
    assert seen["alive"], "the worker task must not end on a spool error"
    assert seen["state"] == "spool error"
    assert seen["after"] == "ok" and seen["pending"] == 0
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "cannot acknowledge the spool" in errors[0] and "full" in errors[0], errors
    assert any("the spool works again" in r.getMessage() for r in caplog.records)
    rows = []
    for path in sorted((tmp_path / "csv").glob("*.csv")):
        with path.open(newline="") as f:
            rows.extend(csv.DictReader(f))
    assert [float(r["total_real_power"]) for r in rows] == [float(i) for i in range(40)], "each row once"
