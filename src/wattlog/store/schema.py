"""The tables: meters, raw readings, 15-minute, hourly, daily and monthly rollups per meter, and
the rollup ranges still to recompute after deferred writes.

Times are naive UTC everywhere in the database (DATETIME2 on SQL Server, whose DATETIME keeps only
3.33 ms; TIMESTAMP WITHOUT TIME ZONE on PostgreSQL; microsecond text on SQLite). The Alembic
migrations in `migrations/versions/` create exactly these tables; a test compares the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    TypeDecorator,
    Unicode,
    UnicodeText,
    UniqueConstraint,
)
from sqlalchemy.dialects import mssql, mysql
from sqlalchemy.types import TypeEngine

from ..quantities import QUANTITIES

metadata = MetaData()


class Timestamp(TypeDecorator[datetime]):
    """Naive UTC with microseconds on every dialect.

    SQL Server's DATETIME would round to 1/300 s and MySQL's to 1 s, so DATETIME2(6) and
    DATETIME(6). On SQL Server the value is sent as text: pymssql quotes datetimes with
    milliseconds only, which would break the primary key (meter, ts) and idempotent replays.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "mssql":
            return dialect.type_descriptor(mssql.DATETIME2(precision=6))
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is not None and dialect.name == "mssql":
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if isinstance(value, str):  # a driver speaking an old TDS version returns DATETIME2 as text
            return datetime.fromisoformat(value.strip()[:26])
        return value


# JSON as text (every dialect can store it); NTEXT, SQL Server's default for it, is deprecated.
JsonText = UnicodeText().with_variant(mssql.NVARCHAR(), "mssql")
# Bytes: IMAGE, SQL Server's default for LargeBinary, is deprecated too.
Blob = LargeBinary().with_variant(mssql.VARBINARY("max"), "mssql")

meters = Table(
    "meters", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("site", Unicode(64), nullable=False),  # many sites may share one central database
    Column("name", Unicode(64), nullable=False),  # the location label from the config
    Column("model", Unicode(64), nullable=False),
    Column("location", Unicode(200)),
    Column("tags", JsonText),  # JSON object of strings, NULL when none
    # Raw readings before this instant were pruned: rollups that depended on them are kept as they are.
    Column("pruned_before", Timestamp()),
    UniqueConstraint("site", "name", name="uq_meters_site_name"),
)

readings = Table(
    "readings", metadata,
    Column("meter_id", Integer, ForeignKey("meters.id", name="fk_readings_meter"), primary_key=True,
           autoincrement=False),
    Column("ts", Timestamp(), primary_key=True),  # naive UTC
    *(Column(name, Double) for name in QUANTITIES),  # NULL = not read or implausible, never 0
    Column("extra", JsonText),  # JSON {name: value} of a model's own quantities, NULL if none
    Column("flags", JsonText),  # JSON {name: "missing: why" | "implausible: why"}, NULL if all ok
)

# Rollup columns. Energy is integrated from power, not taken from the whole-kWh counters, by the
# trapezoid rule between consecutive readings, split exactly at bucket boundaries; an interval
# longer than gap_seconds is a gap and is not integrated. Units are the canonical ones (W, V, A, Hz).
ROLLUP_DOC: dict[str, str] = {
    "samples": "readings whose timestamp is in the bucket",
    "covered_s": "seconds of the bucket inside intervals between readings with total_real_power at most "
                 "gap_seconds apart: the time energy_kwh covers",
    "gap_s": "seconds of the bucket inside longer intervals (meter or link down); outages longer than "
             "a day are not counted (their buckets have no rows)",
    "energy_kwh": "∫ total_real_power dt over covered_s, kWh (negative when exporting)",
    "reactive_kvarh": "∫ total_reactive_power dt, kvarh, same rule",
    "apparent_kvah": "∫ total_apparent_power dt, kVAh; where S was not read, S = |P| / |PF|",
    "counter_first": "first total_real_energy counter value in the bucket (whole kWh on the RX380)",
    "counter_first_ts": "its timestamp (naive UTC)",
    "counter_last": "last counter value in the bucket",
    "counter_last_ts": "its timestamp",
    "counter_kwh": "sum of the counter's increases between consecutive counter readings at most "
                   "gap_seconds apart, the later one in the bucket; a drop (reset, new meter) counts 0",
    "power_avg": "energy_kwh / covered_s, W: the average demand over the covered time",
    "power_min": "lowest total_real_power read in the bucket, W",
    "power_max": "highest total_real_power read in the bucket, W",
    "voltage_avg": "mean of every phase voltage (L1, L2, L3 to neutral) read in the bucket, V",
    "voltage_min": "lowest phase voltage read, V",
    "voltage_max": "highest phase voltage read, V",
    "voltage_samples": "how many phase voltages voltage_avg averages (to combine buckets exactly)",
    "voltage_ll_min": "lowest line-to-line voltage read, V",
    "voltage_ll_max": "highest line-to-line voltage read, V",
    "unbalance_max": "highest NEMA voltage unbalance of a reading: max |V - mean| / mean of the three "
                     "phase voltages, %",
    "pf_avg": "energy-weighted power factor |energy_kwh| / apparent_kvah, 0..1",
    "pf_min": "lowest |total_power_factor| read",
    "freq_min": "lowest frequency read, Hz",
    "freq_max": "highest frequency read, Hz",
    "current_max": "highest phase current read, A",
}
ROLLUP_INTS = ("samples", "voltage_samples")
ROLLUP_NOT_NULL = ("samples", "voltage_samples", "covered_s", "gap_s")
ROLLUP_TIMES = ("counter_first_ts", "counter_last_ts")
ROLLUP_COLUMNS = tuple(ROLLUP_DOC)


