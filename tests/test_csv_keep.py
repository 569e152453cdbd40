"""Issue 14: closed days of the daily CSV are gzipped and expire after [csv] keep_days; the service
warns once per episode when the data folder's disk passes 80 % (a real small tmpfs, filled)."""

from __future__ import annotations

import gzip
import logging
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from wattlog.config import ConfigProblems, load_config
from wattlog.reading import Reading
from wattlog.service.disk import DiskWatch
from wattlog.sinks.csvfiles import CsvSink
from wattlog.sinks.csvkeep import CsvKeep, compress, tidy

KL = ZoneInfo("Asia/Kuala_Lumpur")
TODAY = datetime.now(KL).date()


def day_readings(days_ago: int, n: int = 3, first: int = 0) -> list[Reading]:
    noon = datetime.combine(TODAY - timedelta(days=days_ago), time(12), tzinfo=KL).astimezone(timezone.utc)
    if days_ago == 0:  # today: what has been polled so far
        noon = min(noon, datetime.now(timezone.utc) - timedelta(minutes=5))
    return [Reading("office", noon + timedelta(seconds=10 * (first + i)), "rx380", {"total_real_power": float(first + i)})
            for i in range(n)]


def lines(path: Path) -> list[str]:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return data.decode().splitlines()


def name(days_ago: int) -> str:
    return f"wattlog_{TODAY - timedelta(days=days_ago)}.csv"


def test_closed_days_are_gzipped_and_old_ones_deleted_today_stays_plain(tmp_path):
    sink = CsvSink(tmp_path, KL, {"office": "Office"}, period=0, keep=CsvKeep(keep_days=3, compress=True))
    sink._write([r for d in (5, 4, 2, 1, 0) for r in day_readings(d)])
    (tmp_path / "notes.csv").write_text("mine\n")  # not one of the sink's files: never touched
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["notes.csv", name(0), name(1) + ".gz", name(2) + ".gz"])  # 5 and 4 days ago: older than 3 days
    assert len(lines(tmp_path / (name(1) + ".gz"))) == 4  # header and its 3 rows
    # after a restart the spool delivers yesterday's batch again, and one more row: none twice
    again = CsvSink(tmp_path, KL, {"office": "Office"}, period=0, keep=CsvKeep(keep_days=3, compress=True))
    again._write(day_readings(1, 4))  # its first tidy merges the new row into yesterday's .gz
    merged = lines(tmp_path / (name(1) + ".gz"))
    assert len(merged) == 5 and len(set(merged)) == 5 and merged[0].startswith("timestamp,")
    assert not (tmp_path / name(1)).exists()


def test_a_crash_between_rename_and_unlink_doubles_nothing(tmp_path):
    plain = tmp_path / name(1)
    plain.write_text("timestamp,x\n1,2\n3,4\n")
    (tmp_path / (name(1) + ".gz")).write_bytes(gzip.compress(plain.read_bytes()))  # renamed, not yet unlinked
    (tmp_path / f".{name(2)}.gz.tmp").write_bytes(b"\x1f\x8b")  # a compress cut short the day before
    compress(plain)
    assert lines(tmp_path / (name(1) + ".gz")) == ["timestamp,x", "1,2", "3,4"]
    assert tidy(tmp_path, "wattlog", TODAY, CsvKeep(0, True)) == (0, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name(1) + ".gz"]


@pytest.mark.parametrize("patch, key, words", [
    ('[csv]\nkeep_days = -1\n', "csv.keep_days", "0 to 36500"),
    ('[csv]\nkeep_days = 1.5\n', "csv.keep_days", "whole days"),
    ('[csv]\ncompress = "yes"\n', "csv.compress", "true or false"),
    ('[archive]\nenabled = 1\n', "archive.enabled", "true or false"),
    ('[archive]\nfolder = "x"\n', "archive.folder", "dir"),
])
def test_config_keys_name_file_key_and_fix(tmp_path, patch, key, words):
    p = tmp_path / "wattlog.toml"
    p.write_text('[[meters]]\nname = "office"\nurl = "tcp://h/1"\n' + patch)
    with pytest.raises(ConfigProblems) as err:
        load_config(p)
    hits = [str(x) for x in err.value.problems if f": {key}: " in str(x)]
    assert hits and str(p) in hits[0] and words in hits[0] and "(fix: " in hits[0], err.value.problems


def test_defaults_compress_keep_90_days_and_archive(tmp_path):
    p = tmp_path / "wattlog.toml"
    p.write_text('[[meters]]\nname = "office"\nurl = "tcp://h/1"\n')
    cfg = load_config(p)
    assert cfg.outputs["csv"].keep == CsvKeep(90, True)
    assert cfg.archive_dir == tmp_path / "data" / "archive"


def test_the_disk_warning_comes_once_per_episode_with_what_uses_it(small_fs, caplog):
    data = small_fs.path / "data"
    (data / "csv").mkdir(parents=True)
    (data / "csv" / "wattlog_2026-01-01.csv.gz").write_bytes(b"x" * 300_000)
    (data / "wattlog.db").write_bytes(b"y" * 200_000)
    watch = DiskWatch(data, {"database": [data / "wattlog.db"], "CSV": [data / "csv"], "archive": [data / "archive"]})
    caplog.set_level(logging.INFO, "wattlog.service")
    assert watch.check() == ""  # 2 MB tmpfs, ~0.5 MB used
    filler = small_fs.path / "filler"
    filler.write_bytes(b"\0" * 1_300_000)  # ~1.8 of 2 MB: past 80 %
    warning = watch.check()
    assert "% full" in warning and "database 200 kB" in warning and "CSV 300 kB" in warning and "archive 0 kB" in warning
    assert watch.check() == warning  # still full: shown, not logged again
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "keep_days" in warned[0].getMessage()
    filler.unlink()
    assert watch.check() == ""
    filler.write_bytes(b"\0" * 1_300_000)  # a new episode: a new warning
    assert watch.check()
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_the_terminal_summary_shows_the_warning():
    from rich.console import Console

    from wattlog.live import LiveState
    from wattlog.service.terminal import summary_table

    console = Console(record=True, width=200)
    console.print(summary_table("plant", LiveState(KL, 60), {}, {"office": "Office"}, 10.0,
                                warning="the disk holding /data is 85 % full [x]"))
    assert "the disk holding /data is 85 % full [x]" in console.export_text()
