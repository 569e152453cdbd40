"""Closed days of the daily CSV files: compressed (gzip) once the day is over, deleted after keep_days.

Today's file stays plain: spreadsheets open it while it grows. A file is gzipped to a temporary
name, fsynced and renamed before the plain one is removed, so a crash leaves one whole copy at
least; rows that come in for a day already compressed (a backlog) land in a new plain file and
are merged into the .gz at the next tidy, never twice.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from ..store.archive import fsync_dir

log = logging.getLogger("wattlog.csv")

NAME = re.compile(r"^(?P<prefix>.+)_(?P<day>\d{4}-\d{2}-\d{2})(?:_\d+)?\.csv(?P<gz>\.gz)?$")


@dataclass(frozen=True)
class CsvKeep:
    keep_days: int = 0  # 0: keep every day
    compress: bool = False  # the config's default is on ([csv] compress)


def tidy(folder: Path, prefix: str, today: date, keep: CsvKeep) -> tuple[int, int]:
    """Compress the closed days' plain files, delete days older than keep_days: (compressed, deleted)."""
    compressed = deleted = 0
    if not folder.is_dir():
        return 0, 0
    oldest = today - timedelta(days=keep.keep_days) if keep.keep_days else None
    for path in sorted(folder.iterdir()):
        if path.name.startswith(f".{prefix}_") and path.name.endswith(".csv.gz.tmp"):
            path.unlink(missing_ok=True)  # a compress() a crash cut short: the plain file is still there
            continue
        m = NAME.match(path.name)
        if not m or m["prefix"] != prefix:
            continue  # not one of ours: never touched
        try:
            day = date.fromisoformat(m["day"])
        except ValueError:
            continue
        if oldest is not None and day < oldest:
            path.unlink(missing_ok=True)
            deleted += 1
        elif keep.compress and not m["gz"] and day < today:
            compress(path)
            compressed += 1
    return compressed, deleted


def compress(path: Path) -> Path:
    """path.csv → path.csv.gz (merged into one that exists, without the rows it has); returns it."""
    target = path.with_name(path.name + ".gz")
    tmp = path.with_name(f".{target.name}.tmp")
    try:
        with open(tmp, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb") as gz:
                if target.exists():
                    _merge(target, path, gz)
                else:
                    with path.open("rb") as src:
                        shutil.copyfileobj(src, gz, 1 << 20)
            raw.flush()
            os.fsync(raw.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
    fsync_dir(path.parent)
    path.unlink()
    return target


def _merge(target: Path, path: Path, gz: gzip.GzipFile) -> None:
    """The .gz's lines, then the plain file's lines it does not have (its header included)."""
    seen: set[bytes] = set()
    with gzip.open(target, "rb") as old:
        for line in old:
            seen.add(line)
            gz.write(line)
    added = 0
    with path.open("rb") as new:
        for line in new:
            if line not in seen:
                gz.write(line)
                added += 1
    if added:
        log.info("%s: %d rows that came in late added to %s", path.name, added, target.name)
