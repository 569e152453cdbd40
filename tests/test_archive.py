"""The raw archive (issue 14): old raw readings into monthly .csv.gz files, then out of SQLite;
crash-safe, never doubled, never written over with less; import-csv reads them back."""

from __future__ import annotations

import asyncio
import gzip
import io
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from wattlog.reading import IMPLAUSIBLE, MISSING, Problem, Reading
from wattlog.store import Store, export_rows, import_poc_csv
from wattlog.store.archive import archive, boundary, month_path

UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)
DAYS = 90


def readings(meter: str, start: datetime, end: datetime, step: timedelta) -> list[Reading]:
    out, t, i = [], start, 0
    while t < end:
        problems = {}
        if i % 7 == 3:
            problems = {"current_l1": Problem(MISSING, "no answer")}
        elif i % 11 == 5:
            problems = {"frequency": Problem(IMPLAUSIBLE, "out of range", 99.0)}
        values = {"voltage_l1": 230.0 + (i % 13) / 7, "total_real_power": 1500.0 + i * 0.37,
                  "total_real_energy": 1000.0 + i / 3, "current_l1": 6.5, "frequency": 50.01}
        for q in problems:
            values.pop(q)
        out.append(Reading(meter, t + timedelta(microseconds=i % 3 * 1001), "rx380", values, problems))
        t += step
        i += 1
    return out


def snapshot(store: Store, end: datetime | None = None) -> list[dict]:
    return list(store.readings(end=end))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("archive") / "w.db"
    s = Store(f"sqlite:///{path}", site="plant", tz="Asia/Kuala_Lumpur")
    s.migrate()
    start = NOW - timedelta(days=DAYS + 75)
    for meter in ("office", "shop"):
        s._write(readings(meter, start, NOW, timedelta(hours=6)), rollups=False)  # the archive reads raw rows only
    s.close()
    return path


@pytest.fixture
def store(tmp_path, template):
    shutil.copyfile(template, tmp_path / "w.db")  # one database built per module: each test gets its copy
    s = Store(f"sqlite:///{tmp_path / 'w.db'}", site="plant", tz="Asia/Kuala_Lumpur")
    yield s
    s.close()


def file_rows(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read().splitlines()[1:]


def test_archive_then_prune_then_import_csv_gives_back_the_same_rows(store, tmp_path):
    before = boundary(store, DAYS)
    old = snapshot(store, before)
    assert len(old) > 300
    cli = [sys.executable, "-m", "wattlog.cli", "archive", "--db", str(store.url), "--dir", str(tmp_path / "arch"),
           "--days", str(DAYS)]
    done = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert snapshot(store, before) == []  # pruned: the database keeps only what is not archived
    assert snapshot(store) and min(r["timestamp"] for r in snapshot(store)) >= before
    files = sorted((tmp_path / "arch" / "plant").glob("*.csv.gz"))
    assert {f.name.split("_")[0] for f in files} == {"office", "shop"}
    assert sum(len(file_rows(f)) for f in files) == len(old)
    assert store.meters()[0]["pruned_before"] == before
    result = import_poc_csv(store, files, None)  # import-csv's own function (its CLI adds only the options)
    assert result.rows_inserted == len(old) and not result.refused
    assert snapshot(store, before) == old  # values, microseconds and flags (with their reasons)


def test_a_crash_between_the_file_and_the_delete_loses_and_doubles_nothing(store, tmp_path):
    before = boundary(store, DAYS)
    old = snapshot(store, before)
    folder = tmp_path / "arch"
    script = textwrap.dedent(f"""
        import os
        from datetime import datetime
        from pathlib import Path
        from wattlog.store import Store, export_rows, import_poc_csv
        from wattlog.store import archive as a
        a.CHECK_EVERY = 20
        s = Store({str(store.url)!r}, site="plant", tz="Asia/Kuala_Lumpur")
        crash = os.environ["CRASH"]
        def step(what, path):
            if what == crash:
                os._exit(9)
        looked = 0
        def stop():
            global looked
            looked += 1
            if crash == "writing" and looked == 2:
                os._exit(9)  # in the middle of the first file
            return False
        a.archive(s, Path({str(folder)!r}), datetime.fromisoformat({before.isoformat()!r}), stop, step)
    """)
    for crash in ("writing", "written", "deleted"):  # killed mid-file, after the rename, after one month's delete
        done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "CRASH": crash}, timeout=60)
        assert done.returncode == 9
        files = sorted((folder / "plant").glob("*.csv.gz"))
        in_db = snapshot(store, before)
        in_files = sum(len(file_rows(f)) for f in files)
        assert in_files + len(in_db) >= len(old)  # nothing lost at any point
        if crash == "writing":
            assert files == [] and in_db == old and list((folder / "plant").glob(".*.tmp"))
    result = archive(store, folder, before)
    files = sorted((folder / "plant").glob("*.csv.gz"))
    rows = [line for f in files for line in file_rows(f)]
    assert len(rows) == len(set(rows)) == len(old)  # nothing doubled
    assert snapshot(store, before) == []
    assert result.deleted > 0
    assert not list((folder / "plant").glob(".*.tmp"))


