"""Every statement the store issues, built without a connection, so each dialect's SQL can be checked.

All reads and writes of readings and rollups go by primary-key range (meter_id, ts/start):
nothing here scans a whole table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Delete, Insert, Select, Table, Update, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .rollup import RAW
from .schema import meters, readings

R = readings.c


def meters_of(site: str) -> Select:
    return select(meters).where(meters.c.site == site).order_by(meters.c.name)


def meter_by_id(meter_id: int) -> Select:
    return select(meters).where(meters.c.id == meter_id)


def add_meter() -> Insert:
    return insert(meters)


def change_meter(meter_id: int) -> Update:
    return update(meters).where(meters.c.id == meter_id)


def existing_ts(meter_id: int, lo: datetime, hi: datetime) -> Select:
    """Timestamps already stored in [lo, hi]: the portable half of an idempotent insert."""
    return select(R.ts).where(R.meter_id == meter_id, R.ts >= lo, R.ts <= hi)


def add_readings(dialect: str) -> Insert:
    """An executemany insert; where the dialect can, a duplicate key is skipped, not an error.

    The rows given are already the ones not found by existing_ts in the same transaction; the
    ON CONFLICT clause only covers a second writer racing us (SQL Server: the batch then fails
    whole and is retried).
    """
    if dialect == "sqlite":
        return sqlite.insert(readings).on_conflict_do_nothing(index_elements=["meter_id", "ts"])
    if dialect == "postgresql":
        return postgresql.insert(readings).on_conflict_do_nothing(index_elements=["meter_id", "ts"])
    return insert(readings)


def raw_window(meter_id: int, lo: datetime, hi: datetime) -> Select:
    """The columns rollups need, for lo <= ts <= hi, in time order."""
    return (select(R.ts, *(R[name] for name in RAW))
            .where(R.meter_id == meter_id, R.ts >= lo, R.ts <= hi).order_by(R.ts))


def power_before(meter_id: int, lo: datetime, before: datetime) -> Select:
    """The last reading with total_real_power in [lo, before)."""
    return (select(R.ts, R.total_real_power)
            .where(R.meter_id == meter_id, R.ts >= lo, R.ts < before, R.total_real_power.is_not(None))
            .order_by(R.ts.desc()).limit(1))


def power_from(meter_id: int, start: datetime, hi: datetime) -> Select:
    """The first reading with total_real_power in [start, hi]."""
    return (select(R.ts, R.total_real_power)
            .where(R.meter_id == meter_id, R.ts >= start, R.ts <= hi, R.total_real_power.is_not(None))
            .order_by(R.ts).limit(1))


def raw_bounds(meter_id: int) -> Select:
    return select(func.min(R.ts), func.max(R.ts)).where(R.meter_id == meter_id)


def rollup_rows(table: Table, meter_id: int, lo: datetime, hi: datetime) -> Select:
    return (select(table).where(table.c.meter_id == meter_id, table.c.start >= lo, table.c.start < hi)
            .order_by(table.c.start))


def rollup_keys(table: Table, meter_id: int, lo: datetime, hi: datetime) -> Select:
    return select(table.c.start).where(table.c.meter_id == meter_id, table.c.start >= lo, table.c.start < hi)


def drop_rollups(table: Table, meter_id: int, lo: datetime, hi: datetime) -> Delete:
    """Rollups are replaced by delete + insert of the recomputed range: portable, and the same
    on every dialect (no MERGE on SQL Server, which has well-known race and trigger pitfalls)."""
    return delete(table).where(table.c.meter_id == meter_id, table.c.start >= lo, table.c.start < hi)


def add_rollups(table: Table) -> Insert:
    return insert(table)


def prune(meter_id: int, lo: datetime, cutoff: datetime) -> Delete:
    """One slice of raw readings of one meter, lo <= ts < cutoff (sliced to keep transactions small)."""
    return delete(readings).where(and_(R.meter_id == meter_id, R.ts >= lo, R.ts < cutoff))


def oldest(meter_id: int) -> Select:
    return select(func.min(R.ts)).where(R.meter_id == meter_id)


def raw_rows(meter_id: int, lo: datetime | None, hi: datetime | None) -> Select:
    """Readings of one meter for export, lo <= ts < hi, in time order."""
    q = select(readings).where(R.meter_id == meter_id)
    if lo is not None:
        q = q.where(R.ts >= lo)
    if hi is not None:
        q = q.where(R.ts < hi)
    return q.order_by(R.ts)


def rollups_of(table: Table, meter_id: int, lo: datetime | None, hi: datetime | None) -> Select:
    q = select(table).where(table.c.meter_id == meter_id)
    if lo is not None:
        q = q.where(table.c.start >= lo)
    if hi is not None:
        q = q.where(table.c.start < hi)
    return q.order_by(table.c.start)


def set_pruned(meter_id: int) -> Update:
    return update(meters).where(meters.c.id == meter_id).values(pruned_before=bindparam("cutoff"))