def _rollup(name: str, *extra: Column[Any]) -> Table:
    cols = [Column(c, Integer() if c in ROLLUP_INTS else Timestamp() if c in ROLLUP_TIMES else Double(),
                   nullable=c not in ROLLUP_NOT_NULL) for c in ROLLUP_COLUMNS]
    return Table(
        name, metadata,
        Column("meter_id", Integer, ForeignKey("meters.id", name=f"fk_{name}_meter"), primary_key=True,
               autoincrement=False),
        Column("start", Timestamp(), primary_key=True),  # bucket start, naive UTC
        *cols,
        *extra,
    )


rollup_15m = _rollup("rollup_15m")  # 15-minute buckets aligned in UTC, so in every local time too
rollup_1h = _rollup("rollup_1h")  # site-local hours, built from rollup_15m
# site-local days, built from rollup_15m; `quarters` packs the day's 15-minute values (see quarters.py)
rollup_1d = _rollup("rollup_1d", Column("quarters", Blob))
rollup_1mo = _rollup("rollup_1mo")  # site-local calendar months, built from rollup_1d (revision 0002)
ROLLUPS = {"15m": rollup_15m, "1h": rollup_1h, "1d": rollup_1d, "1mo": rollup_1mo}

# Rollups not yet recomputed after a deferred write (revision 0003): one meter's 15-minute-aligned
# range [lo, hi), naive UTC. Written in the same transaction as the raw readings, removed in the
# same transaction as the recompute (Store.refresh_pending), so a crash never hides stale rollups.
rollup_pending = Table(
    "rollup_pending", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("meter_id", Integer, ForeignKey("meters.id", name="fk_rollup_pending_meter"), nullable=False),
    Column("lo", Timestamp(), nullable=False),
    Column("hi", Timestamp(), nullable=False),
)

# The site's facts (revision 0004): the zone its rollups are cut in, recorded when the site is created.
sites = Table(
    "sites", metadata,
    Column("name", Unicode(64), primary_key=True),
    Column("timezone", Unicode(64), nullable=False),
    Column("created", Timestamp(), nullable=False),  # naive UTC
)


# --- alarm events (revision 0005; issue 13) -------------------------------------------------------
# One row per alarm event: raised at `started`, `ended` when resolved (NULL while active), the worst
# value, the plain-words message, details (JSON) and the notifications sent (JSON list).
alarm_events = Table(
    "alarm_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("site", Unicode(64), nullable=False),
    Column("event_key", Unicode(200), nullable=False),
    Column("rule", Unicode(64), nullable=False),
    Column("kind", Unicode(32), nullable=False),
    Column("subject", Unicode(200), nullable=False),
    Column("started", Timestamp(), nullable=False),
    Column("ended", Timestamp()),
    Column("peak", Double),
    Column("unit", Unicode(16), nullable=False),
    Column("message", JsonText, nullable=False),
    Column("details", JsonText),
    Column("notified", JsonText),
    UniqueConstraint("site", "event_key", name="uq_alarm_events_site_key"),
    Index("ix_alarm_events_started", "site", "started"),
)
# --- end alarm events ---------------------------------------------------------------------------
