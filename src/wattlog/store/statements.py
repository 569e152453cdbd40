"""Every statement the store issues, built without a connection, so each dialect's SQL can be checked.

All reads and writes of readings and rollups go by primary-key range (meter_id, ts/start):
nothing here scans a whole table. The frequent ones are built once, with bound parameters
:m (meter id), :lo and :hi (naive-UTC datetimes): building a statement costs more than running it.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import (
    Delete,
    Insert,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import sqlite

from .rollup import RAW
from .schema import ROLLUP_COLUMNS, meters, readings, rollup_1d, rollup_pending

R = readings.c
M, LO, HI = bindparam("m"), bindparam("lo"), bindparam("hi")


@cache
def meters_of() -> Select:
    """Meters of site :site."""
    return select(meters).where(meters.c.site == bindparam("site")).order_by(meters.c.name)


@cache
def meter_by_id() -> Select:
    return select(meters).where(meters.c.id == M)


def add_meter() -> Insert:
    return insert(meters)


def change_meter(meter_id: int) -> Update:
    return update(meters).where(meters.c.id == meter_id)


@cache
def existing_ts() -> Select:
    """Timestamps already stored in [lo, hi]: the portable half of an idempotent insert."""
    return select(R.ts).where(R.meter_id == M, R.ts >= LO, R.ts <= HI)


@cache
def add_readings(dialect: str) -> Insert:
    """An executemany insert; where the dialect can, a duplicate key is skipped, not an error.

    The rows given are already the ones not found by existing_ts in the same transaction; the
    ON CONFLICT clause only covers a second writer racing us (SQL Server: the batch then fails
    whole and is retried).
    """
    if dialect == "sqlite":
        return sqlite.insert(readings).on_conflict_do_nothing(index_elements=["meter_id", "ts"])
    if dialect == "postgresql":
        # imported here: SQLite users (and every report) skip it and its drivers' modules, ~0.1 s
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(readings).on_conflict_do_nothing(index_elements=["meter_id", "ts"])
    return insert(readings)


@cache
def raw_window() -> Select:
    """The columns rollups need, for lo <= ts <= hi, in time order."""
    return select(R.ts, *(R[name] for name in RAW)).where(R.meter_id == M, R.ts >= LO, R.ts <= HI).order_by(R.ts)


@cache
def power_before() -> Select:
    """The last reading with total_real_power in [lo, hi)."""
    return (select(R.ts, R.total_real_power)
            .where(R.meter_id == M, R.ts >= LO, R.ts < HI, R.total_real_power.is_not(None))
            .order_by(R.ts.desc()).limit(1))


@cache
def power_from() -> Select:
    """The first reading with total_real_power in [lo, hi]."""
    return (select(R.ts, R.total_real_power)
            .where(R.meter_id == M, R.ts >= LO, R.ts <= HI, R.total_real_power.is_not(None))
            .order_by(R.ts).limit(1))


@cache
def raw_bounds() -> Select:
    return select(func.min(R.ts), func.max(R.ts)).where(R.meter_id == M)


@cache
def rollup_rows(table: Table) -> Select:
    """Rollup rows with lo <= start < hi, in time order."""
    c = table.c
    return select(table).where(c.meter_id == M, c.start >= LO, c.start < HI).order_by(c.start)


@cache
def rollup_values(table: Table) -> Select:
    """Rollup rows with lo <= start < hi, in time order, without rollup_1d's packed quarters."""
    c = table.c
    return (select(c.meter_id, c.start, *(c[name] for name in ROLLUP_COLUMNS))
            .where(c.meter_id == M, c.start >= LO, c.start < HI).order_by(c.start))


@cache
def rollup_rows_in(table: Table) -> Select:
    """Rollup rows of the meters :ms (a list) with lo <= start < hi, by meter and time."""
    c = table.c
    return (select(table).where(c.meter_id.in_(bindparam("ms", expanding=True)), c.start >= LO, c.start < HI)
            .order_by(c.meter_id, c.start))


@cache
def rollup_values_in(table: Table) -> Select:
    """rollup_rows_in without rollup_1d's packed quarters."""
    c = table.c
    return (select(c.meter_id, c.start, *(c[name] for name in ROLLUP_COLUMNS))
            .where(c.meter_id.in_(bindparam("ms", expanding=True)), c.start >= LO, c.start < HI)
            .order_by(c.meter_id, c.start))


