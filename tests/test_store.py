"""The store on real databases: SQLite, PostgreSQL and MariaDB, the same tests on each."""

from __future__ import annotations

import random
import socket
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, inspect, text

from wattlog.reading import IMPLAUSIBLE, MISSING, Problem, Reading
from wattlog.store import Store, StoreError, StoreUnavailable
from wattlog.store import migrate as versions
from wattlog.store import refresh as refresh_module
from wattlog.store.engine import normalise

UTC = timezone.utc
T0 = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # 2026-11-26 00:00 in Kuala Lumpur (UTC+8)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wattlog.db'}"
    if request.param == "mariadb":
        return request.getfixturevalue("mysql_fresh")
    return request.getfixturevalue("pg_fresh")


@pytest.fixture
def store(url):
    s = Store(url, site="test", tz="Asia/Kuala_Lumpur", gap_seconds=60)
    s.migrate()
    yield s
    s.close()


def rd(meter: str, at: datetime | float, **values: float) -> Reading:
    ts = at if isinstance(at, datetime) else T0 + timedelta(seconds=at)
    return Reading(meter, ts, "rx380", dict(values))


def power_series(meter: str, seconds: range, watts: float = 10_000.0, **extra: float) -> list[Reading]:
    return [rd(meter, s, total_real_power=watts, **extra) for s in seconds]


def strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "meter"} for r in rows]


def all_rollups(store: Store, meter: str | None = None) -> dict[str, list[dict]]:
    return {p: store.rollups(p, meter) for p in ("15m", "1h", "1d")}


# -- schema --------------------------------------------------------------------------------------

def test_migrate_creates_the_schema_and_is_repeatable(store, url):
    store.migrate()
    engine = create_engine(normalise(url))
    names = set(inspect(engine).get_table_names())
    assert {"meters", "readings", "rollup_15m", "rollup_1h", "rollup_1d", versions.VERSION_TABLE} <= names
    with engine.connect() as conn:
        assert versions.current(conn) == (versions.head(),)
    pk = inspect(engine).get_pk_constraint("readings")["constrained_columns"]
    assert pk == ["meter_id", "ts"]
    engine.dispose()


def test_every_connection_is_durable_and_bounded_by_the_timeout(url):
    """A commit is on the disk when it returns (the spool is acknowledged after it), and every call
    gives up after the timeout instead of hanging (issue 8, items 2 and 5)."""
    with Store(url, site="test", timeout=7) as s, s.engine.connect() as conn:
        if s.dialect == "sqlite":
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 7000
        elif s.dialect == "postgresql":
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "7s"
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "7s"
        else:
            assert conn.exec_driver_sql("SELECT @@SESSION.innodb_lock_wait_timeout").scalar() == 7
            # the server's own setting; wattlog cannot set it, the README says to keep it at 1
            assert conn.exec_driver_sql("SELECT @@GLOBAL.innodb_flush_log_at_trx_commit").scalar() == 1


