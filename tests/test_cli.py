"""The command line: every command documented with an example; docs/cli.md in sync with --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from wattlog.cli import main
from wattlog.cli.app import all_commands

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))


@pytest.mark.parametrize("name", sorted(all_commands()))
def test_every_command_has_help_with_an_example(name):
    result = CliRunner().invoke(main, [name, "--help"], terminal_width=100)
    assert result.exit_code == 0
    assert "Example" in result.output, f"wattlog {name} --help has no example"


def test_docs_match_the_help():
    import gen_cli

    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == gen_cli.render(), \
        "docs/cli.md is stale: run .venv/bin/python docs/gen_cli.py"


def test_read_errors_are_one_line_with_what_to_check(tmp_path):
    r = subprocess.run([sys.executable, "-m", "wattlog.cli", "read", f"rtu://{tmp_path}/ttyNONE?unit=1"],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "does not exist" in r.stderr and "plugged in" in r.stderr
    r = subprocess.run([sys.executable, "-m", "wattlog.cli", "read", "tcp://127.0.0.1:1/1?timeout=0.5"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "connection refused" in r.stderr
    r = subprocess.run([sys.executable, "-m", "wattlog.cli", "read", "modbus://x"], capture_output=True, text=True)
    assert r.returncode == 2 and "tcp://192.168.1.50:502/1" in r.stderr


def test_read_json_and_a_silent_unit(tmp_path):
    from wattlog.sim import SimOptions, SimThread

    with SimThread(SimOptions(units={1: "office"}, tcp=[("127.0.0.1", 0)])) as sim:
        base = sim.endpoints[0]
        r = subprocess.run([sys.executable, "-m", "wattlog.cli", "read", f"{base}/1", "--json"],
                           capture_output=True, text=True)
        data = json.loads(r.stdout)
        assert data["model"] == "rx380" and 200 < data["values"]["voltage_l1"] < 260
        assert data["timestamp"].endswith("+00:00") and len(data["values"]) == 18
        r = subprocess.run([sys.executable, "-m", "wattlog.cli", "read", f"{base}/9?timeout=0.2"],
                           capture_output=True, text=True)
        assert r.returncode == 1 and r.stderr.count("\n") == 1
        assert "unit 9" in r.stderr and "no answer" in r.stderr and "check the meter's IP address" in r.stderr
        assert "wiring" not in r.stderr and "check: check" not in r.stderr


def test_export_and_import_csv_round_trip(tmp_path):
    from datetime import datetime, timedelta, timezone

    from wattlog.reading import Reading
    from wattlog.store import Store

    url = f"sqlite:///{tmp_path}/w.db"
    t0 = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)
    with Store(url, site="plant") as store:
        store.migrate()
        store.write([Reading("office", t0 + timedelta(seconds=10 * i), "rx380",
                             {"voltage_l1": 230.0 + i, "total_real_power": 1000.0}) for i in range(5)])
    run = lambda *a: subprocess.run([sys.executable, "-m", "wattlog.cli", *a], capture_output=True, text=True)
    r = run("export", "--db", url, "--format", "json", "--from", "2026-11-02 08:00:20")
    rows = json.loads(r.stdout)
    assert [x["voltage_l1"] for x in rows] == [232.0, 233.0, 234.0]  # --from is local (UTC+8)
    assert rows[0]["timestamp"] == "2026-11-02T08:00:20+08:00" and "3 readings exported" in r.stderr
    poc = tmp_path / "rx380_2025-03-01.csv"
    poc.write_text("timestamp,voltage_l12,voltage_l23,voltage_l31,voltage_l1,voltage_l2,voltage_l3,current_l1,"
                   "current_l2,current_l3,total_real_power,total_power_factor,frequency\n"
                   "2025-03-01 08:00:10,400,401,402,230,231,232,1,2,3,1500,0.9,50.0\n"
                   "2025-03-01 08:00:20,400,401,402,230,231,232,1,2,3,1500,0.9,50.0\n"
                   "2025-03-01 08:00:30,oops\n")
    r = run("import-csv", str(poc), "--meter", "legacy", "--db", url)
    assert r.returncode == 2 and "no meter 'legacy'" in r.stderr and "--new-meter" in r.stderr
    r = run("import-csv", str(poc), "--meter", "legacy", "--new-meter", "--db", url)
    assert r.returncode == 0 and "3 rows read: 2 new, 0 already there, 1 skipped" in r.stdout
    assert f"{poc}:4" in r.stderr
    r = run("import-csv", str(poc), "--meter", "legacy", "--db", url)
    assert "0 new, 2 already there" in r.stdout
    r = run("export", "--db", url, "--meter", "legacy")
    assert r.stdout.splitlines()[1].startswith("2025-03-01T08:00:10+08:00,legacy,400.0")