def test_an_archived_month_is_never_written_over_with_less(store, tmp_path):
    before = boundary(store, DAYS)
    folder = tmp_path / "arch"
    archive(store, folder, before)
    files = sorted((folder / "plant").glob("*.csv.gz"))
    kept = {f: (f.read_bytes(), f.stat().st_mtime_ns) for f in files}
    again = archive(store, folder, before)  # nothing left in the database for those months
    assert again.files == [] and again.archived == 0
    assert {f: (f.read_bytes(), f.stat().st_mtime_ns) for f in files} == kept
    # a reading imported late into an archived month: added to its file, in time order, once
    first = files[0]
    meter, month = first.name[:-len(".csv.gz")].split("_")
    late_t = datetime.fromisoformat(month + "-15T12:00:00+08:00").astimezone(UTC) + timedelta(seconds=1)
    store.write([Reading(meter, late_t, "rx380", {"total_real_power": 42.0})])
    third = archive(store, folder, before)
    assert third.files == [first] and third.archived == 1
    rows = file_rows(first)
    assert len(rows) == len(file_rows_bytes(kept[first][0])) + 1
    times = [datetime.fromisoformat(r.split(",")[0]) for r in rows]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert snapshot(store, before) == []


def file_rows_bytes(data: bytes) -> list[str]:
    return gzip.decompress(data).decode().splitlines()[1:]


def test_a_reading_that_comes_in_while_archiving_waits_for_the_next_run(store, tmp_path):
    before = boundary(store, DAYS)
    old = snapshot(store, before)
    folder = tmp_path / "arch"
    late: list[Reading] = []

    def step(what, path):
        if what == "written" and not late:
            meter, month = path.name[:-len(".csv.gz")].split("_")
            t = datetime.fromisoformat(month + "-10T08:00:00+08:00").astimezone(UTC) + timedelta(milliseconds=5)
            late.append(Reading(meter, t, "rx380", {"total_real_power": 7.0}))
            store.write(late)

    result = archive(store, folder, before, step=step)
    assert result.waiting  # that day was left in the database, the rest went
    left = snapshot(store, before)
    assert 0 < len(left) < len(old)
    result = archive(store, folder, before)
    assert snapshot(store, before) == []
    rows = [line for f in (folder / "plant").glob("*.csv.gz") for line in file_rows(f)]
    assert len(rows) == len(set(rows)) == len(old) + 1


def test_the_service_step_archives_instead_of_deleting(store, tmp_path):
    from wattlog.config import Config
    from wattlog.sinks.database import DatabaseConfig, DatabaseSink

    cfg = Config(path="", site="plant", timezone="Asia/Kuala_Lumpur", data_dir=tmp_path)
    sink = DatabaseSink(DatabaseConfig(url=str(store.url), shown=str(store.url)), cfg)
    before = boundary(store, DAYS)
    old = snapshot(store, before)
    asyncio.run(sink.prune(DAYS, tmp_path / "arch"))
    assert snapshot(store, before) == []
    assert NOW - timedelta(days=DAYS + 1) < before <= NOW - timedelta(days=DAYS)  # kept to the local day
    assert min(r["timestamp"] for r in snapshot(store)) >= before
    rows = [line for f in (tmp_path / "arch" / "plant").glob("*.csv.gz") for line in file_rows(f)]
    assert len(rows) == len(old)
    assert month_path(tmp_path / "arch", "plant", "office", "2000-01").name == "office_2000-01.csv.gz"


def test_each_day_past_the_retention_is_appended_to_its_month(store, tmp_path):
    folder = tmp_path / "arch"
    days = [boundary(store, DAYS + 40 - d) for d in range(0, 45, 4)]  # the hourly step, day after day
    out = io.StringIO()
    export_rows(store, end=days[-1], out=out)
    exported = out.getvalue().splitlines()[1:]
    for before in days:
        archive(store, folder, before)
    assert snapshot(store, days[-1]) == []
    files = sorted((folder / "plant").glob("*.csv.gz"))
    for f in files:
        rows = file_rows(f)  # one header (the first line, dropped), none in the appended members
        times = [datetime.fromisoformat(r.split(",")[0]) for r in rows]
        assert times == sorted(times) and len(set(times)) == len(times)
    assert sum(gzip.decompress(f.read_bytes()).count(b"\ntimestamp,") for f in files) == 0
    assert [line for f in files for line in file_rows(f)] == exported  # what `wattlog export` gives, row for row
