"""The site's time zone lives with its data: --db commands use it, a mismatch is refused, rollups rebuild."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from wattlog.store import Store

HEADER = "timestamp,total_real_power,frequency"


def wattlog(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wattlog.cli", *args], capture_output=True, text=True,
                          env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"})


def thai_site(tmp_path: Path) -> str:
    """A new database made by importing a day of a Thai site's files (08:00-18:00 local)."""
    url = f"sqlite:///{tmp_path}/thai.db"
    start = datetime(2026, 11, 2, 8)
    path = tmp_path / "poc.csv"
    path.write_text("\n".join([HEADER] + [f"{start + timedelta(minutes=5 * i)},5000,50.0" for i in range(121)]) + "\n")
    r = wattlog("import-csv", str(path), "--meter", "office", "--new-meter", "--db", url, "--tz", "Asia/Bangkok")
    assert r.returncode == 0, r.stderr
    return url


def days(url: str, tz: str) -> list[str]:
    with Store(url, tz=tz) as store:
        return [d["start"].isoformat() for d in store.rollups("1d")]


def test_a_db_command_reads_the_site_in_its_recorded_zone_and_refuses_another(tmp_path):
    url = thai_site(tmp_path)
    rows = json.loads(wattlog("export", "--db", url, "--format", "json").stdout)
    assert rows[0]["timestamp"] == "2026-11-02T08:00:00+07:00"  # not 09:00+08:00 (Kuala Lumpur)
    r = wattlog("report", "ranking", "--db", url, "--from", "2026-11-02", "--to", "2026-11-03")
    assert r.returncode == 0 and "office" in r.stdout, r.stderr
    r = wattlog("report", "ranking", "--db", url, "--from", "2026-11-02", "--to", "2026-11-03", "--tz", "Asia/Kuala_Lumpur")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "is in Asia/Bangkok (recorded with its data), not Asia/Kuala_Lumpur" in r.stderr
    assert "--tz Asia/Bangkok" in r.stderr
    config = tmp_path / "wattlog.toml"
    config.write_text(f'[site]\nname = "wattlog"\ntimezone = "Asia/Kuala_Lumpur"\ndata_dir = "{tmp_path}"\n\n'
                      '[[meters]]\nname = "office"\nurl = "tcp://127.0.0.1:1502/1"\n\n'
                      f'[[databases]]\nurl = "{url}"\n')
    r = wattlog("report", "ranking", "--config", str(config), "--from", "2026-11-02", "--to", "2026-11-03")
    assert r.returncode == 2 and f"{config}: site.timezone" in r.stderr
    assert 'set timezone = "Asia/Bangkok"' in r.stderr
    # export's --tz is the output's zone: allowed, and converted
    rows = json.loads(wattlog("export", "--db", url, "--format", "json", "--tz", "UTC").stdout)
    assert rows[0]["timestamp"] == "2026-11-02T01:00:00+00:00"


def test_rollups_rebuild_repairs_and_moves_a_site_to_another_zone(tmp_path):
    url = thai_site(tmp_path)
    assert days(url, "Asia/Bangkok") == ["2026-11-02T00:00:00+07:00"]
    with Store(url, tz="Asia/Bangkok") as store:
        good = store.rollups("1h")
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM rollup_1h")
    r = wattlog("rollups", "rebuild", "--db", url, "--gap-seconds", "600")
    assert r.returncode == 0 and r.stdout == "rollups of site wattlog rebuilt in Asia/Bangkok\n", r.stderr
    with Store(url, tz="Asia/Bangkok") as store:
        assert store.rollups("1h") == good
    r = wattlog("rollups", "rebuild", "--db", url, "--tz", "Asia/Kuala_Lumpur", "--gap-seconds", "600")
    assert r.returncode == 0 and "(the site was recorded in Asia/Bangkok)" in r.stdout, r.stderr
    assert days(url, "Asia/Kuala_Lumpur") == ["2026-11-02T00:00:00+08:00"]  # one day, no Bangkok leftovers
    rows = json.loads(wattlog("export", "--db", url, "--format", "json").stdout)
    assert rows[0]["timestamp"] == "2026-11-02T09:00:00+08:00"
    with Store(url) as store:
        assert store.recorded_zone() == "Asia/Kuala_Lumpur"


def test_a_report_on_a_database_that_does_not_exist_says_so_and_creates_nothing(tmp_path):
    missing = tmp_path / "typo.db"
    r = wattlog("report", "ranking", "--db", f"sqlite:///{missing}", "--from", "2026-11-01", "--to", "2026-11-02")
    assert r.returncode == 2 and r.stderr == (f"error: no database at {missing} (from --db): check the path; "
                                              "the logger (wattlog run) or wattlog import-csv creates it\n")
    assert not missing.exists() and "Store.migrate" not in r.stderr
