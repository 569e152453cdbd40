"""The raw archive: readings older than the retention go into monthly gzip CSV files, then out of
the database, so pruning loses nothing.

One file per meter and local month, <folder>/<site>/<meter>_<YYYY-MM>.csv.gz, in `wattlog export`'s
CSV (import-csv reads it back), in time order. Rows leave the database by local day: each day
that passes the retention is appended to its month's file as one more gzip member (a file of
several members is one gzip stream to gzip, zcat and Python). The order is crash-safe: the new
file (the old bytes, then the new rows) is written under a temporary name, fsynced, renamed and
its folder fsynced; only then are the rows deleted, a day at a time, and a day only if it still
holds exactly the rows that went into the file (a reading that came in meanwhile waits for the
next run). Rows the file may have already (a crash between rename and delete, or readings
imported late) are merged instead of appended: the file is never written over with less, and
no row is in it twice.
"""

from __future__ import annotations

import csv
import fcntl
import gzip
import heapq
import io
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import and_, func, select

from ..errors import ArchiveStopped, StoreError
from . import statements as st
from .buckets import naive_utc
from .export import CSV_COLUMNS, csv_row
from .schema import readings
from .store import Store

SUFFIX = ".csv.gz"
LOCK_NAME = ".archive.lock"
CHECK_EVERY = 5000  # rows between looks at `stop` (a service stop must not wait for a whole month)


@dataclass
class ArchiveResult:
    files: list[Path] = field(default_factory=list)  # written or extended this run
    archived: int = 0  # rows newly written to files
    deleted: int = 0  # raw rows removed from the database
    waiting: list[str] = field(default_factory=list)  # "meter YYYY-MM": readings came in meanwhile


def boundary(store: Store, raw_days: float, now: datetime | None = None) -> datetime:
    """The start (aware UTC) of the local day that holds now - raw_days: rows before it are archived."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=raw_days)
    local = cutoff.astimezone(store.tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)


def month_path(folder: Path, site: str, meter: str, month: str) -> Path:
    return folder / site / f"{meter}_{month}{SUFFIX}"


def archive(store: Store, folder: Path, before: datetime, stop: Callable[[], bool] = lambda: False,
            step: Callable[[str, Path], None] | None = None) -> ArchiveResult:
    """Archive and delete every meter's raw rows before `before` (a local midnight), month by month.

    `stop()` is looked at now and then (raises ArchiveStopped: nothing half-done is left). `step(what,
    path)` is called after each file is complete ("written") and after its rows are gone
    ("deleted"): tests inject crashes there.
    """
    result = ArchiveResult()
    site_dir = folder / store.site
    site_dir.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        for tmp in site_dir.glob(f".*{SUFFIX}.tmp"):  # left by a crash mid-write (we hold the lock)
            tmp.unlink(missing_ok=True)
        with store._tx() as conn:
            meters = [(m.id, m.name, conn.execute(st.oldest(), {"m": m.id}).scalar())
                      for m in store._meters(conn).values()]
        for meter_id, name, oldest in sorted(meters, key=lambda m: m[1]):
            if oldest is None:
                continue
            start = _month_start(store, oldest.replace(tzinfo=timezone.utc))
            while start < before:
                end = min(_month_start(store, start + timedelta(days=32)), before)
                path = month_path(folder, store.site, name, start.astimezone(store.tz).strftime("%Y-%m"))
                counts = _write_month(store, name, start, end, path, stop, result)
                if counts is None:  # no raw rows in this month
                    start = end
                    continue
                if step:
                    step("written", path)
                _delete_month(store, meter_id, name, start, end, counts, result, stop)
                if step:
                    step("deleted", path)
                start = end
    return result


def _month_start(store: Store, t: datetime) -> datetime:
    local = t.astimezone(store.tz)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)


class _locked:
    """One archiver at a time per folder (the service's hourly run and `wattlog archive`)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise StoreError(f"another wattlog is archiving into {self.path.parent}",
                             fix="wait for it to finish and run this again") from None

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


def _db_rows(store: Store, meter: str, start: datetime, end: datetime,
             counts: dict[int, int]) -> Iterator[tuple[datetime, list[str]]]:
    """(UTC time, CSV row) of the month's raw rows in time order; counts rows per day slice."""
    lo = naive_utc(start)
    for r in store.readings(meter, start, end):
        day = (naive_utc(r["timestamp"]) - lo).days
        counts[day] = counts.get(day, 0) + 1
        yield r["timestamp"], csv_row(r, store.tz)


