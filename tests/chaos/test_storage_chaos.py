"""Fault injection on the storage side (issue 8): kill -9 at random moments while polling the
simulator, PostgreSQL stopped and frozen, the disk full and freed — and the same checks each time:
every stored value equals what the simulator served, nothing acknowledged is lost, nothing is
duplicated, and every loss that does happen is counted and logged once with its cause.

    ./dev test tests/chaos                           # the short form, as CI runs it (< 90 s)
    WATTLOG_CHAOS_LONG=1 ./dev test tests/chaos -s   # the long form: 60 kills, longer outages

Figures from the long form are in BENCHMARKS.md (RELIABILITY).
"""

from __future__ import annotations

import asyncio
import csv
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from fullfs import SmallFs

from wattlog.config import parse_config
from wattlog.meters.definition import get_model
from wattlog.service.runner import Service
from wattlog.sim import SimOptions, SimThread
from wattlog.sinks.spool import unpack
from wattlog.store import Store

LONG = os.environ.get("WATTLOG_CHAOS_LONG") == "1"
UNITS = {1: "office", 2: "workshop", 3: "aircon"}
CHECKED = ("total_real_power", "voltage_l1", "current_l2", "frequency", "total_real_energy")
POLL = 0.2
FLUSH = 0.5  # the spool flush these tests kill around (a site's default is 5 s: the bound scales with it)
STOP_PROMISE = 15.0


class Truth:
    """Every value tuple the simulator served, per meter, decoded as an RX380 is decoded."""

    def __init__(self, sim) -> None:  # type: ignore[no-untyped-def]
        model = get_model("rx380")
        self.regs = [model.by_name[n] for n in CHECKED]
        self.served: dict[str, set[tuple]] = {n: set() for n in UNITS.values()}
        original = sim.site.registers

        def registers(unit, t):  # type: ignore[no-untyped-def]
            words = original(unit, t)
            self.served[UNITS[unit]].add(tuple(r.value([words[a] for a in range(r.address, r.end)])
                                               for r in self.regs))
            return words

        sim.site.registers = registers

    def check(self, meter: str, values: dict) -> bool:
        return tuple(values.get(n) for n in CHECKED) in self.served[meter]


@pytest.fixture
def sim_truth():  # type: ignore[no-untyped-def]
    with SimThread(SimOptions(units=dict(UNITS), tcp=[("127.0.0.1", 0)])) as sim:
        yield sim, Truth(sim)


def spool_readings(data: Path) -> list[tuple[str, str, dict]]:
    with sqlite3.connect(data / "spool.db") as db:
        return [(r.meter, r.timestamp.isoformat(), r.values) for (d,) in db.execute("SELECT data FROM spool ORDER BY seq")
                for r in [unpack(d)]]


def db_readings(url: str) -> list[tuple[str, str, dict]]:
    with Store(url, site="t") as store:
        return [(r["meter"], r["timestamp"].isoformat(), {n: r.get(n) for n in CHECKED}) for r in store.readings()]


def csv_keys(folder: Path) -> list[tuple[str, str, str]]:
    out = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="") as f:
            out.extend((r["meter"], r["timestamp"], r["total_real_power"]) for r in csv.DictReader(f))
    return out


