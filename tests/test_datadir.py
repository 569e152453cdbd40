"""The data directory under a real `wattlog run`: one service per directory (the second exits 2
naming the holder's pid), private permissions whatever the umask, and clear one-line refusals."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wattlog.sim import SimOptions, SimThread


@pytest.fixture
def config(tmp_path):  # type: ignore[no-untyped-def]
    with SimThread(SimOptions(units={1: "office"}, tcp=[("127.0.0.1", 0)])) as sim:
        path = tmp_path / "wattlog.toml"
        path.write_text(f'[site]\nname = "t"\ndata_dir = "data"\n[intervals]\npoll = "0.3s"\nsummary = 0\n'
                        f'[[meters]]\nname = "office"\nurl = "{sim.endpoints[0]}/1?timeout=0.3"\n')
        yield path


def wattlog(*args: str, umask: int | None = None, wait: bool = True):  # type: ignore[no-untyped-def]
    pre = (lambda: os.umask(umask)) if umask is not None else None
    proc = subprocess.Popen([sys.executable, "-m", "wattlog.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=pre)
    if wait:
        out, err = proc.communicate(timeout=60)
        return proc.returncode, out, err
    return proc


def wait_started(log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (log.exists() and "wattlog started" in log.read_text()):
        time.sleep(0.1)
    assert log.exists() and "wattlog started" in log.read_text()


def test_a_second_service_on_the_same_data_dir_exits_2_naming_the_first(config):
    first = wattlog("run", "--no-web", "--config", str(config), wait=False)
    try:
        wait_started(config.parent / "data" / "wattlog.log")
        code, _, err = wattlog("run", "--no-web", "--config", str(config), "--duration", "5")
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and f"pid {first.pid}" in lines[0] and "Traceback" not in err, err
        assert first.poll() is None, "the first one keeps running"
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(20) == 0
    # after a kill -9 the kernel drops the lock: a restart is never blocked by a stale lock file
    proc = wattlog("run", "--no-web", "--config", str(config), wait=False)
    wait_started(config.parent / "data" / "wattlog.log")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    code, _, err = wattlog("run", "--no-web", "--config", str(config), "--duration", "1.5")
    assert code == 0, err


def test_files_are_private_whatever_the_umask(config):
    code, _, err = wattlog("run", "--no-web", "--config", str(config), "--duration", "2", umask=0o000)
    assert code == 0, err
    data = config.parent / "data"
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [data, *data.rglob("*")]}
    assert modes["data"] == 0o750 and modes["csv"] == 0o750, modes
    for name in ("wattlog.db", "spool.db", "wattlog.log", "wattlog.lock"):
        assert modes[name] == 0o640, (name, oct(modes[name]))
    assert all(m & 0o007 == 0 for m in modes.values()), {n: oct(m) for n, m in modes.items()}


def test_data_dir_pointing_at_a_file(config):
    (config.parent / "data").write_text("not a folder")
    code, _, err = wattlog("run", "--no-web", "--config", str(config), "--duration", "1")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "is a file, not a directory" in err, err
    code, _, err = wattlog("check", "--config", str(config))
    assert code != 0 and "is a file, not a directory" in err and "Traceback" not in err, err


def test_an_unwritable_data_dir_is_said_by_check_and_run(config, small_fs):
    """Read-only (a real read-only mount: root ignores file modes), so not writable for anyone."""
    data = small_fs.path / "data"
    data.mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs.path)], check=True)
    config.write_text(config.read_text().replace('data_dir = "data"', f'data_dir = "{data}"'))
    for args, expect in ((["check"], 1), (["run", "--no-web", "--duration", "1"], 2)):
        code, _, err = wattlog(*args, "--config", str(config))
        assert code == expect, (args, err)
        assert "not writable" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
