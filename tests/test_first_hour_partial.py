"""Partial data is never "complete": a 2-minute run's demand block and heatmap hour; shares within 0-100 %."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta


def wattlog(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wattlog.cli", *args], capture_output=True, text=True,
                          env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"})


def site(tmp_path, times: list[datetime], kw: float, gap: str = "60") -> str:
    url = f"sqlite:///{tmp_path}/w.db"
    path = tmp_path / "m.csv"
    path.write_text("timestamp,total_real_power\n" + "".join(f"{t},{kw * 1000}\n" for t in times))
    r = wattlog("import-csv", str(path), "--meter", "main", "--new-meter", "--db", url, "--gap-seconds", gap)
    assert r.returncode == 0, r.stderr
    return url


def test_a_two_minute_run_is_not_a_complete_demand_block_or_heatmap_hour(tmp_path):
    start = datetime(2026, 11, 2, 10, 7)
    url = site(tmp_path, [start + timedelta(seconds=10 * i) for i in range(13)], kw=100)
    r = wattlog("report", "demand", "--db", url, "--from", "2026-11-01", "--to", "2026-12-01", "--format", "json")
    [month] = json.loads(r.stdout)["months"]
    assert month["peak"]["kw"] < 10 and month["peak"]["complete"] is False and month["incomplete_blocks"] == 1
    r = wattlog("report", "heatmap", "--db", url, "--from", "2026-11-02", "--to", "2026-11-03", "--format", "csv")
    assert r.stdout.splitlines()[1:] == ["main,2026-11-02,10,3.3333,False"]


def test_base_load_share_stays_within_100_percent_with_a_gap(tmp_path):
    start = datetime(2026, 11, 2)
    times = [start + timedelta(minutes=5 * i) for i in range(3 * 288) if not 288 <= i < 2 * 288]  # day 2 missing
    url = site(tmp_path, times, kw=10, gap="600")
    r = wattlog("report", "afterhours", "--db", url, "--from", "2026-11-02", "--to", "2026-11-05", "--format", "json")
    [row] = json.loads(r.stdout)["rows"]
    assert row["base_kw"] == 10.0 and 99.0 <= row["base_pct"] <= 100.0
