"""Import the proof of concept's daily CSV files: naive local times, a header once, empty = missing."""

from __future__ import annotations

import csv
import gzip
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator
from zoneinfo import ZoneInfo

from ..errors import ImportRefused, StoreError
from ..meters.definition import MeterModel, get_model
from ..quantities import NAME_PATTERN, QUANTITIES
from ..reading import IMPLAUSIBLE, MISSING, Problem, Reading, check_plausible
from .buckets import naive_utc, to_us
from .export import POC_COLUMNS
from .refresh import add_run
from .store import Store

POC_ORDER = ["timestamp", *POC_COLUMNS]
OWN_COLUMNS = {"timestamp", "meter", "location", "quality", "flags"}  # wattlog's daily CSV and export: no note
NO_VALUE = {"", "none", "nan", "null", "n/a", "-"}  # what the PoC or a spreadsheet writes for "not read"
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
class FileResult:
    """One file's outcome: imported whole (new rows, rows already there, bad rows) or refused whole."""

    path: str
    rows_read: int = 0
    rows_inserted: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)
    refused: str = ""  # why nothing of this file was imported

    @property
    def rows_duplicate(self) -> int:
        return self.rows_read - self.rows_inserted - len(self.skipped)

    def __str__(self) -> str:
        if self.refused:
            return f"{self.path}: not imported: {self.refused}"
        return (f"{self.path}: {self.rows_read:,} rows read: {self.rows_inserted:,} new, "
                f"{self.rows_duplicate:,} already there, {len(self.skipped):,} skipped")


@dataclass
class ImportResult:
    files: int = 0
    rows_read: int = 0
    rows_inserted: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)  # bad rows, with file, line and reason
    notes: list[str] = field(default_factory=list)  # e.g. columns that were ignored
    results: list[FileResult] = field(default_factory=list)  # one per file, in order

    @property
    def rows_skipped_with_reasons(self) -> list[SkippedRow]:
        return self.skipped

    @property
    def rows_duplicate(self) -> int:
        """Good rows already in the store (a re-import) or repeated within the files."""
        return self.rows_read - self.rows_inserted - len(self.skipped)

    @property
    def refused(self) -> list[FileResult]:
        return [r for r in self.results if r.refused]


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


def import_poc_csv(store: Store, paths: Iterable[str | Path], meter: str | None, tz: str | None = None,
                   progress: Callable[[str, ImportResult], None] | None = None,
                   check_meter: Callable[[str], str | None] | None = None) -> ImportResult:
    """Import PoC CSV files into `meter`, or, with meter=None, into each row's `meter` column.

    A file at a time, all or none: its good rows are written in one transaction, so a file that
    fails (a database error, a `meter` column that disagrees with `meter`, a meter name that
    `check_meter(name)` refuses with a reason) leaves nothing behind, and the next file goes on.
    Bad rows, undecodable bytes included, are skipped and listed with file and line.
    Idempotent: rows already stored are counted as duplicates, also when the file's timestamps
    are cut to whole seconds or milliseconds (wattlog's own daily CSV) and the store has microseconds.
    Rollups of everything inserted are rebuilt once, at the end; each file records what it leaves
    to rebuild in the same transaction (Store.write(defer=True)), so an import that dies half-way
    is repaired by the next start of the store (Store.migrate()).
    `progress(path, result)` is called after each file.
    """
    zone = ZoneInfo(tz) if tz else store.tz
    model = get_model("rx380")
    result = ImportResult()
    # Every good row's time, inserted now or before: a re-import also repairs the rollups of an
    # import that failed half-way before revision 0003 (rebuilding rollups is idempotent).
    runs: dict[str, list[tuple[int, int]]] = {}
    for path in map(str, paths):
        result.files += 1
        one, readings = FileResult(path), []
        result.results.append(one)
        try:
            readings = _read_file(path, meter, zone, model, one, result.notes, check_meter)
            one.rows_inserted = store.write(_drop_truncated_duplicates(store, readings), defer=True)
        except ImportRefused as exc:
            one.refused = str(exc)
        except (OSError, StoreError) as exc:
            one.refused = str(exc)
        if not one.refused:
            result.rows_read += one.rows_read
            result.rows_inserted += one.rows_inserted
            result.skipped.extend(one.skipped)
            for r in readings:
                add_run(runs.setdefault(r.meter, []), to_us(naive_utc(r.timestamp)), store.rules)
        if progress:
            progress(path, result)
    ids = {m["name"]: m["id"] for m in store.meters()}
    store._mark_pending({ids[name]: r for name, r in runs.items() if name in ids})
    store.refresh_pending()
    return result