def same_instant(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


def check_sink(name: str, stored: list[tuple[str, str, dict]], spooled: list[tuple[str, str, dict]]) -> None:
    """The sink holds exactly the spooled readings, each once, with the spooled values."""
    keys = Counter((m, datetime.fromisoformat(t)) for m, t, _ in stored)
    dup = [k for k, n in keys.items() if n > 1]
    assert not dup, f"{name}: {len(dup)} readings stored twice"
    want = {(m, datetime.fromisoformat(t)): v for m, t, v in spooled}
    missing = set(want) - set(keys)
    assert not missing, f"{name}: {len(missing)} spooled readings missing"
    assert len(keys) == len(want), f"{name}: {len(keys) - len(want)} readings that were never spooled"
    for m, t, v in stored:
        w = want[(m, datetime.fromisoformat(t))]
        assert all(v.get(n) == w.get(n) for n in CHECKED), f"{name}: {m} {t}: {v} != spooled {w}"


def config_file(path: Path, base: str, extra: str = "") -> Path:
    meters = "".join(f'[[meters]]\nname = "{n}"\nurl = "{base}/{u}?timeout=0.3"\n' for u, n in UNITS.items())
    path.write_text(f'[site]\nname = "t"\ndata_dir = "data"\n[intervals]\npoll = "{POLL}s"\nsummary = 0\n'
                    f'csv = "1s"\n[spool]\nflush = "{FLUSH}s"\n{extra}{meters}')
    return path


def start(config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "wattlog.cli", "run", "--no-web", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def stop(proc: subprocess.Popen) -> float:
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(STOP_PROMISE)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"SIGTERM not honoured within {STOP_PROMISE:g} s")
    assert code == 0, proc.stderr.read() if proc.stderr else code
    return time.monotonic() - t0


def test_kill_9_at_random_moments(sim_truth, pg_cluster, tmp_path):
    sim, truth = sim_truth
    kills = 60 if LONG else 6
    rng = random.Random(int(os.environ.get("WATTLOG_CHAOS_SEED", "8")))
    config = config_file(tmp_path / "wattlog.toml", sim.endpoints[0],
                         f'[[databases]]\nurl = "sqlite:///data/wattlog.db"\n'
                         f'[[databases]]\nname = "central"\nurl = "{pg_cluster.url}"\ntimeout = "5s"\n')
    data = tmp_path / "data"
    log = data / "wattlog.log"

    def started(n: int) -> bool:
        return log.exists() and log.read_text().count("wattlog started") >= n

    killed_at: list[float] = []
    began: list[float] = []
    for i in range(kills):
        proc = start(config)
        assert wait_for(lambda: started(i + 1), 30), proc.stderr
        began.append(time.time())
        time.sleep(rng.uniform(0.0, 2.5))  # anywhere from the first poll to well into polling
        killed_at.append(time.time())
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    proc = start(config)
    assert wait_for(lambda: started(kills + 1), 30)
    time.sleep(2.0)
    stop(proc)

    spooled = spool_readings(data)
    assert len(spooled) > 5 * kills, (data / "wattlog.log").read_text()[-3000:]
    wrong = [(m, t) for m, t, v in spooled if not truth.check(m, v)]
    assert not wrong, f"{len(wrong)} readings differ from what the simulator served: {wrong[:3]}"
    check_sink("sqlite", db_readings(f"sqlite:///{data / 'wattlog.db'}"), spooled)
    check_sink("postgresql", db_readings(pg_cluster.url), spooled)
    rows = csv_keys(data / "csv")
    assert len(rows) == len(set(rows)) == len(spooled), "CSV: each spooled reading once"
    # what a kill can cost: the readings not yet spooled, i.e. taken in the last flush interval
    times = sorted(datetime.fromisoformat(t).timestamp() for _, t, _ in spooled)
    lost_windows = []  # per kill: how long before it the newest reading it spooled was taken
    for b, k in zip(began, killed_at):
        last = max([t for t in times if b - 1 < t < k], default=b)
        lost_windows.append(k - last)
    assert max(lost_windows) < FLUSH + POLL + 0.5, lost_windows
    print(f"\nchaos kill -9: {kills} kills, {len(spooled)} readings x {len(CHECKED)} values compared with the "
          f"simulator and in SQLite, PostgreSQL and CSV: 0 wrong, 0 lost after spooling, 0 duplicated; "
          f"newest spooled reading before a kill: at most {max(lost_windows):.2f} s before it")


def test_postgresql_stopped_then_frozen(sim_truth, pg_cluster, tmp_path):
    sim, truth = sim_truth
    outage = 20.0 if LONG else 3.0
    config = config_file(tmp_path / "wattlog.toml", sim.endpoints[0],
                         f'[[databases]]\nurl = "{pg_cluster.url}"\ntimeout = "2s"\n')
    data, log = tmp_path / "data", tmp_path / "data" / "wattlog.log"
    proc = start(config)
    frozen: list[int] = []
    try:
        assert wait_for(lambda: log.exists() and "wattlog started" in log.read_text(), 20)
        time.sleep(2.0)
        pg_cluster.stop()
        time.sleep(outage)
        pg_cluster.start()
        assert wait_for(lambda: log.read_text().count("db:main is back") == 1, 30), log.read_text()[-1500:]
        master = int((pg_cluster.data / "postmaster.pid").read_text().split()[0])
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
        frozen = [master, *(int(p) for p in out.split())]
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        time.sleep(outage + 7.0)  # the hang is noticed after the timeout plus one delivery's budget
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        frozen = []
        assert wait_for(lambda: log.read_text().count("db:main is back") == 2, 40), log.read_text()[-1500:]
        time.sleep(1.0)
        stop(proc)
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
    text_ = log.read_text()
    assert text_.count("db:main is down") == 2 and text_.count("db:main is back") == 2, text_
    assert "Traceback" not in text_
    spooled = spool_readings(data)
    assert all(truth.check(m, v) for m, t, v in spooled)
    check_sink("postgresql", db_readings(pg_cluster.url), spooled)
    rows = csv_keys(data / "csv")
    assert len(rows) == len(set(rows)) == len(spooled)
    print(f"\nchaos PostgreSQL: stopped {outage:g} s, frozen {outage + 7:g} s: {len(spooled)} readings, "
          "all stored once with the served values; one 'down' and one 'back' line per outage")


def test_disk_full_and_freed(sim_truth, tmp_path, caplog):
    sim, truth = sim_truth
    try:
        fs = SmallFs("24m")
    except (PermissionError, FileNotFoundError) as exc:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {exc}")
    try:
        data = fs.path / "data"
        cfg = parse_config({"site": {"name": "t", "data_dir": str(data)},
                            "intervals": {"poll": f"{POLL}s", "summary": 0, "csv": "1s"},
                            "spool": {"flush": f"{FLUSH}s"},
                            "meters": [{"name": n, "url": f"{sim.endpoints[0]}/{u}?timeout=0.3"}
                                       for u, n in UNITS.items()]}, "")
        svc = Service(cfg)
        full_for = 10.0 if LONG else 2.5

        async def go() -> None:
            task = asyncio.create_task(svc.run())
            await asyncio.sleep(2.0)
            await asyncio.to_thread(fs.fill)
            await asyncio.sleep(full_for)
            fs.free()
            await asyncio.sleep(3.0)
            svc.stop.set()
            await task

        with caplog.at_level(logging.INFO, logger="wattlog"):
            asyncio.run(go())
        spooled = spool_readings(data)
        msgs = [r.getMessage() for r in caplog.records]
        assert svc.taken == svc.spooled == len(spooled), "held in memory while full, spooled once freed"
        assert sum("cannot write the spool" in m for m in msgs) == 1, msgs
        assert sum("spool writable again" in m for m in msgs) == 1, msgs
        for sink in ("db:main", "csv"):  # each sink: at most one line down and one back
            assert sum(m.startswith(f"{sink} is down") or m.startswith(f"{sink}: cannot") for m in msgs) <= 1, msgs
        assert msgs[-1] == f"wattlog stopped: {svc.taken} readings taken this run, {svc.spooled} spooled, 0 lost"
        assert all(truth.check(m, v) for m, t, v in spooled)
        check_sink("sqlite", db_readings(cfg.databases[0].url), spooled)
        rows = csv_keys(data / "csv")
        assert len(rows) == len(set(rows)) == len(spooled)
        print(f"\nchaos disk full: {full_for:g} s full, {len(spooled)} readings: none lost, none doubled")
    finally:
        fs.cleanup()
