"""The service end to end: simulator → spool → SQLite, PostgreSQL and CSV; a database outage in the
middle; kill -9 during writes; SIGTERM flushes everything."""

from __future__ import annotations

import asyncio
import csv
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wattlog.config import parse_config
from wattlog.service.logsetup import setup_logging
from wattlog.service.runner import Service
from wattlog.sim import SimOptions, SimThread
from wattlog.sinks.csvfiles import COLUMNS, LEGACY
from wattlog.store import Store

UNITS = {1: "office", 2: "workshop", 3: "aircon"}


def site_config(base: str, data_dir: Path, db_url: str | None = None, poll: str = "0.3s", csv_every: str = "1s",
                extra: dict | None = None):
    data = {"site": {"name": "t", "data_dir": str(data_dir)}, "intervals": {"poll": poll, "summary": 0, "csv": csv_every},
            "meters": [{"name": n, "url": f"{base}/{u}?timeout=0.3"} for u, n in UNITS.items()],
            "log": {"file": str(data_dir / "wattlog.log")}}
    # These tests poll every 0.3 s and look at the sinks while the service runs: spool and database at
    # once, not at the SD-card-saving defaults (5 s flush, SQLite once a minute; see test_wear_settings).
    data["spool"] = {"flush": "0.3s"}
    data["databases"] = [{"url": db_url or f"sqlite:///{data_dir / 'wattlog.db'}", "every": "0s"}]
    data.update(extra or {})
    return parse_config(data, "")


def csv_rows(folder: Path) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="") as f:
            lines = f.read().splitlines()
        assert lines[0].split(",") == COLUMNS
        for line in lines[1:]:
            assert line.count(",") == len(COLUMNS) - 1 or '"' in line, f"torn or malformed row: {line!r}"
        with path.open(newline="") as f:
            rows.extend(csv.DictReader(f))
    return rows


def run_for(svc: Service, seconds: float, during=None) -> None:
    async def go():
        task = asyncio.create_task(svc.run())
        if during:
            await during(svc)
        else:
            await asyncio.sleep(seconds)
        svc.stop.set()
        await task
    asyncio.run(go())


def db_keys(url: str) -> list[tuple[str, str]]:
    with Store(url, site="t") as store:
        return [(r["meter"], r["timestamp"].isoformat()) for r in store.readings()]


@pytest.fixture
def simulator():
    with SimThread(SimOptions(units=dict(UNITS), tcp=[("127.0.0.1", 0)])) as sim:
        yield sim


def test_simulator_to_sqlite_and_csv(simulator, tmp_path):
    cfg = site_config(simulator.endpoints[0], tmp_path / "data")
    svc = Service(cfg)
    run_for(svc, 2.5)
    keys = db_keys(cfg.databases[0].url)
    assert svc.spooled >= 9 and len(keys) == svc.spooled == len(set(keys))
    assert {m for m, _ in keys} == set(UNITS.values())
    rows = csv_rows(cfg.csv_dir)
    assert len(rows) == svc.spooled
    assert list(rows[0])[:len(LEGACY)] == LEGACY
    assert all(float(r["voltage_l1"]) > 200 for r in rows)
    with Store(cfg.databases[0].url, site="t") as store:
        roll = store.rollups("15m")
        assert roll and all(r["samples"] > 0 for r in roll)


def test_simulator_to_postgresql(simulator, tmp_path, pg_fresh):
    cfg = site_config(simulator.endpoints[0], tmp_path / "data", db_url=pg_fresh)
    svc = Service(cfg)
    run_for(svc, 2.0)
    keys = db_keys(cfg.databases[0].url)
    assert svc.spooled >= 6 and len(keys) == svc.spooled


def test_database_outage_loses_nothing_and_doubles_nothing(simulator, tmp_path, pg_cluster, caplog):
    cfg = site_config(simulator.endpoints[0], tmp_path / "data", db_url=pg_cluster.url)
    svc = Service(cfg)
    seen = {}

    async def outage(svc: Service) -> None:
        await asyncio.sleep(1.5)
        worker = svc.workers[0]
        assert worker.state == "ok" and worker.delivered > 0
        await asyncio.to_thread(pg_cluster.stop)
        await asyncio.sleep(2.5)
        seen["down"] = worker.state
        seen["pending"] = await svc.spool.pending(worker.sink.name)
        await asyncio.to_thread(pg_cluster.start)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (worker.state != "ok" or await svc.spool.pending(worker.sink.name)):
            await asyncio.sleep(0.2)
        seen["after"] = worker.state

    with caplog.at_level(logging.INFO, logger="wattlog"):
        run_for(svc, 0, during=outage)
    assert seen["down"] == "down" and seen["pending"] > 0, seen
    assert seen["after"] == "ok"
    keys = db_keys(pg_cluster.url)
    assert len(keys) == svc.spooled == len(set(keys)), "every reading stored once"
    assert len(csv_rows(cfg.csv_dir)) == svc.spooled
    msgs = [r.message for r in caplog.records]
    assert sum("db:main is down" in m for m in msgs) == 1
    assert sum("db:main is back" in m for m in msgs) == 1