def _lines(path: str, one: FileResult) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each line; a line that is not UTF-8 is a bad row, not the end."""
    with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:  # the archive's .csv.gz
        for number, raw in enumerate(f, 1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                one.rows_read += 1
                one.skipped.append(SkippedRow(path, number, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column "
                                                        f"{exc.start + 1}): save the file as UTF-8 to import this line"))
                continue
            yield number, next(csv.reader([line]), [])


def _read_file(path: str, meter: str | None, zone: ZoneInfo, model: MeterModel, one: FileResult,
               notes: list[str], check_meter: Callable[[str], str | None] | None) -> list[Reading]:
    columns: list[str] | None = None
    readings: list[Reading] = []
    checked: set[str] = set()
    for number, row in _lines(path, one):
        if not any(cell.strip() for cell in row):
            continue
        if row[0].strip().lower() == "timestamp":  # the header (again, if files were joined)
            columns = _header(row, path, notes)
            continue
        columns = columns or POC_ORDER  # no header: the PoC's column order
        one.rows_read += 1
        try:
            reading = _reading(row, columns, meter, zone)
        except ValueError as exc:
            one.skipped.append(SkippedRow(path, number, str(exc)))
            continue
        if meter is not None and reading.meter != meter:
            raise ImportRefused(f"line {number} is meter {reading.meter!r} (column meter), not --meter {meter!r}: "
                          f"import it with --meter {reading.meter}, or without --meter")
        if reading.meter not in checked:
            problem = name_problem(reading.meter) or (check_meter(reading.meter) if check_meter else None)
            if problem:
                raise ImportRefused(f"line {number}: {problem}")
            checked.add(reading.meter)
        check_plausible(reading, model, {})
        readings.append(reading)
    return readings


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a meter's name (the config's rule), or None."""
    if NAME_PATTERN.match(name):
        return None
    return (f"invalid meter name {name!r}: a location label in lower case letters, digits and _, "
            "e.g. office, workshop_2")


def _drop_truncated_duplicates(store: Store, readings: list[Reading]) -> list[Reading]:
    """Leave out readings whose time, cut to whole seconds (or milliseconds) as wattlog's daily CSV
    writes it, is that of a reading already stored: they are that reading, written back."""
    by_meter: dict[str, list[Reading]] = {}
    for r in readings:
        if r.timestamp.microsecond % 1000 == 0:
            by_meter.setdefault(r.meter, []).append(r)
    if not by_meter:
        return readings
    drop: set[int] = set()
    for name, rows in by_meter.items():
        lo = min(r.timestamp for r in rows)
        hi = max(r.timestamp for r in rows) + timedelta(seconds=1)
        stored = store.times(name, lo, hi)
        if not stored:
            continue
        seconds = {t.replace(microsecond=0) for t in stored}
        millis = {t.replace(microsecond=t.microsecond // 1000 * 1000) for t in stored}
        for r in rows:
            t = naive_utc(r.timestamp)
            if (t.microsecond == 0 and t in seconds) or t in millis:
                drop.add(id(r))
    return [r for r in readings if id(r) not in drop] if drop else readings


def _header(row: list[str], path: str, notes: list[str]) -> list[str]:
    names = [c.strip().lower() for c in row]
    for name in names:
        if name not in QUANTITIES and name not in OWN_COLUMNS:
            notes.append(f"{path}: column {name!r} is not a known quantity: ignored")
    return names


def _reading(row: list[str], columns: list[str], meter: str | None, zone: ZoneInfo) -> Reading:
    if len(row) != len(columns):
        raise ValueError(f"expected {len(columns)} columns, found {len(row)}")
    ts = parse_timestamp(row[columns.index("timestamp")], zone)
    values: dict[str, float] = {}
    problems: dict[str, Problem] = {}
    flags = _flags(row[columns.index("flags")]) if "flags" in columns else {}
    for name, cell in zip(columns, row):
        if name == "meter":
            meter = cell.strip() or meter
        if name not in QUANTITIES:
            continue
        text = cell.strip()
        if text.lower() in NO_VALUE:
            if name in flags:
                problems[name] = flags[name]
            elif "flags" not in columns:  # wattlog's export flags what was not read; an empty cell there is not read
                problems[name] = Problem(MISSING, "empty in the imported CSV")
            continue
        try:
            values[name] = float(text)
        except ValueError:
            raise ValueError(f"{name}: not a number {text!r}") from None
    if meter is None:
        raise ValueError("no meter: the file has no meter column; give --meter")
    if not values:
        raise ValueError("no values in the row")
    return Reading(meter, ts, "rx380", values, problems)


def _flags(cell: str) -> dict[str, Problem]:
    """The export's flags column, {"quantity": "missing: why"}, back into problems."""
    if not cell.strip():
        return {}
    try:
        found = json.loads(cell)
    except ValueError:
        raise ValueError(f"flags: not JSON {cell!r}") from None
    if not isinstance(found, dict):
        raise ValueError(f"flags: expected {{quantity: reason}}, not {cell!r}")
    out = {}
    for name, text in found.items():
        flag, _, reason = str(text).partition(": ")
        out[str(name)] = Problem(flag, reason) if flag in (MISSING, IMPLAUSIBLE) else Problem(MISSING, str(text))
    return out
