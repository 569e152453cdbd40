"""The CSV sink: the proof of concept's columns in its order (a literal list, not the constant they
come from), and a batch delivered again after a crash is never appended twice."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from wattlog.reading import Reading
from wattlog.sinks.csvfiles import CsvSink

KL = ZoneInfo("Asia/Kuala_Lumpur")
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
# The proof of concept's CSV, as spreadsheets at the sites read it: these columns, in this order.
POC_COLUMNS = ["timestamp", "voltage_l12", "voltage_l23", "voltage_l31", "voltage_l1", "voltage_l2", "voltage_l3",
               "current_l1", "current_l2", "current_l3", "total_real_power", "total_power_factor", "frequency"]


def batch(start: int, n: int, meter: str = "office") -> list[Reading]:
    return [Reading(meter, T0 + timedelta(seconds=start + i), "rx380",
                    {"voltage_l1": 230.0 + i / 10, "voltage_l12": 400.0, "current_l1": 10.0 + i,
                     "total_real_power": 1000.0 * (start + i), "frequency": 50.0})
            for i in range(n)]


def rows(folder: Path) -> list[list[str]]:
    out = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="") as f:
            out.extend(csv.reader(f))
    return out


def test_the_proof_of_concept_columns_come_first_in_its_order(tmp_path):
    sink = CsvSink(tmp_path, KL, {"office": "Office"}, period=0)
    sink._write(batch(0, 1))
    header, row = rows(tmp_path)
    assert header[:len(POC_COLUMNS)] == POC_COLUMNS
    assert header[len(POC_COLUMNS):len(POC_COLUMNS) + 2] == ["meter", "location"]
    cell = dict(zip(header, row))
    assert cell["timestamp"] == "2026-12-01 10:00:00"  # local time, the proof of concept's format
    assert (row[1], row[4], row[7], row[10], row[12]) == ("400.0", "230.0", "10.0", "0.0", "50.0")


def test_a_batch_delivered_again_after_a_crash_is_not_appended_twice(tmp_path):
    first = CsvSink(tmp_path, KL, {"office": "Office"}, period=0)
    first._write(batch(0, 10))
    first._write(batch(10, 10))  # written, but the crash came before the spool was acknowledged
    again = CsvSink(tmp_path, KL, {"office": "Office"}, period=0)  # the restart: a new sink, no memory
    again._write(batch(10, 10) + batch(20, 5))  # the spool delivers that batch again, then new ones
    again._write(batch(20, 5))  # and once more, in the same run
    data = rows(tmp_path)[1:]
    powers = [float(r[10]) for r in data]
    assert powers == [1000.0 * i for i in range(25)], "every reading once, in order"
    assert sum(r[0] == "timestamp" for r in rows(tmp_path)) == 1, "one header"


def test_a_disk_that_fills_half_way_through_an_append_leaves_no_partial_rows(small_fs):
    """A write that fails part-way (a real full tmpfs: only the slack of the file's last page is left) leaves the file as it was, so the
    retry appends each row once and no torn row sits in the middle of the file."""
    folder = small_fs.path / "csv"
    sink = CsvSink(folder, KL, {"office": "Office"}, period=0)
    sink._write(batch(0, 5))
    small_fs.fill()
    big = batch(5, 95)  # ~7.5 KB, less than Python's write buffer: only the file's last page has room
    try:
        sink._write(big)
        raise AssertionError("the disk should have been full")
    except OSError:
        pass
    small_fs.free()
    sink._write(big)
    with next(folder.glob("*.csv")).open(newline="") as f:
        lines = f.read().splitlines()
    assert all(line.count(",") == lines[0].count(",") for line in lines), "a torn row in the file"
    assert [float(r[10]) for r in list(csv.reader(lines))[1:]] == [1000.0 * i for i in range(100)]
