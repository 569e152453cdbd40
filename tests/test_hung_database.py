"""A hung database (a real PostgreSQL frozen with SIGSTOP) under a real `wattlog run`: reported
within about its timeout, and SIGTERM still stops the service within the promised 15 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wattlog.sim import SimOptions, SimThread

UNITS = {1: "office", 2: "workshop"}
STOP_PROMISE = 15.0  # README: SIGTERM stops the service within 15 s


@pytest.fixture
def simulator():
    with SimThread(SimOptions(units=dict(UNITS), tcp=[("127.0.0.1", 0)])) as sim:
        yield sim


def cluster_pids(data: Path) -> list[int]:
    """The postmaster and every backend and helper of a throwaway cluster."""
    master = int((data / "postmaster.pid").read_text().split()[0])
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return [master, *(int(p) for p in out.split())]


def signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def wait_for(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_a_frozen_postgresql_is_reported_and_sigterm_is_honoured(simulator, pg_cluster, tmp_path):
    config = tmp_path / "wattlog.toml"
    meters = "".join(f'[[meters]]\nname = "{n}"\nurl = "{simulator.endpoints[0]}/{u}?timeout=0.3"\n'
                     for u, n in UNITS.items())
    config.write_text(f'[site]\nname = "t"\ndata_dir = "data"\n[intervals]\npoll = "0.3s"\nsummary = 0\n'
                      f'[[databases]]\nurl = "{pg_cluster.url}"\ntimeout = "2s"\n[csv]\nenabled = false\n{meters}')
    log = tmp_path / "data" / "wattlog.log"
    proc = subprocess.Popen([sys.executable, "-m", "wattlog.cli", "run", "--no-web", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    frozen: list[int] = []
    try:
        assert wait_for(lambda: log.exists() and "wattlog started" in log.read_text(), 20), proc.stderr
        time.sleep(2.0)  # readings flowing into PostgreSQL
        assert "is down" not in log.read_text()
        frozen = cluster_pids(pg_cluster.data)
        signal_all(frozen, signal.SIGSTOP)
        # reported within the timeout (2 s) plus one delivery's rollup budget (5 s), plus slack
        assert wait_for(lambda: "db:main is down" in log.read_text(), 12), log.read_text()
        down = [line for line in log.read_text().splitlines() if "db:main is down" in line]
        assert len(down) == 1 and ("does not answer" in down[0] or "timeout" in down[0].lower()), down
        time.sleep(3.0)  # still frozen: retries must not log again
        assert log.read_text().count("db:main is down") == 1
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(STOP_PROMISE)
        except subprocess.TimeoutExpired:
            pytest.fail(f"SIGTERM not honoured within {STOP_PROMISE:g} s while the database hangs")
        took = time.monotonic() - t0
        assert code == 0, proc.stderr.read() if proc.stderr else ""
        text = log.read_text()
        assert "wattlog stopped" in text and "stay in the spool for the next start" in text, text[-2000:]
        print(f"SIGTERM honoured in {took:.1f} s with PostgreSQL frozen")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        signal_all(frozen, signal.SIGCONT)
