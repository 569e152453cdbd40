"""Monthly rollups and packed quarter-hours: built in the write transaction, equal to a rebuild, filled on upgrade."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from analytics_synth import KL, local, make_store, series, write
from sqlalchemy import text

from wattlog.analytics.rollups import rollups
from wattlog.store import migrate as versions
from wattlog.store.schema import ROLLUP_COLUMNS

D = date(2026, 1, 31)  # a month ends in the middle of the data (local time, UTC+8)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'w.db'}"
    if request.param == "mariadb":
        return request.getfixturevalue("mysql_fresh")
    return request.getfixturevalue("pg_fresh")


def load_power(t: datetime) -> float:
    return 3000.0 + 1000.0 * (t.astimezone(KL).hour % 5)


def two_months(store, step: float = 60.0) -> None:
    write(store, series("m", local(D, 12), local(D + timedelta(days=1), 12), load_power, step=step,
                        counter0=1000.5))


def strip(rows):
    return [{k: v for k, v in r.items() if k != "quarters"} for r in rows]


def test_months_are_local_calendar_months_built_from_the_days(url):
    store = make_store(url)
    two_months(store)
    months = store.rollups("1mo", "m")
    assert [m["start"] for m in months] == [datetime(2026, 1, 1, tzinfo=KL), datetime(2026, 2, 1, tzinfo=KL)]
    assert [m["end"] for m in months] == [datetime(2026, 2, 1, tzinfo=KL), datetime(2026, 3, 1, tzinfo=KL)]
    days = store.rollups("1d", "m")
    for month in months:
        inside = [d for d in days if month["start"] <= d["start"] < month["end"]]
        assert month["energy_kwh"] == pytest.approx(sum(d["energy_kwh"] for d in inside))
        assert month["samples"] == sum(d["samples"] for d in inside)
        assert month["counter_kwh"] == sum(d["counter_kwh"] for d in inside)
        assert month["counter_first"] == inside[0]["counter_first"]
    assert sum(m["energy_kwh"] for m in months) == pytest.approx(sum(d["energy_kwh"] for d in days))
    store.close()


def test_packed_quarters_equal_the_15_minute_rows(url):
    store = make_store(url)
    lost = lambda t: local(D, 15, 2) <= t < local(D, 15, 40)  # noqa: E731 - a gap inside the day
    write(store, series("m", local(D, 12), local(D + timedelta(days=1), 12), load_power, step=30, skip=lost))
    fine = {r["start"]: r for r in store.rollups("15m", "m")}
    packed = store.packed_days("m")
    assert [p["start"].date() for p in packed] == [D, D + timedelta(days=1)]
    for day in packed:
        q = day["quarters"]
        assert q.n == 96
        for i in range(96):
            row = fine.get(day["start"] + timedelta(minutes=15 * i))
            for f in ("energy_kwh", "covered_s", "gap_s", "apparent_kvah"):
                v = q[f][i]
                assert (v != v) if row is None or row[f] is None else v == row[f], (f, i)
            if row is not None and row["voltage_min"] is not None:
                assert q["voltage_min"][i] == pytest.approx(row["voltage_min"], abs=1e-4)
        assert sum(v for v in q["energy_kwh"] if v == v) == pytest.approx(day["energy_kwh"])
    store.close()


def test_incremental_writes_in_any_order_equal_a_rebuild(tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 'a.db'}")
    readings = series("m", local(D, 20), local(D + timedelta(days=1), 4), load_power, step=20, counter0=1000.5)
    random.Random(4).shuffle(readings)
    for i in range(0, len(readings), 333):
        store.write(readings[i:i + 333])
    before = {p: store.rollups(p) for p in ("1d", "1mo")}
    packed = [p["quarters"]._data.tobytes() for p in store.packed_days()]
    store.rebuild_rollups()
    assert {p: store.rollups(p) for p in ("1d", "1mo")} == before
    assert [p["quarters"]._data.tobytes() for p in store.packed_days()] == packed
    store.close()


def test_upgrading_from_revision_0001_fills_months_and_quarters_from_the_15_minute_rows(url):
    store = make_store(url)
    two_months(store, step=120)
    before = {p: store.rollups(p) for p in ("15m", "1d", "1mo")}
    packed = [p["quarters"]._data.tobytes() for p in store.packed_days()]
    with store.engine.begin() as conn:  # back to the first schema, as an older wattlog left it
        cfg = versions.config()
        cfg.attributes["connection"] = conn
        from alembic import command

        command.downgrade(cfg, "0001")
        assert versions.current(conn) == ("0001",)
        assert conn.execute(text("SELECT count(*) FROM rollup_1d")).scalar() == 2
    store.close()
    store = make_store(url)  # migrate(): upgrade to 0002, then fill what 0001 did not have
    assert {p: store.rollups(p) for p in ("15m", "1d", "1mo")} == before
    assert [p["quarters"]._data.tobytes() for p in store.packed_days()] == packed
    store.close()


def test_a_dst_day_packs_its_92_quarters(tmp_path):
    berlin = ZoneInfo("Europe/Berlin")
    store = make_store(f"sqlite:///{tmp_path / 'b.db'}", tz="Europe/Berlin")
    write(store, series("m", datetime(2026, 3, 28, 12, tzinfo=berlin), datetime(2026, 3, 30, 12, tzinfo=berlin),
                        lambda t: 4000.0, step=60, counter0=None))
    sizes = {p["start"].date(): p["quarters"].n for p in store.packed_days()}
    assert sizes == {date(2026, 3, 28): 96, date(2026, 3, 29): 92, date(2026, 3, 30): 96}
    [march] = store.rollups("1mo")
    assert march["start"] == datetime(2026, 3, 1, tzinfo=berlin) and march["energy_kwh"] == pytest.approx(4 * 47)
    store.close()


def test_location_rollups_combine_the_meters_at_query_time(tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 'l.db'}")
    store.ensure_meter("ac1", location="aircon")
    store.ensure_meter("ac2", location="aircon")
    write(store, series("ac1", local(D, 8), local(D, 10), lambda t: 4000.0, volts=lambda t: (228.0,) * 3)
          + series("ac2", local(D, 8), local(D, 9), lambda t: 6000.0, volts=lambda t: (232.0,) * 3))
    hours = rollups(store, "1h", by="location")
    assert [(h["location"], h["start"], h["meters"]) for h in hours] == [  # last readings at 09:00 and 10:00
        ("aircon", local(D, 8), ["ac1", "ac2"]), ("aircon", local(D, 9), ["ac1", "ac2"]),
        ("aircon", local(D, 10), ["ac1"])]
    first = hours[0]
    assert first["energy_kwh"] == pytest.approx(10.0) and first["kwh"] == pytest.approx(10.0)
    assert first["power_avg"] == pytest.approx(10_000.0)
    assert (first["voltage_min"], first["voltage_max"]) == (228.0, 232.0) and first["voltage_avg"] == pytest.approx(230.0)
    assert first["covered_s"] == 3600.0 and "counter_first" not in first
    per_meter = rollups(store, "1mo")
    assert {r["meter"]: r["kwh"] for r in per_meter} == pytest.approx({"ac1": 8.0, "ac2": 6.0})
    assert set(ROLLUP_COLUMNS) <= set(per_meter[0])
    store.close()


def test_only_the_newest_day_is_stored_unpacked_and_is_packed_when_the_next_day_begins(tmp_path):
    """Issue 14: the newest day's 6.5 KB of arrays were rewritten with every write (most of the SD card's
    wear); it is stored without them and packed when a later day begins, in the order readings come."""
    store = make_store(f"sqlite:///{tmp_path / 'a.db'}")
    readings = series("m", local(D, 22), local(D + timedelta(days=2), 1), load_power, step=60, counter0=1000.5)

    def stored_packed() -> dict[date, bool]:
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT start, quarters IS NOT NULL FROM rollup_1d ORDER BY start")).all()
        return {(datetime.fromisoformat(str(s)) + timedelta(hours=8)).date(): bool(p) for s, p in rows}

    first_day = [r for r in readings if r.timestamp < local(D + timedelta(days=1))]
    for i in range(0, len(first_day), 20):  # as the service writes: a little at a time, in time order
        store.write(first_day[i:i + 20])
    assert stored_packed() == {D: False}
    rest = readings[len(first_day):]
    store.write(rest[:5])  # the next day begins
    assert stored_packed() == {D: True, D + timedelta(days=1): False}
    store.write(rest[5:])
    assert stored_packed() == {D: True, D + timedelta(days=1): True, D + timedelta(days=2): False}
    d4 = D + timedelta(days=4)  # the meter was off for more than a day: this write does not touch D + 2
    store.write(series("m", local(d4, 0), local(d4, 2), load_power, step=60, counter0=2000.5))
    want = {D: True, D + timedelta(days=1): True, D + timedelta(days=2): True, d4: False}
    assert stored_packed() == want
    incremental = [(p["start"], p["quarters"]._data.tobytes()) for p in store.packed_days()]
    store.rebuild_rollups()
    assert stored_packed() == want
    assert [(p["start"], p["quarters"]._data.tobytes()) for p in store.packed_days()] == incremental
    store.close()