def wattlog_run(config: Path, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "wattlog.cli", "run", "--no-web", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def write_config(path: Path, base: str, csv_every: str = "1s") -> None:
    meters = "".join(f'[[meters]]\nname = "{n}"\nurl = "{base}/{u}?timeout=0.3"\n' for u, n in UNITS.items())
    path.write_text(f'[site]\nname = "t"\ndata_dir = "data"\n[intervals]\npoll = "0.2s"\nsummary = 0\n'
                    f'csv = "{csv_every}"\n[spool]\nflush = "0.3s"\n{meters}')


def wait_started(log: Path, starts: int) -> None:
    """Until the log shows the service's `starts`-th start (its pollers are running)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if log.exists() and log.read_text().count("wattlog started") >= starts:
            return
        time.sleep(0.1)
    raise AssertionError(f"{log}: start number {starts} not seen within 30 s")


def spooled_total(data: Path) -> int:
    with sqlite3.connect(data / "spool.db") as db:
        return db.execute("SELECT COALESCE(MAX(seq), 0) FROM spool").fetchone()[0]


def test_kill_9_during_writes_then_restart(simulator, tmp_path):
    config = tmp_path / "wattlog.toml"
    write_config(config, simulator.endpoints[0], csv_every="1s")
    data = tmp_path / "data"
    for i in range(3):
        proc = wattlog_run(config)
        wait_started(data / "wattlog.log", i + 1)  # on a loaded machine the start-up alone can take 2 s
        time.sleep(1.0 + 0.37 * i)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    # a crash in the middle of a CSV append leaves a torn row: make sure there is one
    day_file = sorted((data / "csv").glob("*.csv"))[-1]
    with day_file.open("a") as f:
        f.write("2099-01-01 00:00:00,231.4,23")
    proc = wattlog_run(config)
    wait_started(data / "wattlog.log", 4)
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, proc.stderr.read()
    with sqlite3.connect(data / "wattlog.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = db.execute("SELECT COUNT(*) FROM readings").fetchone()[0]
    total = spooled_total(data)
    assert stored == total, "every spooled reading reached the database exactly once"
    rows = csv_rows(data / "csv")  # asserts there is no torn row
    assert len(rows) == total and not any(r["timestamp"].startswith("2099") for r in rows)
    log = (data / "wattlog.log").read_text()
    assert "removed a torn last row" in log


def test_sigterm_flushes_everything(simulator, tmp_path):
    config = tmp_path / "wattlog.toml"
    write_config(config, simulator.endpoints[0], csv_every="1h")  # the CSV is written only at the stop
    proc = wattlog_run(config)
    data = tmp_path / "data"
    wait_started(data / "wattlog.log", 1)
    time.sleep(2.0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, proc.stderr.read()
    total = spooled_total(data)
    assert total >= 6
    with sqlite3.connect(data / "wattlog.db") as db:
        assert db.execute("SELECT COUNT(*) FROM readings").fetchone()[0] == total
    assert len(csv_rows(data / "csv")) == total


def test_a_dead_meter_never_stops_the_service(tmp_path):
    with SimThread(SimOptions(units={1: "office", 3: "aircon"}, tcp=[("127.0.0.1", 0)])) as sim:
        cfg = site_config(sim.endpoints[0], tmp_path / "data")  # unit 2 (workshop) does not answer
        svc = Service(cfg)
        root = logging.getLogger()
        saved = (list(root.handlers), root.level)
        setup_logging(cfg.log_file, "info")  # the service's own log file, as `wattlog run` writes it
        try:
            run_for(svc, 2.0)
        finally:
            for h in root.handlers:
                h.close()
            root.handlers[:], root.level = saved
    keys = db_keys(cfg.databases[0].url)
    assert {m for m, _ in keys} == {"office", "aircon"}
    assert svc.statuses["workshop"].state in ("failing", "offline")
    text = cfg.log_file.read_text()  # it must exist: a check on a missing file checks nothing
    assert "wattlog started" in text and "workshop" in text and "wattlog stopped" in text, text
    assert "Traceback" not in text, text
