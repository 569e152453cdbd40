"""Daily CSV files for spreadsheets: the proof of concept's columns first, appended every 5 minutes.

One file per local day, header once. Rows are written whole and fsynced; a torn last row left by
a crash is cut off at the next start, and a batch delivered again after a crash is not doubled.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import logging
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..quantities import QUANTITIES
from ..reading import Reading
from ..validate import Checker
from .base import Sink, SinkSection
from .csvkeep import CsvKeep, tidy

log = logging.getLogger("wattlog.csv")

LEGACY = ["timestamp", "voltage_l12", "voltage_l23", "voltage_l31", "voltage_l1", "voltage_l2", "voltage_l3",
          "current_l1", "current_l2", "current_l3", "total_real_power", "total_power_factor", "frequency"]
COLUMNS = LEGACY + ["meter", "location"] + [q for q in QUANTITIES if q not in LEGACY] + ["quality"]
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # the proof of concept's; milliseconds are added for sub-second polls
METER = COLUMNS.index("meter")
KEEP_DAYS = 90  # as the raw retention: older days are in the archive (README: what fits a 32 GB card)


def repair_tail(path: Path) -> int:
    """Cut a torn last line (no newline) left by a crash; returns the bytes removed."""
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return 0
        chunk = min(size, 1 << 16)
        f.seek(size - chunk)
        tail = f.read(chunk)
        cut = tail.rfind(b"\n")
        keep = size - chunk + cut + 1 if cut >= 0 else 0
        f.truncate(keep)
        os.fsync(f.fileno())
        return size - keep


def _append(path: Path, data: bytes) -> None:
    """Append `data` whole and fsync it, or leave the file as it was (e.g. a disk that fills
    half-way). Unbuffered: a buffered file would try to flush again before truncating, fail
    on the full disk again, and leave the rows written so far, to be appended again later."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)


