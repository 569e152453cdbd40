"""Deferred rollups (Store.write(defer=True) + Store.refresh_pending()): the same rows as normal
writes, crash-safe, and how the database sink uses them while it catches up on a backlog."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text

from wattlog.config import parse_config
from wattlog.reading import Reading
from wattlog.sinks import database as database_sink
from wattlog.sinks.database import DatabaseSink
from wattlog.store import Store, import_poc_csv
from wattlog.store import store as store_module
from wattlog.store.engine import normalise

UTC = timezone.utc
T0 = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # 22:00 in Kuala Lumpur: the data crosses local midnight
PERIODS = ("15m", "1h", "1d", "1mo")


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wattlog.db'}"
    if request.param == "mariadb":
        return request.getfixturevalue("mysql_fresh")
    return request.getfixturevalue("pg_fresh")


def open_store(url: str, site: str = "test") -> Store:
    s = Store(url, site=site, tz="Asia/Kuala_Lumpur", gap_seconds=60)
    s.migrate()
    return s


@pytest.fixture
def store(url):
    s = open_store(url)
    yield s
    s.close()


def messy(meters: tuple[str, ...] = ("a", "b"), hours: float = 30, seed: int = 7) -> list[Reading]:
    """10-s readings over local midnight with holes, a short and a long gap, a counter reset, missing power."""
    rng = random.Random(seed)
    out = []
    for m in meters:
        counter = 1000.0
        for s in range(0, int(hours * 3600), 10):
            if 1200 <= s < 1250 or 9000 <= s < 10000 or rng.random() < 0.03:
                continue
            counter = 5.0 if s == 50_000 else counter + rng.choice([0, 0, 1])
            values = {"total_real_power": rng.uniform(2000, 9000), "total_apparent_power": rng.uniform(9000, 10000),
                      "total_reactive_power": rng.uniform(-100, 900), "voltage_l1": rng.uniform(225, 235),
                      "total_real_energy": counter, "frequency": 50.0}
            if rng.random() < 0.05:
                del values["total_real_power"]
            out.append(Reading(m, T0 + timedelta(seconds=s + 0.25), "rx380", values))
    out.sort(key=lambda r: r.timestamp)
    return out


def everything(store: Store) -> dict[str, object]:
    out: dict[str, object] = {p: store.rollups(p) for p in PERIODS}
    out["quarters"] = [(d["meter"], d["start"], bytes(d["quarters"]._data)) for d in store.packed_days()]
    return out


def pending_rows(url: str) -> int:
    engine = create_engine(normalise(url))
    with engine.connect() as conn:
        n = conn.execute(text("SELECT COUNT(*) FROM rollup_pending")).scalar_one()
    engine.dispose()
    return n


def reference(tmp_path, data: list[Reading], batch: int = 500) -> dict[str, object]:
    """The rollups of `data` written the normal way, in order, on SQLite."""
    with open_store(f"sqlite:///{tmp_path / 'reference.db'}") as ref:
        for i in range(0, len(data), batch):
            ref.write(data[i:i + batch])
        return everything(ref)


def test_deferred_writes_then_refresh_give_the_rows_of_normal_writes(store, url, tmp_path):
    data = messy()
    inserted = sum(store.write(data[i:i + 500], defer=True) for i in range(0, len(data), 500))
    assert inserted == len(data)
    assert store.rollups("15m") == [] and pending_rows(url) > 0  # nothing recomputed yet
    assert store.refresh_pending() is True
    assert pending_rows(url) == 0
    assert everything(store) == reference(tmp_path, data)
    store.rebuild_rollups()
    assert everything(store) == reference(tmp_path, data)


def test_out_of_order_deferred_and_normal_writes_mixed(store, tmp_path):
    data = messy()
    shuffled = data[:]
    random.Random(3).shuffle(shuffled)
    for n, i in enumerate(range(0, len(shuffled), 997)):
        store.write(shuffled[i:i + 997], defer=n % 3 != 2)  # every third batch written normally
    assert store.write(shuffled[:100], defer=True) == 0  # a replay records nothing new
    store.refresh_pending()
    assert everything(store) == reference(tmp_path, data)


def test_separate_pieces_of_one_day_refreshed_together(store, tmp_path):
    data = messy(hours=20)
    pieces = [r for r in data if r.timestamp < T0 + timedelta(hours=4)
              or T0 + timedelta(hours=9) <= r.timestamp < T0 + timedelta(hours=11)
              or T0 + timedelta(hours=16) <= r.timestamp]
    late = {id(r) for r in pieces}
    rest = [r for r in data if id(r) not in late]
    store.write(rest)  # written and rolled up before; the pieces arrive late, deferred
    for i in range(0, len(pieces), 700):
        store.write(pieces[i:i + 700], defer=True)
    assert store.refresh_pending() is True
    assert everything(store) == reference(tmp_path, data)


def test_a_crash_before_the_refresh_is_repaired_when_the_store_is_opened_again(url, tmp_path):
    data = messy()
    first = open_store(url)
    for i in range(0, len(data), 2000):
        first.write(data[i:i + 2000], defer=True)
    first.close()  # the process dies here: no refresh_pending()
    assert pending_rows(url) > 0
    with Store(url, site="test", tz="Asia/Kuala_Lumpur", gap_seconds=60) as again:
        assert again.rollups("1d") == []  # stale until migrated (the service migrates on start)
        again.migrate()
        assert pending_rows(url) == 0
        assert everything(again) == reference(tmp_path, data)


def test_an_interrupted_refresh_leaves_exactly_the_rest_pending(store, url, tmp_path, monkeypatch):
    data = messy(hours=60)  # three local days: the refresh commits day by day
    for i in range(0, len(data), 2000):
        store.write(data[i:i + 2000], defer=True)
    real, calls = store_module.refresh_many, []

    def dies_on_the_second_day(conn, spans, *args):  # type: ignore[no-untyped-def]
        calls.append(sorted(spans))
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real(conn, spans, *args)

    monkeypatch.setattr(store_module, "refresh_many", dies_on_the_second_day)
    with pytest.raises(RuntimeError, match="power cut"):
        store.refresh_pending()
    monkeypatch.setattr(store_module, "refresh_many", real)
    assert calls == [[1, 2], [1, 2]]  # both meters' part of a local day in one transaction
    assert pending_rows(url) == 2  # day 1 of both meters is done, day 2 failed: both rows start there
    assert [(d["meter"], d["start"].day) for d in store.rollups("1d")] == [("a", 25), ("b", 25)]
    assert store.refresh_pending(budget=0) is False  # nothing done within no time
    assert store.refresh_pending() is True and pending_rows(url) == 0
    assert everything(store) == reference(tmp_path, data)


def test_another_sites_pending_ranges_are_left_to_it(url, tmp_path):
    data = messy(("a",), hours=3)
    with open_store(url, "one") as one, open_store(url, "two") as two:
        one.write(data, defer=True)
        two.write(data, defer=True)
        assert one.refresh_pending() is True
        assert one.rollups("15m") and two.rollups("15m") == [] and pending_rows(url) == 1
        assert two.refresh_pending() is True and pending_rows(url) == 0
        assert strip_meter(two.rollups("15m")) == strip_meter(one.rollups("15m"))


def strip_meter(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "meter"} for r in rows]


def test_an_import_that_dies_half_way_is_repaired_on_the_next_start(url, tmp_path, monkeypatch):
    start = datetime(2025, 3, 1, 8)
    paths = []
    for part in range(3):  # a file at a time, one transaction each: the third file's write dies
        lines = ["timestamp,total_real_power,frequency"] + [
            f"{start + timedelta(seconds=10 * i)},{1000 + i % 7},50.0" for i in range(part * 1000, part * 1000 + 1000)]
        path = tmp_path / f"day{part}.csv"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    store = open_store(url)
    real, calls = Store.write, []

    def dies_on_the_third_batch(self, readings, defer=False):  # type: ignore[no-untyped-def]
        calls.append(len(readings))
        if len(calls) == 3:
            raise RuntimeError("killed")
        return real(self, readings, defer)

    monkeypatch.setattr(Store, "write", dies_on_the_third_batch)
    with pytest.raises(RuntimeError, match="killed"):
        import_poc_csv(store, paths, meter="office")
    monkeypatch.setattr(Store, "write", real)
    store.close()
    assert pending_rows(url) > 0
    with open_store(url) as again:  # migrate() recomputes what the import left pending
        assert pending_rows(url) == 0
        repaired = everything(again)
        again.rebuild_rollups()
        assert everything(again) == repaired and sum(r["samples"] for r in repaired["1d"]) == 2000


# -- the database sink ----------------------------------------------------------------------------

def sink_for(url: str, tmp_path) -> DatabaseSink:
    cfg = parse_config({"site": {"name": "test", "data_dir": str(tmp_path), "timezone": "Asia/Kuala_Lumpur"},
                        "intervals": {"poll": "10s"},
                        "meters": [{"name": n, "url": f"tcp://127.0.0.1:1502/{u}"} for u, n in ((1, "a"), (2, "b"))],
                        "databases": [{"url": url}]}, "")
    return DatabaseSink(cfg.databases[0], cfg)


async def in_cycles(sink: DatabaseSink, readings: list[Reading]) -> None:
    """The steady state: the spool hands over a poll cycle (2 meters) at a time."""
    for i in range(0, len(readings), 2):
        await sink.deliver(readings[i:i + 2])


def test_the_sink_defers_full_batches_and_refreshes_when_caught_up(url, tmp_path):
    sink = sink_for(url, tmp_path)
    full = 2 * sink.batch
    data = messy(hours=full / 650 + 1)  # 2 meters, about 700 readings an hour
    assert sink.cfg.gap_seconds == 60 and len(data) > full + 400

    async def go() -> None:
        await sink.open()
        for i in range(0, full, sink.batch):  # a backlog: the spool hands over full batches
            await sink.deliver(data[i:i + sink.batch])
        assert sink.store is not None
        assert sink.store.rollups("1d") == [] and pending_rows(url) > 0
        await sink.deliver(data[full:full + 10])  # caught up: a short batch
        assert pending_rows(url) == 0
        await in_cycles(sink, data[full + 10:full + 400])
        assert pending_rows(url) == 0
        assert everything(sink.store) == reference(tmp_path, data[:full + 400])
        await sink.close()

    asyncio.run(go())


def test_the_sink_refreshes_within_its_budget_and_finishes_later(url, tmp_path, monkeypatch):
    sink = sink_for(url, tmp_path)
    data = messy(hours=sink.batch / 650 + 1)[:sink.batch + 200]

    async def go() -> None:
        await sink.open()
        await sink.deliver(data[:sink.batch])
        monkeypatch.setattr(database_sink, "REFRESH_BUDGET", 0.0)
        await sink.deliver(data[sink.batch:sink.batch + 8])
        assert pending_rows(url) > 0  # no time left: still pending, nothing lost
        await sink.close()
        monkeypatch.setattr(database_sink, "REFRESH_BUDGET", 5.0)
        await sink.open()  # the next start migrates: what was left is done
        assert pending_rows(url) == 0
        await in_cycles(sink, data[sink.batch + 8:])
        assert everything(sink.store) == reference(tmp_path, data)
        await sink.close()

    asyncio.run(go())


# -- the driver-level fast paths on SQLite ----------------------------------------------------------

def test_sqlite_timestamps_as_text_are_exactly_sqlalchemys(tmp_path):
    from sqlalchemy.dialects import sqlite

    from wattlog.store import rows
    from wattlog.store.schema import readings

    dialect = sqlite.dialect()
    slow = readings.c.ts.type.dialect_impl(dialect).bind_processor(dialect)
    rng = random.Random(5)
    for _ in range(2000):
        t = datetime(1, 1, 1) + timedelta(microseconds=rng.randrange(0, 3_155_000_000 * 10**6 * 100))
        assert rows.SQLITE_TEXT(t) == slow(t)
    assert rows.RowWriter(dialect, "sqlite").ts_proc is rows.SQLITE_TEXT


def test_raw_rows_at_driver_level_equal_sqlalchemys(tmp_path, monkeypatch):
    from wattlog.store import rows
    from wattlog.store.buckets import to_us

    data = messy(("a",), hours=3)
    with open_store(f"sqlite:///{tmp_path / 'w.db'}") as store:
        store.write(data)
        lo, hi = to_us(T0.replace(tzinfo=None)) - 10**9, to_us(T0.replace(tzinfo=None)) + 4 * 3600 * 10**6
        with store.engine.connect() as conn:
            fast = rows.raw_window(conn, 1, lo, hi)
            assert "unixepoch(" in rows._sqlite_window()[0]  # SQLite >= 3.38 here
            rows._sqlite_window.cache_clear()
            with monkeypatch.context() as m:  # an older SQLite: strftime('%s')
                m.setattr(rows, "_SQLITE_US", ("no_such_function(x) + {f}", rows._SQLITE_US[1]))
                assert "strftime(" in rows._sqlite_window()[0]
                assert rows.raw_window(conn, 1, lo, hi) == fast
                rows._sqlite_window.cache_clear()
            with monkeypatch.context() as m:
                m.setattr(rows, "_sqlite_window", lambda: None)  # through SQLAlchemy
                assert rows.raw_window(conn, 1, lo, hi) == fast and len(fast) == len(data)
            assert isinstance(fast[0][0], int) and fast[0][0] == to_us(data[0].timestamp.replace(tzinfo=None))


def test_a_driver_level_error_is_a_store_error(tmp_path):
    from wattlog.store import StoreError, rows

    store = Store(f"sqlite:///{tmp_path / 'empty.db'}", site="test")  # never migrated: no tables
    with pytest.raises(StoreError, match="no wattlog tables"):
        with store._tx() as conn:
            rows.raw_window(conn, 1, 0, 10**6)
    store.close()


def _integrate_reference(seq, lo_b, hi_b, gap, horizon, accs, field, track):  # type: ignore[no-untyped-def]
    """rollup._integrate before its fast path (a running sum per bucket in a dict), for comparison."""
    from itertools import pairwise

    from wattlog.store.buckets import QUARTER, SECOND

    area: dict[int, float] = {}
    covered: dict[int, float] = {}
    for (t0, v0), (t1, v1) in pairwise(seq):
        if t1 <= lo_b or t0 >= hi_b:
            continue
        dt = t1 - t0
        inside = dt <= gap
        if dt > horizon or not (inside or track):
            continue
        t, hi = max(t0, lo_b), min(t1, hi_b)
        while t < hi:
            bucket = t - t % QUARTER
            end = min(bucket + QUARTER, hi)
            secs = (end - t) / SECOND
            if inside:
                if t == t0 and end == t1:
                    part = (v0 + v1) / 2 * secs
                else:
                    part = (2 * v0 + (v1 - v0) / dt * (t - t0 + end - t0)) / 2 * secs
                area[bucket] = area.get(bucket, 0.0) + part
                covered[bucket] = covered.get(bucket, 0.0) + secs
            else:
                accs(bucket).gap += secs
            t = end
    for bucket, value in area.items():
        acc = accs(bucket)
        acc.add(field, value)
        if track:
            acc.covered += covered[bucket]


def test_the_15_minute_arithmetic_gives_the_same_floats_as_the_plain_version(monkeypatch):
    from wattlog.store import rollup

    quarter = 900 * 10**6
    for seed in range(150):
        rng = random.Random(seed)
        rows, t, c = [], rng.randrange(0, 3 * quarter), 100.0
        while t < 20 * quarter:
            t += rng.choice([10**7, 10**7, 3 * 10**7, 7 * 10**7, rng.randrange(1, 4 * quarter), 10**6 * rng.randrange(1, 90)])
            values = [rng.uniform(-5000, 9000) if rng.random() > 0.1 else None for _ in range(15)]
            c = 5.0 if rng.random() < 0.02 else c + rng.choice([0, 1, 2])
            values[14] = c if rng.random() > 0.1 else None
            rows.append((t, *values))
        lo = rng.randrange(0, 10) * quarter
        hi = lo + rng.randrange(1, 20) * quarter
        args = (rows, lo, hi, rng.choice([60, 600, 3600]) * 10**6, rng.choice([86_400 * 10**6, 3 * quarter]),
                (lo - rng.randrange(1, 10**9), 100.0) if rng.random() < 0.5 else None,
                (hi + rng.randrange(0, 10**9), 200.0) if rng.random() < 0.5 else None)
        fast = rollup.compute_15m(*args)
        with monkeypatch.context() as m:
            m.setattr(rollup, "_integrate", _integrate_reference)
            plain = rollup.compute_15m(*args)
        assert repr(fast) == repr(plain), seed  # repr: NaN-safe, and every float bit for bit
