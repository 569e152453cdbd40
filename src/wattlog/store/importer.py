"""Import the proof of concept's daily CSV files: naive local times, a header once, empty = missing."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from ..meters.definition import get_model
from ..quantities import QUANTITIES
from ..reading import MISSING, Problem, Reading, check_plausible
from .buckets import naive_utc, to_us
from .export import POC_COLUMNS
from .refresh import add_run
from .store import Store

POC_ORDER = ["timestamp", *POC_COLUMNS]
NO_VALUE = {"", "none", "nan", "null", "n/a", "-"}  # what the PoC or a spreadsheet writes for "not read"
BATCH = 5000
_TS = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?"
                 r"\s*(Z|[+-]\d{2}:?\d{2})?$")


@dataclass(frozen=True)
class SkippedRow:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class ImportResult:
    files: int = 0
    rows_read: int = 0
    rows_inserted: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)  # bad rows, with file, line and reason
    notes: list[str] = field(default_factory=list)  # e.g. columns that were ignored

    @property
    def rows_skipped_with_reasons(self) -> list[SkippedRow]:
        return self.skipped

    @property
    def rows_duplicate(self) -> int:
        """Good rows already in the store (a re-import) or repeated within the files."""
        return self.rows_read - self.rows_inserted - len(self.skipped)


def parse_timestamp(text: str, tz: ZoneInfo) -> datetime:
    """Aware UTC from '2025-03-01 08:00:10' (local), with T, slashes, fractions or an offset.

    Raises ValueError with the reason; a local time that a DST change makes ambiguous or
    impossible is refused rather than guessed.
    """
    m = _TS.match(text.strip())
    if not m:
        raise ValueError(f"unreadable timestamp {text!r} (expected e.g. 2025-03-01 08:00:10)")
    y, mo, d, h, mi, s, frac, off = m.groups()
    naive = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), int((frac or "0").ljust(6, "0")))
    if off:
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "") if off != "Z" else "0000"
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:])) * sign if off != "Z" else timedelta(0)
        return naive.replace(tzinfo=timezone(offset)).astimezone(timezone.utc)
    early, late = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if early.utcoffset() != late.utcoffset():
        raise ValueError(f"local time {text.strip()} is ambiguous or skipped in {tz.key} (a DST change)")
    return early.astimezone(timezone.utc)


def import_poc_csv(store: Store, paths: Iterable[str | Path], meter: str, tz: str | None = None,
                   progress: Callable[[str, ImportResult], None] | None = None) -> ImportResult:
    """Import PoC CSV files into `meter` (a `meter` column, if any, overrides it per row).

    Idempotent: rows already stored are counted as duplicates. Bad rows are skipped and listed
    with file and line. Rollups of everything inserted are rebuilt once, at the end; each batch
    records what it leaves to rebuild in the same transaction (Store.write(defer=True)), so an
    import that dies half-way is repaired by the next start of the store (Store.migrate()).
    `progress(path, result)` is called after each batch and each file.
    """
    zone = ZoneInfo(tz) if tz else store.tz
    model = get_model("rx380")
    result, batch = ImportResult(), []  # type: ImportResult, list[Reading]
    # Every good row's time, inserted now or before: a re-import also repairs the rollups of an
    # import that failed half-way before revision 0003 (rebuilding rollups is idempotent).
    runs: dict[str, list[tuple[int, int]]] = {}

    def flush(path: str) -> None:
        result.rows_inserted += store.write(batch, defer=True)
        batch.clear()
        if progress:
            progress(path, result)

    for path in map(str, paths):
        result.files += 1
        with open(path, newline="", encoding="utf-8-sig") as f:
            columns: list[str] | None = None
            reader = csv.reader(f)
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if row[0].strip().lower() == "timestamp":  # the header (again, if files were joined)
                    columns = _header(row, path, result)
                    continue
                columns = columns or POC_ORDER  # no header: the PoC's column order
                result.rows_read += 1
                try:
                    batch.append(_reading(row, columns, meter, zone))
                except ValueError as exc:
                    result.skipped.append(SkippedRow(path, reader.line_num, str(exc)))
                    continue
                check_plausible(batch[-1], model, {})
                add_run(runs.setdefault(batch[-1].meter, []), to_us(naive_utc(batch[-1].timestamp)), store.rules)
                if len(batch) >= BATCH:
                    flush(path)
        flush(path)
    ids = {m["name"]: m["id"] for m in store.meters()}
    store._mark_pending({ids[name]: r for name, r in runs.items() if name in ids})
    store.refresh_pending()
    return result


def _header(row: list[str], path: str, result: ImportResult) -> list[str]:
    names = [c.strip().lower() for c in row]
    for name in names:
        if name not in QUANTITIES and name not in ("timestamp", "meter"):
            result.notes.append(f"{path}: column {name!r} is not a known quantity: ignored")
    return names


def _reading(row: list[str], columns: list[str], meter: str, zone: ZoneInfo) -> Reading:
    if len(row) != len(columns):
        raise ValueError(f"expected {len(columns)} columns, found {len(row)}")
    ts = parse_timestamp(row[columns.index("timestamp")], zone)
    values: dict[str, float] = {}
    problems: dict[str, Problem] = {}
    for name, cell in zip(columns, row):
        if name == "meter":
            meter = cell.strip() or meter
        if name not in QUANTITIES:
            continue
        text = cell.strip()
        if text.lower() in NO_VALUE:
            problems[name] = Problem(MISSING, "empty in the imported CSV")
            continue
        try:
            values[name] = float(text)
        except ValueError:
            raise ValueError(f"{name}: not a number {text!r}") from None
    if not values:
        raise ValueError("no values in the row")
    return Reading(meter, ts, "rx380", values, problems)
