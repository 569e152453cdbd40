"""SQL Server without a server: the schema, the migration script and every statement the Store
issues must compile for the mssql dialect (no SQL Server can run on this machine)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event
from sqlalchemy.dialects import mssql, postgresql, sqlite
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql import ClauseElement

from wattlog.quantities import QUANTITIES
from wattlog.reading import Reading
from wattlog.store import Store
from wattlog.store import statements as st
from wattlog.store.export import export_rows
from wattlog.store.migrate import VERSION_TABLE, offline_sql
from wattlog.store.rows import RowWriter
from wattlog.store.schema import ROLLUP_COLUMNS, metadata, readings

MSSQL = mssql.dialect()
T = datetime(2026, 11, 26)


def sql(element: ClauseElement) -> str:
    return " ".join(str(element.compile(dialect=MSSQL)).split())


def test_every_table_compiles_with_datetime2_and_its_primary_key():
    ddl = {t.name: str(CreateTable(t).compile(dialect=MSSQL)) for t in metadata.sorted_tables}
    assert set(ddl) == {"meters", "readings", "rollup_15m", "rollup_1h", "rollup_1d", "rollup_1mo", "rollup_pending",
                         "sites", "alarm_events"}
    assert "created DATETIME2(6) NOT NULL" in ddl["sites"] and "PRIMARY KEY (name)" in ddl["sites"]
    assert "started DATETIME2(6) NOT NULL" in ddl["alarm_events"] and "message NVARCHAR(max) NOT NULL" in ddl["alarm_events"]
    assert "CONSTRAINT uq_alarm_events_site_key UNIQUE (site, event_key)" in ddl["alarm_events"]
    assert "id INTEGER NOT NULL IDENTITY" in ddl["meters"]
    assert "CONSTRAINT uq_meters_site_name UNIQUE (site, name)" in ddl["meters"]
    assert "tags NVARCHAR(max) NULL" in ddl["meters"]
    assert "ts DATETIME2(6) NOT NULL" in ddl["readings"]
    assert "PRIMARY KEY (meter_id, ts)" in ddl["readings"]
    assert "FOREIGN KEY(meter_id) REFERENCES meters (id)" in ddl["readings"]
    for q in QUANTITIES:
        assert f"{q} DOUBLE PRECISION NULL" in ddl["readings"]
    assert "flags NVARCHAR(max) NULL" in ddl["readings"] and "NTEXT" not in ddl["readings"]
    for name in ("rollup_15m", "rollup_1h", "rollup_1d", "rollup_1mo"):
        assert "start DATETIME2(6) NOT NULL" in ddl[name] and "PRIMARY KEY (meter_id, start)" in ddl[name]
        assert "counter_first_ts DATETIME2(6) NULL" in ddl[name]
        for c in ROLLUP_COLUMNS:
            assert f"\n\t{c} " in ddl[name]
    assert all(" DATETIME " not in d and " DATETIME," not in d for d in ddl.values())
    assert "quarters VARBINARY(max) NULL" in ddl["rollup_1d"] and "quarters" not in ddl["rollup_1mo"]
    assert all("IMAGE" not in d for d in ddl.values())  # deprecated on SQL Server
    assert "id INTEGER NOT NULL IDENTITY" in ddl["rollup_pending"]
    assert "lo DATETIME2(6) NOT NULL" in ddl["rollup_pending"] and "hi DATETIME2(6) NOT NULL" in ddl["rollup_pending"]
    assert "FOREIGN KEY(meter_id) REFERENCES meters (id)" in ddl["rollup_pending"]


def test_the_alembic_migration_script_for_sql_server():
    script = offline_sql("mssql")
    assert f"CREATE TABLE {VERSION_TABLE}" in script
    assert f"INSERT INTO {VERSION_TABLE} (version_num)" in script and "VALUES ('0001')" in script
    assert f"UPDATE {VERSION_TABLE} SET version_num='0002' WHERE {VERSION_TABLE}.version_num = '0001'" in script
    for table in ("meters", "readings", "rollup_15m", "rollup_1h", "rollup_1d", "rollup_1mo"):
        assert f"CREATE TABLE {table} (" in script
    assert "ts DATETIME2(6) NOT NULL" in script and "PRIMARY KEY (meter_id, ts)" in script
    assert "NTEXT" not in script and "IMAGE" not in script and "\nGO\n" in script
    assert "ALTER TABLE rollup_1d ADD quarters VARBINARY(max) NULL;" in script
    assert script.index("-- Running upgrade 0001 -> 0002") < script.index("CREATE TABLE rollup_1mo (")
    assert script.index("-- Running upgrade 0002 -> 0003") < script.index("CREATE TABLE rollup_pending (")
    assert "id INTEGER NOT NULL IDENTITY" in script.split("CREATE TABLE rollup_pending (")[1].split(";")[0]
    assert script.index("-- Running upgrade 0004 -> 0005") < script.index("CREATE TABLE alarm_events (")
    # pruned_before, ts, 4 x (start, 2 counter ts), pending lo and hi, sites' created, alarm events started and ended
    assert script.count("DATETIME2(6)") == 1 + 1 + 4 * 3 + 2 + 1 + 2


def test_key_statements_compile_for_sql_server():
    insert = sql(st.add_readings("mssql"))
    assert insert.startswith("INSERT INTO readings (meter_id, ts, voltage_l12") and "ON CONFLICT" not in insert
    assert "ON CONFLICT (meter_id, ts) DO NOTHING" in str(st.add_readings("postgresql").compile(
        dialect=postgresql.dialect()))
    assert "ON CONFLICT (meter_id, ts) DO NOTHING" in str(st.add_readings("sqlite").compile(dialect=sqlite.dialect()))
    existing = sql(st.existing_ts())
    assert existing.startswith("SELECT readings.ts FROM readings WHERE readings.meter_id = ")
    before = sql(st.power_before())
    assert before.startswith("SELECT TOP ") and "ORDER BY readings.ts DESC" in before
    assert "total_real_power IS NOT NULL" in before
    assert sql(st.power_from()).startswith("SELECT TOP ")
    assert sql(st.prune()).startswith("DELETE FROM readings WHERE readings.meter_id = ")
    from wattlog.store.schema import rollup_1h
    assert sql(st.drop_rollups(rollup_1h)).startswith("DELETE FROM rollup_1h WHERE rollup_1h.meter_id = ")
    assert sql(st.add_rollups(rollup_1h)).startswith("INSERT INTO rollup_1h (meter_id, start, samples")
    assert "ORDER BY rollup_1h.start" in sql(st.rollups_of(rollup_1h, 1, T, None))
    from wattlog.store.schema import rollup_1d, rollup_1mo
    assert sql(st.drop_rollups(rollup_1mo)).startswith("DELETE FROM rollup_1mo WHERE rollup_1mo.meter_id = ")
    assert "quarters" not in sql(st.rollup_values(rollup_1d)) and "quarters" not in sql(st.rollups_of(rollup_1d, 1, T, None))
    unpacked = sql(st.unpacked_days())
    assert "rollup_1d.quarters IS NULL AND rollup_1d.start < (SELECT max(later.start)" in unpacked
    assert unpacked.endswith("GROUP BY rollup_1d.meter_id")
    assert sql(st.newest_days()).startswith("SELECT rollup_1d.meter_id, max(rollup_1d.start)")
    assert sql(st.set_pruned()).startswith("UPDATE meters SET pruned_before=")
    add = str(st.add_pending().compile(dialect=MSSQL, column_keys=["meter_id", "lo", "hi"]))
    assert add.startswith("INSERT INTO rollup_pending (meter_id, lo, hi) OUTPUT inserted.id VALUES")
    pending = sql(st.pending_of())
    assert pending.startswith("SELECT rollup_pending.id, rollup_pending.meter_id, rollup_pending.lo, rollup_pending.hi "
                              "FROM rollup_pending JOIN meters ON meters.id = rollup_pending.meter_id WHERE meters.site = ")
    assert pending.endswith("ORDER BY rollup_pending.meter_id, rollup_pending.lo, rollup_pending.id")
    drop = st.drop_pending().compile(dialect=MSSQL)
    assert str(drop) == "DELETE FROM rollup_pending WHERE rollup_pending.id IN (__[POSTCOMPILE_ids])"
    assert drop.construct_params({"ids": [1, 2]}, escape_names=False)["ids"] == [1, 2]
    assert sql(st.shrink_pending()).startswith("UPDATE rollup_pending SET lo=")
    from wattlog.store.schema import rollup_15m
    fine = sql(st.rollup_rows_in(rollup_15m))
    assert "WHERE rollup_15m.meter_id IN (__[POSTCOMPILE_ms]) AND rollup_15m.start >= " in fine
    assert fine.endswith("ORDER BY rollup_15m.meter_id, rollup_15m.start")
    assert "quarters" not in sql(st.rollup_values_in(rollup_1d))


def test_every_statement_the_store_issues_compiles_for_sql_server(tmp_path):
    """Run the whole Store API on SQLite, catch each statement, and compile it for SQL Server."""
    store = Store(f"sqlite:///{tmp_path / 'w.db'}", site="s")
    store.migrate()
    seen: list[ClauseElement] = []

    @event.listens_for(store.engine, "before_execute")
    def catch(conn, element, multiparams, params, options):  # type: ignore[no-untyped-def]
        if isinstance(element, ClauseElement):
            seen.append(element)

    t0 = datetime(2026, 11, 25, 16, tzinfo=timezone.utc)
    batch = [Reading("office", t0 + timedelta(seconds=10 * i), "rx380",
                     {"total_real_power": 1000.0, "total_real_energy": 5.0 + i // 50, "voltage_l1": 230.0})
             for i in range(200)]
    store.ensure_meter("office", "rx380", "Office", {"floor": "1"})
    store.ensure_meter("office", "rx380", "Office 2", None)
    store.write(batch)
    store.write(batch)
    store.write([Reading("new", t0, "rx380", {"frequency": 50.0})])
    store.write([Reading("office", r.timestamp + timedelta(days=1), "rx380", r.values) for r in batch], defer=True)
    store.refresh_pending()
    list(store.readings("office", t0, t0 + timedelta(hours=1)))
    for period in ("15m", "1h", "1d", "1mo"):
        store.rollups(period, "office", t0, t0 + timedelta(days=1))
    store.packed_days("office", t0, t0 + timedelta(days=1), ("energy_kwh", "counter_first_ts"))
    store.extent()
    store.meters()
    store.rebuild_rollups()
    store.rebuild_rollups("office", t0, t0 + timedelta(minutes=30))
    import io
    export_rows(store, fmt="json", out=io.StringIO())
    store.prune(raw_days=0.01, now=t0 + timedelta(hours=1))
    store.close()

    kinds = set()
    for element in seen:
        if isinstance(element, sqlite.Insert):  # the dialect's own idempotent insert: SQL Server's instead
            element = st.add_readings("mssql")
        text_ = sql(element)
        assert text_ and "ON CONFLICT" not in text_ and "LIMIT" not in text_
        kinds.add(text_.split()[0] + " " + next(w for w in text_.split() if w in (
            "readings", "meters", "rollup_15m", "rollup_1h", "rollup_1d", "rollup_1mo", "readings.ts",
            "meters.id", "rollup_1d.start", "rollup_1d.meter_id", "rollup_pending", "rollup_pending.id")))
    assert len(seen) > 30
    for needed in ("DELETE readings", "INSERT rollup_15m", "DELETE rollup_1d", "UPDATE meters", "SELECT readings.ts",
                   "INSERT rollup_1mo", "DELETE rollup_1mo", "INSERT rollup_pending", "SELECT rollup_pending", "UPDATE rollup_pending",
                   "DELETE rollup_pending"):
        assert needed in kinds, (needed, kinds)


def test_the_driver_level_batch_insert_for_pymssql():
    """Readings go in by one executemany of a statement compiled once (see rows.RowWriter)."""
    from sqlalchemy.dialects.mssql import pymssql

    writer = RowWriter(pymssql.dialect(paramstyle="pyformat"), "mssql")  # pymssql.paramstyle
    assert writer.direct and not writer.positional
    assert writer.sql.startswith("INSERT INTO readings (meter_id, ts, voltage_l12, ")
    assert "VALUES (%(meter_id)s, %(ts)s, %(voltage_l12)s" in writer.sql and "ON CONFLICT" not in writer.sql
    # pymssql would quote a datetime with milliseconds only: the store sends DATETIME2 as text
    assert writer.ts_proc(datetime(2026, 11, 26, 8, 0, 0, 123456)) == "2026-11-26 08:00:00.123456"
    select_bind = readings.c.ts.type.dialect_impl(MSSQL).bind_processor(MSSQL)
    assert select_bind(datetime(2026, 11, 26, 0, 0, 0, 5)) == "2026-11-26 00:00:00.000005"
    result = readings.c.ts.type.dialect_impl(MSSQL).result_processor(MSSQL, None)
    assert result("2026-11-26 08:00:00.1234567") == datetime(2026, 11, 26, 8, 0, 0, 123456)


@pytest.mark.parametrize("fragment", ["DATETIME2(6)", "NVARCHAR(64)", "NVARCHAR(200)"])
def test_schema_fragments(fragment):
    assert fragment in str(CreateTable(metadata.tables["meters"]).compile(dialect=MSSQL)) or fragment in str(
        CreateTable(metadata.tables["readings"]).compile(dialect=MSSQL))