class _DayFile:
    """One day's file and, per meter, the last timestamp written and the rows written at it.

    A batch delivered again after a crash is a suffix of what was written: rows older than the
    last timestamp, or equal to a row already at it, are skipped. (Timestamps have whole seconds,
    so several readings of one meter may share one: they differ in their values.)
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.last: dict[str, tuple[str, set[tuple[str, ...]]]] = {}
        packed = path.with_name(path.name + ".gz")  # the day closed and was compressed (csvkeep.py)
        if packed.exists():
            with gzip.open(packed, "rt", newline="", encoding="utf-8") as f:
                self._read(f, packed)
        if path.exists():
            removed = repair_tail(path)
            if removed:
                log.warning("%s: removed a torn last row (%d bytes) left by a crash", path, removed)
            with path.open(newline="", encoding="utf-8") as f:
                self._read(f, path)

    def _read(self, f: Any, path: Path) -> None:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is not None and header != COLUMNS:
            raise ValueError(f"{path} has other columns than this version writes")
        for row in rows:
            if len(row) == len(COLUMNS):
                self.remember(row)

    def remember(self, row: list[str]) -> None:
        meter, ts = row[METER], row[0]
        last = self.last.get(meter)
        if last is None or ts > last[0]:
            self.last[meter] = (ts, {tuple(row)})
        elif ts == last[0]:
            last[1].add(tuple(row))

    def written(self, row: list[str]) -> bool:
        last = self.last.get(row[METER])
        return last is not None and (row[0] < last[0] or (row[0] == last[0] and tuple(row) in last[1]))


class CsvSink(Sink):
    name = "csv"

    def __init__(self, folder: Path, tz: ZoneInfo, locations: dict[str, str], period: float = 300.0,
                 prefix: str = "wattlog", poll: float = 10.0, keep: CsvKeep | None = None) -> None:
        self.folder, self.tz, self.locations, self.period, self.prefix = folder, tz, locations, period, prefix
        self.millis = poll < 1.0
        self.keep = keep or CsvKeep()
        self._files: dict[str, _DayFile] = {}
        self._tidied: date | None = None  # the local day of the last tidy (once a day, in the writer's thread)

    def _file(self, day: str) -> _DayFile:
        f = self._files.get(day)
        if f is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{self.prefix}_{day}.csv"
            n = 1
            while True:
                try:
                    f = _DayFile(path)
                    break
                except ValueError as exc:  # a file from another version: don't mix columns
                    n += 1
                    log.warning("%s; writing %s_%s_%d.csv instead", exc, self.prefix, day, n)
                    path = self.folder / f"{self.prefix}_{day}_{n}.csv"
            self._files[day] = f
        return f

    def _row(self, r: Reading, ts: str) -> list[str]:
        cells = {"timestamp": ts, "meter": r.meter, "location": self.locations.get(r.meter, r.meter),
                 "quality": "; ".join(f"{n}: {p}" for n, p in sorted(r.problems.items()))}
        cells.update({n: repr(v) for n, v in r.values.items() if n in QUANTITIES})
        return [cells.get(c, "") for c in COLUMNS]

    def _write(self, readings: list[Reading]) -> None:
        rows: dict[str, list[list[str]]] = {}
        for r in readings:
            local = r.timestamp.astimezone(self.tz)
            day = local.strftime("%Y-%m-%d")
            ts = local.strftime(TIME_FORMAT) + (f".{local.microsecond // 1000:03d}" if self.millis else "")
            row = self._row(r, ts)
            if self._file(day).written(row) or row in rows.get(day, ()):
                continue  # delivered before a crash: already in the file
            rows.setdefault(day, []).append(row)
        for day, day_rows in rows.items():
            f = self._files[day]
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            if not f.path.exists() or f.path.stat().st_size == 0:
                w.writerow(COLUMNS)
            w.writerows(day_rows)
            _append(f.path, buf.getvalue().encode("utf-8"))
            for row in day_rows:  # only now: a failed write is retried in full
                f.remember(row)
        if len(self._files) > 1:  # keep only the newest day's file in memory
            newest = max(self._files)
            self._files = {newest: self._files[newest]}
        self._tidy()

    def _tidy(self) -> None:
        """Once a local day: compress the closed days, delete the expired ones (never while writing)."""
        today = datetime.now(self.tz).date()
        if self._tidied == today:
            return
        self._tidied = today
        try:
            done, gone = tidy(self.folder, self.prefix, today, self.keep)
        except OSError as exc:  # a full disk: the day's rows are written; the tidy waits for tomorrow
            log.warning("%s: compressing or deleting old daily files failed: %s", self.folder, exc)
            return
        if done or gone:
            log.info("%s: %d closed day(s) compressed, %d older than %d days deleted", self.folder, done, gone,
                     self.keep.keep_days)
        self._files = {d: f for d, f in self._files.items() if d >= today.isoformat()}  # closed days: read anew

    async def deliver(self, readings: list[Reading]) -> None:
        await asyncio.to_thread(self._write, readings)


@dataclass(frozen=True)
class CsvConfig:
    folder: Path
    keep: CsvKeep


def parse_csv(c: Checker, csv_table: Any, cfg: Any) -> CsvConfig | None:
    """[csv]: on by default, daily files in the data folder's csv/, closed days gzipped, kept KEEP_DAYS."""
    csv = c.section({"csv": csv_table}, "csv") if csv_table is not None else {}
    c.keys(csv, {"enabled", "dir", "keep_days", "compress"}, "csv.")
    folder = c.resolve(c.string(csv, "dir", "csv.", str(cfg.data_dir / "csv")))
    keep_days = c.number(csv, "keep_days", "csv.", KEEP_DAYS, 0, 36500)
    if keep_days != int(keep_days):
        c.fail("csv.keep_days", f"expected whole days, got {keep_days!r}", "e.g. keep_days = 90 (0 keeps every day)")
    keep = CsvKeep(int(keep_days), c.flag(csv, "compress", "csv.", True))
    return CsvConfig(folder, keep) if c.flag(csv, "enabled", "csv.", True) else None


SECTION = SinkSection("csv", parse_csv, lambda csv, cfg: [
    CsvSink(csv.folder, cfg.tz, {m.name: m.location for m in cfg.meters}, cfg.csv_interval, poll=cfg.poll,
            keep=csv.keep)])
