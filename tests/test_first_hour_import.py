"""import-csv as a new user runs it: a new database, bad bytes, refused files, wattlog's own CSV back in."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from wattlog.reading import Reading
from wattlog.sinks.csvfiles import CsvSink
from wattlog.store import Store

HEADER = ("timestamp,voltage_l12,voltage_l23,voltage_l31,voltage_l1,voltage_l2,voltage_l3,"
          "current_l1,current_l2,current_l3,total_real_power,total_power_factor,frequency")
KL = ZoneInfo("Asia/Kuala_Lumpur")


def wattlog(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wattlog.cli", *args], capture_output=True, text=True,
                          env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"})


def poc_rows(day: str, n: int, power: str = "3600") -> list[str]:
    start = datetime.fromisoformat(day + " 08:00:00")
    return [f"{start + timedelta(minutes=5 * i)},400,401,399,231,230,229,10,10,10,{power},0.95,50.0" for i in range(n)]


def write(path: Path, lines: list[str], header: str = HEADER) -> str:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return str(path)


def count(url: str, meter: str | None = None, site: str = "wattlog") -> int:
    with Store(url, site=site) as store:
        return sum(1 for _ in store.readings(meter))


def test_a_new_database_is_created_bad_bytes_are_bad_lines_and_each_file_is_one_line(tmp_path):
    url = f"sqlite:///{tmp_path}/poc.db"
    a = write(tmp_path / "a.csv", poc_rows("2025-03-01", 10))
    raw = Path(a).read_bytes().splitlines(keepends=True)
    raw[3] = raw[3].replace(b"400", b"40\xe9")  # a Latin-1 byte on line 4
    Path(a).write_bytes(b"".join(raw))
    b = write(tmp_path / "b.csv", poc_rows("2025-03-02", 5))
    r = wattlog("import-csv", a, b, "--meter", "office", "--new-meter", "--db", url)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "a.csv: 10 rows read: 9 new, 0 already there, 1 skipped"
    assert lines[1] == "b.csv: 5 rows read: 5 new, 0 already there, 0 skipped"
    assert "Traceback" not in r.stderr and f"{a}:4: not UTF-8 text (byte 0xe9" in r.stderr
    assert count(url, "office") == 14
    r = wattlog("report", "ranking", "--db", url, "--from", "2025-03-01", "--to", "2025-03-03")
    assert r.returncode == 0 and "office" in r.stdout, r.stderr


def test_a_file_is_all_or_none_and_the_next_file_goes_on(tmp_path):
    url = f"sqlite:///{tmp_path}/w.db"
    header = HEADER + ",meter"
    rows = [line + ",office" for line in poc_rows("2025-03-01", 200)]
    rows[150] = rows[150].replace(",office", ",shop")  # late in the file: nothing before it may stay
    a = write(tmp_path / "mixed.csv", rows, header)
    b = write(tmp_path / "good.csv", [line + ",office" for line in poc_rows("2025-03-02", 3)], header)
    r = wattlog("import-csv", a, b, "--meter", "office", "--new-meter", "--db", url)
    assert r.returncode == 1
    out = r.stdout.splitlines()
    assert out[0].startswith("mixed.csv: not imported: line 152 is meter 'shop' (column meter), not --meter 'office'")
    assert out[1] == "good.csv: 3 rows read: 3 new, 0 already there, 0 skipped"
    assert count(url) == 3


def test_meter_names_obey_the_config_rules_and_an_unknown_one_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/w.db"
    a = write(tmp_path / "a.csv", poc_rows("2025-03-01", 3))
    r = wattlog("import-csv", a, "--meter", "Shop 1", "--new-meter", "--db", url)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "invalid meter name 'Shop 1'" in r.stderr
    wattlog("import-csv", a, "--meter", "office", "--new-meter", "--db", url)
    r = wattlog("import-csv", a, "--meter", "ofice", "--db", url)
    assert r.returncode == 2 and "no meter 'ofice' in site 'wattlog' (known: office)" in r.stderr
    with Store(url) as store:
        assert [m["name"] for m in store.meters()] == ["office"]
    b = write(tmp_path / "b.csv", [line + ",Bad Name" for line in poc_rows("2025-03-02", 2)], HEADER + ",meter")
    r = wattlog("import-csv", b, "--new-meter", "--db", url)
    assert r.returncode == 1 and "invalid meter name 'Bad Name'" in r.stdout and count(url) == 3


def test_an_impossible_power_is_not_stored_as_valid(tmp_path):
    url = f"sqlite:///{tmp_path}/w.db"
    a = write(tmp_path / "a.csv", poc_rows("2025-03-01", 4, power="1e300"))
    r = wattlog("import-csv", a, "--meter", "office", "--new-meter", "--db", url)
    assert r.returncode == 0
    with Store(url) as store:
        rows = list(store.readings())
    assert all(x["total_real_power"] is None for x in rows)
    assert rows[0]["flags"]["total_real_power"].startswith("implausible: 1e+300 W outside what the meter can send")
    r = wattlog("report", "ranking", "--db", url, "--from", "2025-03-01", "--to", "2025-03-02")
    assert "inf" not in r.stdout


def test_wattlog_s_own_daily_csv_and_export_import_back_as_nothing_new(tmp_path):
    url = f"sqlite:///{tmp_path}/w.db"
    t0 = datetime(2026, 11, 2, 0, 0, 0, 123456, tzinfo=timezone.utc)  # the store keeps microseconds
    readings = [Reading(m, t0 + timedelta(seconds=10 * i), "rx380", {"voltage_l1": 230.0 + i, "total_real_power": 900.0})
                for i in range(30) for m in ("office", "shop")]
    with Store(url, site="plant") as store:
        store.migrate()
        store.write(readings)
    sink = CsvSink(tmp_path / "csv", KL, {"office": "Office", "shop": "Shop"})
    sink._write(readings)
    [daily] = sorted((tmp_path / "csv").glob("*.csv"))
    r = wattlog("import-csv", str(daily), "--db", url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].endswith("60 rows read: 0 new, 60 already there, 0 skipped")
    exported = tmp_path / "office.csv"
    wattlog("export", "--db", url, "--meter", "office", "-o", str(exported))
    r = wattlog("import-csv", str(exported), "--meter", "office", "--db", url)
    assert r.stdout.splitlines()[0].endswith("30 rows read: 0 new, 30 already there, 0 skipped"), r.stdout + r.stderr
    r = wattlog("import-csv", str(daily), "--meter", "office", "--db", url)  # the file has shop too
    assert r.returncode == 1 and "is meter 'shop' (column meter), not --meter 'office'" in r.stdout
    assert count(url, site="plant") == 60
    assert json.loads(wattlog("export", "--db", url, "--format", "json").stdout)[0]["timestamp"].endswith(".123456+08:00")