@cache
def first_bucket(table: Table) -> Select:
    """The start of meter :m's first bucket (min() with a WHERE would read every key of the meter)."""
    c = table.c
    return select(c.start).where(c.meter_id == M).order_by(c.start).limit(1)


@cache
def last_energy(table: Table) -> Select:
    """The start of meter :m's last bucket with energy (walks the primary key backwards)."""
    c = table.c
    return select(c.start).where(c.meter_id == M, c.energy_kwh.is_not(None)).order_by(c.start.desc()).limit(1)


@cache
def unpacked_days() -> Select:
    """Per meter, the first and last day row without packed quarters (rows of schema 0001), leaving
    out each meter's newest day: it is packed only once a later day has begun (refresh.py), so a
    store that is up to date has none."""
    c = rollup_1d.c
    later = rollup_1d.alias("later")
    newest = select(func.max(later.c.start)).where(later.c.meter_id == c.meter_id).scalar_subquery()
    return (select(c.meter_id, func.min(c.start), func.max(c.start)).where(c.quarters.is_(None), c.start < newest)
            .group_by(c.meter_id))


@cache
def newest_days() -> Select:
    """The start of each meter's newest day row, for the meters :ms."""
    c = rollup_1d.c
    return (select(c.meter_id, func.max(c.start)).where(c.meter_id.in_(bindparam("ms", expanding=True)))
            .group_by(c.meter_id))


@cache
def rollup_keys(table: Table) -> Select:
    c = table.c
    return select(c.start).where(c.meter_id == M, c.start >= LO, c.start < HI)


@cache
def drop_rollups(table: Table) -> Delete:
    """Rollups are replaced by delete + insert of the recomputed range: portable, and the same
    on every dialect (no MERGE on SQL Server, which has well-known race and trigger pitfalls)."""
    c = table.c
    return delete(table).where(c.meter_id == M, c.start >= LO, c.start < HI)


@cache
def add_rollups(table: Table) -> Insert:
    return insert(table)


@cache
def add_pending() -> Insert:
    """Rollup ranges a deferred write leaves to recompute: executemany of {meter_id, lo, hi}."""
    return insert(rollup_pending)


@cache
def pending_of() -> Select:
    """The pending ranges of site :site's meters, by meter and start (the table is small)."""
    c = rollup_pending.c
    return (select(c.id, c.meter_id, c.lo, c.hi).join(meters, meters.c.id == c.meter_id)
            .where(meters.c.site == bindparam("site")).order_by(c.meter_id, c.lo, c.id))


@cache
def drop_pending() -> Delete:
    """Pending rows by id (:ids, a list: at most 500 at a time, SQL Server takes 2100 parameters)."""
    return delete(rollup_pending).where(rollup_pending.c.id.in_(bindparam("ids", expanding=True)))


@cache
def shrink_pending() -> Update:
    """What is left of pending row :pid starts at :done (the part before it was recomputed)."""
    c = rollup_pending.c
    return update(rollup_pending).where(c.id == bindparam("pid")).values(lo=bindparam("done"))


@cache
def prune() -> Delete:
    """One slice of raw readings of one meter, lo <= ts < hi (sliced to keep transactions small)."""
    return delete(readings).where(and_(R.meter_id == M, R.ts >= LO, R.ts < HI))


@cache
def oldest() -> Select:
    return select(func.min(R.ts)).where(R.meter_id == M)


@cache
def set_pruned() -> Update:
    return update(meters).where(meters.c.id == M).values(pruned_before=bindparam("cutoff"))


def raw_rows(meter_id: int, lo: datetime | None, hi: datetime | None) -> Select:
    """Readings of one meter for export, lo <= ts < hi, in time order."""
    q = select(readings).where(R.meter_id == meter_id)
    if lo is not None:
        q = q.where(R.ts >= lo)
    if hi is not None:
        q = q.where(R.ts < hi)
    return q.order_by(R.ts)


def rollups_of(table: Table, meter_id: int, lo: datetime | None, hi: datetime | None,
               *extra: str) -> Select:
    """Rollup rows of one meter, lo <= start < hi: the key, every ROLLUP_DOC column and `extra` ones."""
    c = table.c
    q = select(c.meter_id, c.start, *(c[name] for name in (*ROLLUP_COLUMNS, *extra))).where(c.meter_id == meter_id)
    if lo is not None:
        q = q.where(table.c.start >= lo)
    if hi is not None:
        q = q.where(table.c.start < hi)
    return q.order_by(table.c.start)
