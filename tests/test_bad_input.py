"""Bad input on the storage and config side (issue 8, item 7): one line with the fix, exit 2 for a
configuration error, never a traceback, never a half-written file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from wattlog.reading import Reading
from wattlog.store import Store


def wattlog(*args: str, cwd=None):  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "wattlog.cli", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_a_config_of_random_bytes(tmp_path):
    path = tmp_path / "wattlog.toml"
    path.write_bytes(bytes([0xAC, 0xFF, 0x00, 0x9C]) + os.urandom(300))
    r = wattlog("run", "--config", str(path))
    assert r.returncode == 2 and "not a UTF-8 text file" in one_line(r.stderr) and str(path) in r.stderr
    r = wattlog("check", "--config", str(path))
    assert r.returncode != 0 and "not a UTF-8 text file" in r.stderr and "Traceback" not in r.stderr


@pytest.fixture
def db(tmp_path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with Store(url, site="t") as s:
        s.migrate()
        s.write([Reading("office", datetime(2026, 11, 2, 3, tzinfo=timezone.utc), "rx380", {"total_real_power": 5.0})])
    return url


@pytest.mark.parametrize("cmd", [["export"], ["report", "ranking", "--to", "2026-12-01"]])
def test_a_date_out_of_range(db, cmd):
    r = wattlog(*cmd, "--db", db, "--from", "0001-01-01")
    assert r.returncode == 2, r.stderr
    assert "out of range" in r.stderr and "1970" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_export_to_a_file_from_an_unreachable_database_leaves_no_file(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    out = tmp_path / "out.csv"
    r = wattlog("export", "--db", f"postgresql://u@127.0.0.1:{port}/x", "-o", str(out))
    assert r.returncode != 0 and "unavailable" in one_line(r.stderr), r.stderr
    assert not out.exists() and not list(tmp_path.iterdir()), list(tmp_path.iterdir())


def test_export_to_a_file_is_complete(db, tmp_path):
    out = tmp_path / "out.csv"
    r = wattlog("export", "--db", db, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert len(out.read_text().splitlines()) == 2 and not (tmp_path / "out.csv.part").exists()


def test_demo_on_a_port_in_use(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = wattlog("demo", "--port", str(port), "--duration", "1", "--data-dir", str(tmp_path / "d"))
    assert r.returncode == 2 and f"--port {port}" in one_line(r.stderr) and "another port" in r.stderr, r.stderr
