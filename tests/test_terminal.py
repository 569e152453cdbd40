"""The terminal: the summary table, and the q / w / r keys on a real (pseudo) terminal."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from rich.console import Console

from wattlog.live import LiveState
from wattlog.polling.bus import MeterStatus
from wattlog.reading import Reading
from wattlog.service.terminal import summary_table
from wattlog.sim import SimOptions, SimThread

TZ = ZoneInfo("Asia/Kuala_Lumpur")


def render(table) -> str:
    console = Console(width=120, record=True, file=open(os.devnull, "w"))
    console.print(table)
    return console.export_text()


def test_summary_shows_each_location_and_todays_energy():
    live = LiveState(TZ, gap_seconds=60)
    t0 = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)  # 09:00 local
    for i in range(361):  # one hour of 10 kW at 10 s
        live.update(Reading("office", t0 + timedelta(seconds=10 * i),
                            "rx380", {"voltage_l1": 230.0, "voltage_l2": 232.0, "voltage_l3": 231.0,
                                      "current_l1": 10.0, "current_l2": 20.0, "current_l3": 30.0,
                                      "total_real_power": 10000.0, "total_power_factor": 0.9, "frequency": 50.0}))
    statuses = {"office": MeterStatus("office", 1, "tcp://x", "rx380", state="ok"),
                "lab": MeterStatus("lab", 2, "tcp://x", "rx380", state="offline")}
    now = datetime(2026, 11, 26, 2, 0, 5, tzinfo=timezone.utc)
    text = render(summary_table("plant", live, statuses, {"office": "office", "lab": "lab"}, 10, now=now))
    office = next(line for line in text.splitlines() if "office" in line)
    assert "231.0" in office and "20.0" in office and "10.00" in office and "0.90" in office
    assert "10.00*" in office  # 10 kW for an hour, counted since wattlog started
    assert "offline" in next(line for line in text.splitlines() if "lab" in line)
    assert "2026-11-26 10:00:05" in text


def test_keys_pause_resume_and_quit_on_a_terminal(tmp_path):
    with SimThread(SimOptions(units={1: "office"}, tcp=[("127.0.0.1", 0)])) as sim:
        master, slave = os.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "wattlog.cli", "run", "--no-web", "--meter", f"office={sim.endpoints[0]}/1",
                                 "--poll", "0.5", "--data-dir", str(tmp_path / "data")],
                                stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        out = b""

        def read_until(word: bytes, timeout: float = 15) -> bool:
            nonlocal out
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                if select.select([master], [], [], 0.2)[0]:
                    try:
                        out += os.read(master, 65536)
                    except OSError:
                        return False
                    if word in out:
                        return True
            return False

        assert read_until(b"q quit"), out
        assert read_until(b"office"), out  # the first summary table
        os.write(master, b"w")
        assert read_until(b"polling paused"), out
        os.write(master, b"r")
        assert read_until(b"polling resumed"), out
        os.write(master, b"q")
        assert proc.wait(30) == 0
        os.close(master)
