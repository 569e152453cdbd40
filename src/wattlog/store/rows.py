"""Readings to rows, the batch insert, and raw rows back for the rollups: at driver level.

SQLAlchemy's per-row parameter and result handling costs more than SQLite's own insert or
select; here each row is one tuple, and only the timestamp is converted, on SQLite by
datetime's own C methods (checked at start to give exactly SQLAlchemy's text, which is the key).
"""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import datetime
from functools import cache
from operator import methodcaller
from typing import Any, Callable

from sqlalchemy import Connection, Dialect
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError

from ..quantities import QUANTITIES
from ..reading import IMPLAUSIBLE, Problem, Reading
from . import statements as st
from .buckets import from_us, to_us
from .schema import readings

NAMES = tuple(QUANTITIES)
SQLITE_TEXT = methodcaller("isoformat", " ", "microseconds")  # 2026-11-26 08:00:00.000000
_PROBES = (datetime(2026, 11, 26, 8, 0), datetime(999, 1, 2, 3, 4, 5, 6), datetime(2038, 12, 31, 23, 59, 59, 999999))


def _fast_ts(dialect: Dialect, proc: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """SQLITE_TEXT where it gives exactly what the Timestamp type's own bind processor gives."""
    if dialect.name == "sqlite" and proc is not None and all(proc(t) == SQLITE_TEXT(t) for t in _PROBES):
        return SQLITE_TEXT
    return proc


def row(meter_id: int, ts: Any, r: Reading) -> tuple[Any, ...]:
    """(meter_id, ts, every canonical quantity or None, extra JSON, flags JSON), in table order."""
    values, problems = r.values, r.problems
    cells = list(map(values.get, NAMES))
    total = sum(values.values()) if values else 0.0
    if not problems and total - total == 0 and len(values) == len(NAMES) - cells.count(None):
        return (meter_id, ts, *cells, None, None)  # the usual reading: all finite, all canonical, no flags
    flags = {k: str(p) for k, p in problems.items()} if problems else {}
    extra: dict[str, float] = {}
    for name, value in values.items():
        if not math.isfinite(value):  # NaN would turn into NULL on SQLite, NaN elsewhere: flag it
            flags[name] = str(Problem(IMPLAUSIBLE, "not a finite number", value))
        elif name not in QUANTITIES:
            extra[name] = float(value)
    if flags:  # a quantity with a problem has no value, whatever else came with it
        cells = [None if q in flags else v for q, v in zip(NAMES, cells)]
    return (meter_id, ts, *(None if v is None else float(v) for v in cells),
            json.dumps(extra, sort_keys=True) if extra else None,
            json.dumps(flags, sort_keys=True) if flags else None)


class RowWriter:
    """Inserts reading rows with one executemany; falls back to SQLAlchemy where the driver needs it."""

    def __init__(self, dialect: Dialect, insert_dialect: str) -> None:
        self.statement = st.add_readings(insert_dialect)
        compiled = self.statement.compile(dialect=dialect)
        self.names = [c.name for c in readings.c]
        self.sql = compiled.string
        self.positional = bool(compiled.positional)
        procs = {c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in readings.c
                 if c.name not in QUANTITIES}  # quantities: row() hands over floats already
        self.ts_proc: Callable[[Any], Any] | None = _fast_ts(dialect, procs.pop("ts"))
        ok_order = not self.positional or list(compiled.positiontup or []) == self.names
        self.direct = ok_order and not any(procs.values())

    def insert(self, conn: Connection, meter_id: int, batch: list[tuple[datetime, Reading]]) -> None:
        if not self.direct:
            conn.execute(self.statement, [dict(zip(self.names, row(meter_id, ts, r))) for ts, r in batch])
            return
        proc = self.ts_proc or (lambda v: v)
        rows = [row(meter_id, proc(ts), r) for ts, r in batch]
        params: list[Any] = rows if self.positional else [dict(zip(self.names, t)) for t in rows]
        conn.exec_driver_sql(self.sql, params)


# Microseconds since 1970 of the stored text, computed by SQLite (exact: whole seconds, then the
# digits after the point); unixepoch() needs SQLite 3.38, strftime('%s') works everywhere.
_SQLITE_US = ("{f}(substr(readings.ts, 1, 19)) * 1000000 + CAST(substr(readings.ts, 21, 6) AS INTEGER)",
              "CAST(strftime('%s', substr(readings.ts, 1, 19)) AS INTEGER) * 1000000"
              " + CAST(substr(readings.ts, 21, 6) AS INTEGER)")


@cache
def _sqlite_window() -> tuple[str, tuple[str, ...]] | None:
    """statements.raw_window() as SQLite text returning the time as integer microseconds, and its
    parameter order; None unless the stored text is SQLITE_TEXT and SQLite's arithmetic on it is
    exactly to_us on every probe."""
    dialect = sqlite.dialect()
    ts = readings.c.ts.type.dialect_impl(dialect)
    if _fast_ts(dialect, ts.bind_processor(dialect)) is not SQLITE_TEXT:
        return None
    compiled = st.raw_window().compile(dialect=dialect)
    head = "SELECT readings.ts, "
    if not compiled.string.startswith(head):
        return None
    probes = (*_PROBES, datetime(1969, 12, 31, 23, 59, 59, 500000), datetime(1970, 1, 1), datetime(2026, 11, 26, 8))
    with sqlite3.connect(":memory:") as db:
        for expr in (_SQLITE_US[0].format(f="unixepoch"), _SQLITE_US[1]):
            try:
                got = [db.execute(f"SELECT {expr} FROM (SELECT ? AS ts) AS readings", (SQLITE_TEXT(t),)).fetchone()[0]
                       for t in probes]
            except sqlite3.Error:  # no unixepoch() before SQLite 3.38
                continue
            if got == [to_us(t) for t in probes]:
                return f"SELECT {expr}, " + compiled.string[len(head):], tuple(compiled.positiontup or ())
    return None


def raw_window(conn: Connection, meter_id: int, lo: int, hi: int) -> list[tuple[Any, ...]]:
    """statements.raw_window for lo <= ts <= hi (us): tuples (ts us, *rollup.RAW), in time order."""
    fast = _sqlite_window() if conn.dialect.name == "sqlite" and conn.dialect.driver == "pysqlite" else None
    params = {"m": meter_id, "lo": from_us(lo), "hi": from_us(hi)}
    if fast is None:
        return [(to_us(r[0]), *r[1:]) for r in conn.execute(st.raw_window(), params)]
    sql, order = fast
    args = tuple(SQLITE_TEXT(v) if isinstance(v, datetime) else v for v in (params[k] for k in order))
    driver = conn.connection.driver_connection
    assert driver is not None
    try:  # in the connection's transaction; errors leave as SQLAlchemy's, as conn.execute's would
        return driver.execute(sql, args).fetchall()
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, args, exc, conn.dialect.loaded_dbapi.Error) from exc