def _file_rows(path: Path) -> Iterator[tuple[datetime, list[str]]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header != CSV_COLUMNS:
            raise StoreError(f"{path} has other columns than this version writes",
                             fix="move it out of the archive folder and run the archive again")
        for row in rows:
            yield datetime.fromisoformat(row[0]), row


def _write_month(store: Store, meter: str, start: datetime, end: datetime, path: Path,
                 stop: Callable[[], bool], result: ArchiveResult) -> dict[int, int] | None:
    """Write (or extend) the month's file with the rows of [start, end); the database rows per
    day slice, None if it had none."""
    counts: dict[int, int] = {}
    new_rows = _db_rows(store, meter, start, end, counts)
    first = next(new_rows, None)
    if first is None:
        return None  # pruned already: an existing file is left exactly as it is
    rows: Iterator[tuple[datetime, list[str], bool]] = ((t, row, True) for t, row in _chain(first, new_rows))
    keep: Path | None = None  # a file whose bytes the new one starts with
    header = True
    if path.exists():
        last = _last_time(path)
        if last is None or first[0] > last:  # the usual case, a day more: a gzip member appended
            keep, header = path, False
        else:  # rows the file may have (a crash after the rename, a late import): merged, each time once
            rows = _merge(_file_rows(path), (r[:2] for r in rows))
    added = 0
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as raw:
            if keep is not None:
                with keep.open("rb") as src:
                    shutil.copyfileobj(src, raw, 1 << 20)
            gz = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0)  # closing it leaves `raw` open for the fsync
            with io.TextIOWrapper(gz, encoding="utf-8", newline="") as text:
                writer = csv.writer(text, lineterminator="\n")
                if header:
                    writer.writerow(CSV_COLUMNS)
                for n, (_, row, new) in enumerate(rows, 1):
                    writer.writerow(row)
                    added += new
                    if n % CHECK_EVERY == 0 and stop():
                        raise ArchiveStopped("stopped")
            raw.flush()
            os.fsync(raw.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if added == 0:  # every row is in the file already (a crash after the rename): keep it untouched
        tmp.unlink()
        return counts
    os.replace(tmp, path)
    fsync_dir(path.parent)
    result.files.append(path)
    result.archived += added
    return counts


def _last_time(path: Path) -> datetime | None:
    """The time of the file's last row (None: only the header); the file is in time order."""
    tail = b""
    with gzip.open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            tail = (tail + chunk)[-8192:]
    line = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    if line.startswith(b"timestamp,"):
        return None
    return datetime.fromisoformat(line.split(b",", 1)[0].decode())


def _chain(first: tuple[datetime, list[str]], rest: Iterator[tuple[datetime, list[str]]]):  # type: ignore[no-untyped-def]
    yield first
    yield from rest


def _merge(old: Iterator[tuple[datetime, list[str]]], new: Iterator[tuple[datetime, list[str]]]):  # type: ignore[no-untyped-def]
    """The file's rows and the database's, in time order; a time both have: the file's row, once."""
    tagged = heapq.merge(((t, 0, row) for t, row in old), ((t, 1, row) for t, row in new), key=lambda x: (x[0], x[1]))
    last = None
    for t, source, row in tagged:
        if t == last:
            continue
        last = t
        yield t, row, source == 1


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (the daily CSV's compression uses it too)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _delete_month(store: Store, meter_id: int, meter: str, start: datetime, end: datetime,
                  counts: dict[int, int], result: ArchiveResult, stop: Callable[[], bool]) -> None:
    """Delete the month's rows a day slice at a time, each only if it holds what was archived."""
    lo, hi = naive_utc(start), naive_utc(end)
    with store._tx(write=True) as conn:  # first mark, then delete (as Store.prune)
        pruned = conn.execute(st.meter_by_id(), {"m": meter_id}).one().pruned_before
        if pruned is None or pruned < hi:
            conn.execute(st.set_pruned(), {"m": meter_id, "cutoff": hi})
    count = select(func.count()).select_from(readings).where(
        and_(readings.c.meter_id == st.M, readings.c.ts >= st.LO, readings.c.ts < st.HI))
    day = 0
    while lo + timedelta(days=day) < hi:
        if stop():
            raise ArchiveStopped("stopped")
        a, b = lo + timedelta(days=day), min(lo + timedelta(days=day + 1), hi)
        with store._tx(write=True) as conn:
            have = conn.execute(count, {"m": meter_id, "lo": a, "hi": b}).scalar() or 0
            if have == counts.get(day, 0):
                if have:
                    result.deleted += conn.execute(st.prune(), {"m": meter_id, "lo": a, "hi": b}).rowcount
            else:
                tag = f"{meter} {start.astimezone(store.tz):%Y-%m}"
                if tag not in result.waiting:
                    result.waiting.append(tag)
        day += 1
