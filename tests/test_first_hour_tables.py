"""Report tables a person can read: 80 columns without losing a digit, aligned fixed decimals, piped uncut."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import datetime, timedelta

from rich.console import Console

from wattlog.cli.tables import print_table
from wattlog.reports.result import Table


def render(t: Table, width: int = 80) -> str:
    out = io.StringIO()
    print_table(Console(file=out, width=width, no_color=True), t)
    return out.getvalue()


def wide() -> Table:
    cols = ["location", "total kWh", "working kWh", "evenings kWh", "days off kWh", "holidays kWh",
            "after-hours %", "base load kW", "base load %", "nights"]
    rows = [["main_incomer_building_a", 3381234.5, 1738.04, 6694.5, 202221.25, 0.0, 39.2, 11.04, 38.25, 30],
            ["aircon", 12.5, 1.0, 2.0, 3.0, 0.0, 100.0, 0.5, 4.0, 28]]
    return Table("t", "consumption outside working hours", cols, rows)


def test_at_80_columns_no_digit_is_lost_and_numbers_share_their_decimals():
    text = render(wide())
    assert max(len(line) for line in text.splitlines()) <= 80
    for number in ("3,381,234.5", "1,738.0", "6,694.5", "202,221.2", "39.2", "11.0", "38.2", "30", "12.5", "1.0"):
        assert number in text, number
    assert "…" not in text and "main_incomer_building_a" in text


def test_a_table_that_fits_keeps_numbers_right_and_text_left():
    t = Table("t", "kWh", ["location", "kWh", "share %"], [["workshop", 20672.2, 80.75], ["office", 1067.0, 4.2]])
    lines = render(t).splitlines()
    office = next(line for line in lines if "office" in line)
    workshop = next(line for line in lines if "workshop" in line)
    assert "│ office " in office and " 1,067.0 │" in office and "20,672.2" in workshop
    assert office.index("1,067.0") + 7 == workshop.index("20,672.2") + 8  # right edges line up
    assert " 80.8 │" in workshop and " 4.2 │" in office


def wattlog(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wattlog.cli", *args], capture_output=True, text=True,
                          env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"})


def test_piped_reports_are_never_cut_and_the_heatmap_is_a_grid(tmp_path):
    url = f"sqlite:///{tmp_path}/w.db"
    start = datetime(2026, 11, 2)
    path = tmp_path / "m.csv"
    path.write_text("timestamp,total_real_power\n" + "".join(
        f"{start + timedelta(minutes=5 * i)},{1234567.8 if 9 <= (i // 12) < 17 else 100000.0}\n" for i in range(2 * 288)))
    assert wattlog("import-csv", str(path), "--meter", "main_incomer_building_a", "--new-meter", "--db", url).returncode == 0
    r = wattlog("report", "afterhours", "--db", url, "--from", "2026-11-02", "--to", "2026-11-04")
    assert r.returncode == 0, r.stderr
    assert "…" not in r.stdout and "main_incomer_building_a" in r.stdout
    r = wattlog("report", "heatmap", "--db", url, "--from", "2026-11-02", "--to", "2026-11-04")
    lines = r.stdout.splitlines()
    assert len(lines) < 10 and "2026-11-02 " in r.stdout and "█" in r.stdout  # no tidy table first
    assert all(len(line) <= 80 for line in lines if line.startswith("2026-"))
    r = wattlog("report", "heatmap", "--db", url, "--from", "2026-11-02", "--to", "2026-11-04", "--format", "csv")
    assert r.stdout.startswith("location,date,hour,kwh,complete\n") and len(r.stdout.splitlines()) == 49
