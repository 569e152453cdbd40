"""Readings to rows, and the batch insert: executemany at driver level, one statement compiled once.

SQLAlchemy's per-row parameter handling costs more than SQLite's own insert; here each row is
one tuple, and only the columns whose type needs it (the timestamp on SQLite) are converted.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import Connection, Dialect

from ..quantities import QUANTITIES
from ..reading import IMPLAUSIBLE, Problem, Reading
from . import statements as st
from .schema import readings

NAMES = tuple(QUANTITIES)


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
        self.ts_proc: Callable[[Any], Any] | None = procs.pop("ts")
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