def test_migrations_build_exactly_the_models(store, url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from wattlog.store.schema import metadata

    engine = create_engine(normalise(url))
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": versions.VERSION_TABLE})
        assert compare_metadata(ctx, metadata) == []
    engine.dispose()


def test_a_newer_database_is_refused_clearly(store, url):
    engine = create_engine(normalise(url))
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {versions.VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="newer than this wattlog"):
        store.migrate()


# -- raw readings ---------------------------------------------------------------------------------

def test_write_and_read_back_exact_values_nulls_flags_and_extras(store):
    r = Reading("office", T0 + timedelta(microseconds=123456), "rx380",
                {"voltage_l1": 231.4, "total_real_power": -1234.5678901234, "total_real_energy": 4294967295.0,
                 "thd_v1": 2.5},
                {"current_l1": Problem(MISSING, "no answer"),
                 "frequency": Problem(IMPLAUSIBLE, "frequency 0 Hz outside 45-65 Hz", 0.0)})
    assert store.write([r]) == 1
    [row] = list(store.readings())
    assert row["timestamp"] == r.timestamp and row["timestamp"].tzinfo is not None
    assert row["meter"] == "office"
    assert row["voltage_l1"] == 231.4 and row["total_real_power"] == -1234.5678901234
    assert row["total_real_energy"] == 4294967295.0
    assert row["current_l1"] is None and row["frequency"] is None and row["voltage_l2"] is None
    assert row["thd_v1"] == 2.5
    assert row["flags"] == {"current_l1": "missing: no answer",
                            "frequency": "implausible: frequency 0 Hz outside 45-65 Hz"}


def test_a_reading_without_problems_has_no_flags(store):
    store.write([rd("office", 0, voltage_l1=230.0)])
    assert next(store.readings())["flags"] == {}


def test_replaying_a_batch_changes_nothing(store):
    batch = power_series("office", range(0, 3600, 10), total_real_energy=7.0)
    assert store.write(batch) == 360
    before = (list(store.readings()), all_rollups(store))
    assert store.write(batch) == 0
    assert store.write(batch[100:200] + [batch[5], batch[5]]) == 0
    assert (list(store.readings()), all_rollups(store)) == before


def test_duplicates_inside_one_batch_are_written_once(store):
    r = rd("office", 0, total_real_power=5.0)
    assert store.write([r, rd("office", 0, total_real_power=6.0), r]) == 1
    assert [x["total_real_power"] for x in store.readings()] == [5.0]


def test_the_portable_insert_path_is_idempotent_too(store):
    store._insert_dialect = "mssql"  # plain INSERT after selecting the keys already there
    batch = power_series("office", range(0, 600, 10))
    assert store.write(batch) == 60
    assert store.write(batch + power_series("office", range(600, 700, 10))) == 10
    assert len(list(store.readings())) == 70


def test_unknown_meters_are_registered_and_known_ones_updated(store):
    store.write([rd("workshop", 0, total_real_power=1.0)])
    assert store.ensure_meter("office", "rx380", "Level 1 office", {"floor": "1"}) > 0
    store.ensure_meter("office", "rx380", "Level 2 office", {"floor": "2"})
    meters = {m["name"]: m for m in store.meters()}
    assert meters["workshop"]["model"] == "rx380" and meters["workshop"]["site"] == "test"
    assert meters["office"]["location"] == "Level 2 office" and meters["office"]["tags"] == {"floor": "2"}
    other = Store(store.url.render_as_string(hide_password=False), site="elsewhere")
    other.write([rd("office", 0, total_real_power=2.0)])  # same name, other site: another meter
    assert [m["name"] for m in other.meters()] == ["office"]
    assert [r["total_real_power"] for r in store.readings("office")] == []
    other.close()


def test_readings_filter_by_meter_and_time(store):
    store.write(power_series("office", range(0, 100, 10)) + power_series("shop", range(0, 100, 10)))
    rows = list(store.readings("shop", T0 + timedelta(seconds=20), T0 + timedelta(seconds=50)))
    assert [(r["meter"], r["timestamp"]) for r in rows] == [("shop", T0 + timedelta(seconds=s)) for s in (20, 30, 40)]
    assert [r["meter"] for r in store.readings()][::10] == ["office", "shop"]
    with pytest.raises(ValueError, match="no time zone"):
        list(store.readings(start=datetime(2026, 1, 1)))


# -- rollups: exact answers ----------------------------------------------------------------------

def test_constant_10kw_for_an_hour_is_10_kwh(store):
    store.write(power_series("office", range(0, 3601, 10)))
    hours = store.rollups("1h")
    assert hours[0]["start"] == T0 and hours[0]["energy_kwh"] == pytest.approx(10.0, abs=1e-9)
    assert hours[0]["covered_s"] == pytest.approx(3600) and hours[0]["gap_s"] == 0
    assert hours[0]["power_avg"] == pytest.approx(10_000.0)
    quarters = store.rollups("15m")
    assert [q["energy_kwh"] for q in quarters[:4]] == pytest.approx([2.5] * 4, abs=1e-9)
    assert [q["samples"] for q in quarters] == [90, 90, 90, 90, 1]
    assert quarters[4]["energy_kwh"] is None and quarters[4]["covered_s"] == 0  # 01:00:00 alone


def test_an_interval_is_split_exactly_at_bucket_boundaries(store):
    # 0 W at 895 s, 1000 W at 905 s: a ramp across the boundary at 900 s
    wide = Store(store.url.render_as_string(hide_password=False), site="ramp", gap_seconds=900)
    wide.write([rd("m", 895, total_real_power=0.0), rd("m", 905, total_real_power=1000.0)])
    q = wide.rollups("15m")
    # before 900 s: triangle 0..500 W over 5 s = 1250 W s; after: 500..1000 W over 5 s = 3750 W s
    assert [r["energy_kwh"] * 3.6e6 for r in q] == pytest.approx([1250.0, 3750.0])
    assert [r["covered_s"] for r in q] == pytest.approx([5.0, 5.0])
    wide.close()


def test_a_gap_is_not_integrated_and_is_counted(store):
    seconds = [s for s in range(0, 901, 10) if not 100 < s < 400]  # 100 -> 400: 300 s silent
    store.write([rd("office", s, total_real_power=3600.0) for s in seconds])
    [q, last] = store.rollups("15m")
    assert q["gap_s"] == pytest.approx(300.0) and q["covered_s"] == pytest.approx(600.0)
    assert q["energy_kwh"] == pytest.approx(3600.0 * 600 / 3.6e6)
    assert q["power_avg"] == pytest.approx(3600.0)
    assert last["samples"] == 1


def test_a_long_outage_shows_as_gap_rows(store):
    store.write(power_series("office", range(0, 61, 10)))
    store.write(power_series("office", range(3 * 3600, 3 * 3600 + 61, 10)))  # back 3 hours later
    quarters = store.rollups("15m")
    assert sum(q["gap_s"] for q in quarters) == pytest.approx(3 * 3600 - 60)
    assert sum(q["covered_s"] for q in quarters) == pytest.approx(120)
    hours = store.rollups("1h")
    assert [h["gap_s"] for h in hours] == pytest.approx([3540.0, 3600.0, 3600.0, 0.0])


def test_counter_first_last_and_a_reset_gives_no_negative_energy(store):
    counters = [100, 100, 101, 102, 102, 3, 4, 4, 5]  # a meter swap after 102
    batch = [rd("office", 10 * i, total_real_energy=float(c), total_real_power=500.0) for i, c in enumerate(counters)]
    store.write(batch)
    [q] = store.rollups("15m")
    assert (q["counter_first"], q["counter_last"]) == (100.0, 5.0)
    assert q["counter_first_ts"] == T0 and q["counter_last_ts"] == T0 + timedelta(seconds=80)
    assert q["counter_kwh"] == 2.0 + 2.0  # 100->102, then 3->5: the drop counts zero
    for period in ("15m", "1h", "1d"):
        for row in store.rollups(period):
            assert row["counter_kwh"] >= 0 and row["energy_kwh"] >= 0


def test_counter_increase_is_attributed_across_a_bucket_boundary(store):
    store.write([rd("office", 890, total_real_energy=10.0), rd("office", 900, total_real_energy=11.0)])
    assert [q["counter_kwh"] for q in store.rollups("15m")] == [0.0, 1.0]


def test_hours_and_days_follow_the_site_local_day(store):
    # 15:50Z .. 16:10Z on 2026-11-25 spans local midnight of 2026-11-26 in Kuala Lumpur.
    store.write(power_series("office", range(-600, 601, 10), watts=3600.0))
    days = store.rollups("1d")
    assert [d["start"].isoformat() for d in days] == ["2026-11-25T00:00:00+08:00", "2026-11-26T00:00:00+08:00"]
    assert days[1]["start"].astimezone(UTC) == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    assert [d["energy_kwh"] for d in days] == pytest.approx([0.6, 0.6])
    assert days[1]["end"].isoformat() == "2026-11-27T00:00:00+08:00"
    hours = store.rollups("1h")
    assert [h["start"].hour for h in hours] == [23, 0]


def test_local_hours_in_a_half_hour_zone(url, tmp_path):
    s = Store(url, site="india", tz="Asia/Kolkata")  # UTC+5:30: local hours start at :30 UTC
    s.migrate()
    s.write(power_series("m", range(0, 3601, 10), watts=1000.0))
    hours = s.rollups("1h")
    assert [h["start"].astimezone(UTC).minute for h in hours] == [30, 30]
    assert [h["energy_kwh"] for h in hours] == pytest.approx([0.5, 0.5])
    s.close()


def test_quality_columns(store):
    store.write([
        rd("office", 0, voltage_l1=230.0, voltage_l2=232.0, voltage_l3=228.0, voltage_l12=399.0,
           voltage_l23=401.0, voltage_l31=400.0, current_l1=5.0, current_l2=7.0, current_l3=6.0,
           frequency=49.9, total_real_power=800.0, total_power_factor=0.8),
        rd("office", 10, voltage_l1=240.0, voltage_l2=240.0, voltage_l3=240.0, frequency=50.1,
           total_real_power=800.0, total_power_factor=-0.8, total_reactive_power=600.0),
    ])
    [q] = store.rollups("15m")
    assert q["voltage_avg"] == pytest.approx((230 + 232 + 228 + 240 * 3) / 6) and q["voltage_samples"] == 6
    assert (q["voltage_min"], q["voltage_max"]) == (228.0, 240.0)
    assert (q["voltage_ll_min"], q["voltage_ll_max"]) == (399.0, 401.0)
    assert q["unbalance_max"] == pytest.approx(2 / 230 * 100)
    assert (q["freq_min"], q["freq_max"], q["current_max"]) == (49.9, 50.1, 7.0)
    assert q["pf_min"] == 0.8 and q["pf_avg"] == pytest.approx(0.8)  # S = P / PF when S is not read
    assert q["apparent_kvah"] == pytest.approx(1000 * 10 / 3.6e6)
    assert q["reactive_kvarh"] is None  # Q read at one end only: not integrated


# -- rollups: order and rebuild ------------------------------------------------------------------

def _messy_day(meter: str) -> list[Reading]:
    """Two hours of 10-s readings with holes, a short and a long gap, a counter reset, missing power."""
    rng = random.Random(7)
    out, counter = [], 1000.0
    for s in range(0, 7200, 10):
        if 1200 <= s < 1250 or 3000 <= s < 4000 or rng.random() < 0.03:
            continue
        counter = 5.0 if s == 5000 else counter + rng.choice([0, 0, 1])
        values = {"total_real_power": rng.uniform(2000, 9000), "total_apparent_power": rng.uniform(9000, 10000),
                  "total_reactive_power": rng.uniform(-100, 900), "voltage_l1": rng.uniform(225, 235),
                  "total_real_energy": counter, "frequency": 50.0}
        if rng.random() < 0.05:
            del values["total_real_power"]
        out.append(rd(meter, s + 0.25, **values))
    return out


def test_out_of_order_batches_give_the_same_rollups(store):
    data_a, data_b = _messy_day("a"), _messy_day("b")
    store.write(data_a)
    rng = random.Random(3)
    rng.shuffle(data_b)
    for i in range(0, len(data_b), 37):
        store.write(data_b[i:i + 37])
    for period in ("15m", "1h", "1d"):
        assert strip(store.rollups(period, "b")) == strip(store.rollups(period, "a")), period


def test_rebuild_equals_incremental(store):
    data = _messy_day("office")
    for i in range(0, len(data), 50):
        store.write(data[i:i + 50])
    before = all_rollups(store)
    store.rebuild_rollups()
    assert all_rollups(store) == before
    store.rebuild_rollups("office", T0 + timedelta(minutes=20), T0 + timedelta(minutes=70))
    assert all_rollups(store) == before
    with pytest.raises(StoreError, match="no meter 'nope'"):
        store.rebuild_rollups("nope")


def test_prune_removes_old_raw_readings_and_keeps_rollups(store):
    day = 86_400
    store.write([rd("office", d * day + s, total_real_power=1000.0, total_real_energy=float(d))
                 for d in range(0, 100, 3) for s in range(0, 1800, 10)])
    before = all_rollups(store)
    now = T0 + timedelta(days=100)
    total = len(list(store.readings()))
    deleted = store.prune(raw_days=90, now=now)
    left = list(store.readings())
    assert deleted == total - len(left) == 4 * 180  # days 0, 3, 6, 9 are older than 90 days
    assert min(r["timestamp"] for r in left) >= now - timedelta(days=90)
    assert all_rollups(store) == before
    store.rebuild_rollups()  # must not rebuild pruned buckets from what is left
    assert all_rollups(store) == before
    assert store.prune(raw_days=90, now=now) == 0
    assert store.meters()[0]["pruned_before"] == now - timedelta(days=90)


# -- failures --------------------------------------------------------------------------------------

def test_a_failed_write_rolls_back_completely(store, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def broken(*args, **kwargs):
        raise OperationalError("UPDATE rollup", {}, Exception("disk I/O error"))

    monkeypatch.setattr("wattlog.store.store.refresh", broken)
    batch = power_series("office", range(0, 100, 10))
    with pytest.raises(StoreUnavailable, match="disk I/O error"):
        store.write(batch)
    monkeypatch.setattr("wattlog.store.store.refresh", refresh_module.refresh)
    assert list(store.readings()) == [] and store.meters() == []
    assert store.write(batch) == 10  # the retry writes everything


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_store_unavailable_names_the_masked_url_and_a_fix():
    s = Store(f"postgresql://wattlog:s3cret@127.0.0.1:{_closed_port()}/wattlog")
    with pytest.raises(StoreUnavailable) as info:
        s.write([rd("office", 0, total_real_power=1.0)])
    text_ = str(info.value)
    assert "s3cret" not in text_ and "***" in text_ and "127.0.0.1" in text_
    assert "fix:" in text_ and "pg_isready" in text_
    with pytest.raises(StoreUnavailable):
        s.migrate()
    s.close()


def test_sqlite_in_a_missing_folder_is_unavailable(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'no' / 'such' / 'w.db'}")
    with pytest.raises(StoreUnavailable, match="exists and is writable"):
        s.migrate()
    s.close()


def test_bad_arguments_are_refused():
    with pytest.raises(StoreError, match="time zone"):
        Store("sqlite://", tz="Mars/Olympus")
    with pytest.raises(StoreError, match="not installed|unsupported"):
        Store("oracle://x@y/z")


def test_a_postgresql_outage_raises_store_unavailable_and_a_retry_succeeds(pg_cluster):
    s = Store(pg_cluster.url, site="outage")
    s.migrate()
    assert s.write(power_series("office", range(0, 300, 10))) == 30
    pg_cluster.stop()
    later = power_series("office", range(300, 600, 10))
    with pytest.raises(StoreUnavailable, match="pg_isready"):
        s.write(later)
    pg_cluster.start()
    assert s.write(later) == 30  # the same batch again, as the service's spool would send it
    assert len(list(s.readings())) == 60
    assert s.rollups("15m")[0]["energy_kwh"] == pytest.approx(10 * 590 / 3600)
    s.close()
