"""Energy per interval: exact integration, counter reconciliation, resets, gaps (reported, not filled)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest
from analytics_synth import local, make_store, series, write

from wattlog.analytics.frame import COARSE, DISAGREE, NO_COUNTER, SCALED
from wattlog.analytics.intervals import (
    energy_intervals,
    energy_series,
    location_intervals,
    location_series,
)
from wattlog.analytics.series import max_demand
from wattlog.analytics.settings import ReportSettings
from wattlog.reading import Reading
from wattlog.store import Store, import_poc_csv

D = date(2026, 3, 2)  # a Monday
U32 = 4_294_967_296


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'w.db'}"
    return request.getfixturevalue("pg_fresh")


@pytest.fixture
def store(tmp_path):
    s = make_store(f"sqlite:///{tmp_path / 'w.db'}")
    yield s
    s.close()


def test_constant_10_kw_for_an_hour_of_10_second_readings_is_10_kwh(url):
    store = make_store(url)
    write(store, series("a", local(D, 8), local(D, 9), lambda t: 10_000.0))
    ivs = energy_intervals(store, D, D + timedelta(days=1))["a"]
    assert [iv.start for iv in ivs] == [local(D, 8, m) for m in (0, 15, 30, 45)]
    assert [iv.kwh for iv in ivs] == pytest.approx([2.5] * 4, abs=1e-12)
    assert sum(iv.kwh for iv in ivs) == pytest.approx(10.0, abs=1e-9)
    assert all(iv.covered_s == 900 and iv.gap_s == 0 for iv in ivs)
    assert all(iv.start.tzinfo is not None and iv.start.utcoffset() == timedelta(hours=8) for iv in ivs)
    series_ = energy_series(store, D, D + timedelta(days=1))
    assert series_.gaps == [] and [c.status for c in series_.checks] == [COARSE]  # 10 kWh: too coarse to scale
    store.close()


def test_an_aware_datetime_range_selects_intervals(store):
    write(store, series("a", local(D, 8), local(D, 9), lambda t: 10_000.0))
    ivs = energy_intervals(store, local(D, 8, 15), local(D, 8, 45))["a"]
    assert [iv.start for iv in ivs] == [local(D, 8, 15), local(D, 8, 30)]


def test_a_day_with_a_gap_reports_it_and_does_not_fill_it(url):
    store = make_store(url)
    missing = lambda t: local(D, 9, 7) <= t < local(D, 10, 22)  # noqa: E731 - readings lost 09:07:00-10:21:50
    write(store, series("a", local(D, 8), local(D, 12), lambda t: 10_000.0, counter0=1000.5, skip=missing))
    result = energy_series(store, D, D + timedelta(days=1))
    [gap] = result.gaps
    assert (gap.meter, gap.start, gap.end) == ("a", local(D, 9, 6, 50), local(D, 10, 22))
    assert gap.duration_s == pytest.approx(4510.0) and gap.exact
    # the counter brackets it: 1011 at 09:06:50 (1000.5 + 11.14 kWh) and 1024 at 10:22 (1000.5 + 23.67)
    assert gap.counter_kwh == 13.0
    ivs = {iv.start: iv for iv in result.intervals["a"]}
    assert ivs[local(D, 9)].kwh == pytest.approx(10 * 410 / 3600) and ivs[local(D, 9)].gap_s == pytest.approx(490)
    for m in range(15, 75, 15):
        iv = ivs[local(D, 9) + timedelta(minutes=m)]
        assert (iv.kwh, iv.covered_s, iv.gap_s) == (0.0, 0.0, 900.0)  # unknown: not filled with anything
    assert ivs[local(D, 10, 15)].gap_s == pytest.approx(420) and ivs[local(D, 10, 15)].covered_s == pytest.approx(480)
    assert sum(iv.kwh for iv in ivs.values()) == pytest.approx(40 - 10 * 4510 / 3600)
    assert sum(iv.gap_s for iv in ivs.values()) == pytest.approx(4510)
    store.close()


def test_an_outage_longer_than_a_day_is_a_gap_of_whole_days(store):
    write(store, series("a", local(D, 0), local(D, 12), lambda t: 1000.0, step=30, counter0=None))
    write(store, series("a", local(D + timedelta(days=2), 12), local(D + timedelta(days=3)), lambda t: 1000.0,
                        step=30, counter0=None))
    result = energy_series(store, D, D + timedelta(days=3))
    [gap] = result.gaps
    assert (gap.start, gap.end, gap.duration_s) == (local(D, 12), local(D + timedelta(days=2), 12), 48 * 3600.0)
    assert gap.counter_kwh is None  # no counter here
    assert sum(iv.kwh for iv in result.intervals["a"]) == pytest.approx(24.0)


def test_a_gap_inside_one_interval_is_reported_with_the_interval_bounds(store):
    missing = lambda t: local(D, 8, 3) <= t < local(D, 8, 5)  # noqa: E731
    write(store, series("a", local(D, 8), local(D, 9), lambda t: 6000.0, skip=missing))
    [gap] = energy_series(store, D, D + timedelta(days=1)).gaps
    assert (gap.start, gap.end, gap.duration_s, gap.exact) == (local(D, 8), local(D, 8, 15), 130.0, False)


def _reconciliation_store(store, scale: float, days: int = 3):
    kw = 490 / 24  # integrated power: 490 kWh a day
    write(store, series("m", local(D), local(D + timedelta(days=days)), lambda t: kw * 1000, step=20,
                        counter0=1000.5, counter_scale=scale))


def test_power_2_percent_off_a_counter_that_advanced_500_kwh_is_scaled_to_the_counter(store):
    _reconciliation_store(store, 500 / 490)
    result = energy_series(store, D, D + timedelta(days=1))
    [check] = result.checks
    assert (check.status, check.counter_kwh) == (SCALED, 500.0)
    assert check.integrated_kwh == pytest.approx(490.0)
    assert check.difference_pct == pytest.approx(100 * 10 / 490)
    ivs = result.intervals["m"]
    assert len(ivs) == 96 and sum(iv.kwh for iv in ivs) == pytest.approx(500.0)
    assert all(iv.kwh == pytest.approx(500 / 96) for iv in ivs)
    # over a long span the two agree: three days are the counter's 1500 kWh (its ±1 kWh telescopes)
    three = energy_intervals(store, D, D + timedelta(days=3))["m"]
    assert sum(iv.kwh for iv in three) == pytest.approx(1500.0, abs=1.0)


def test_a_counter_that_disagrees_beyond_10_percent_is_reported_not_used(store):
    _reconciliation_store(store, 1.25, days=1)
    result = energy_series(store, D, D + timedelta(days=1))
    [bad] = result.disagreements
    assert bad.status == DISAGREE and bad.factor == 1.0 and bad.difference_pct == pytest.approx(25.0, abs=0.3)
    assert sum(iv.kwh for iv in result.intervals["m"]) == pytest.approx(490.0)
    loose = ReportSettings(counter_tolerance=30)
    assert energy_series(store, D, D + timedelta(days=1), settings=loose).checks[0].status == SCALED


def _counter_step(readings: list[Reading], k: int) -> bool:
    return readings[k].values["total_real_energy"] != readings[k - 1].values["total_real_energy"]


@pytest.mark.parametrize("kind", ["reset", "wrap", "replaced"])
def test_a_counter_reset_wrap_or_new_meter_in_the_middle_changes_nothing(store, kind):
    power = lambda t: 30_000.0  # noqa: E731 - 720 kWh a day: reconciled with the counter
    plain = series("plain", local(D), local(D + timedelta(days=1)), power, step=30, counter0=1000.5)
    odd = series("odd", local(D), local(D + timedelta(days=1)), power, step=30,
                 counter0=U32 - 300.5 if kind == "wrap" else 1000.5)
    if kind == "wrap":  # the u32 counter passes 2^32 - 1 around 10:00 and starts again from 0
        for r in odd:
            r.values["total_real_energy"] %= U32
    else:  # back to 0 (reset) or to a new meter's 7 kWh, around noon between two counter steps
        k = next(i for i in range(1440, 1500) if not _counter_step(odd, i))
        drop = odd[k - 1].values["total_real_energy"] - (0.0 if kind == "reset" else 7.0)
        for r in odd[k:]:
            r.values["total_real_energy"] -= drop
    write(store, plain + odd)
    result = energy_series(store, D, D + timedelta(days=1))
    checks = {c.meter: c for c in result.checks}
    a, b = result.intervals["plain"], result.intervals["odd"]
    assert all(iv.kwh >= 0 for iv in b) and max(iv.kwh for iv in b) < 8.0  # never negative, never huge
    assert result.gaps == []
    if kind == "wrap":  # the step from 2^32 - 1 to 0 is a drop: that one kWh is not counted
        assert checks["odd"].counter_kwh == checks["plain"].counter_kwh - 1
        assert sum(iv.kwh for iv in b) == pytest.approx(sum(iv.kwh for iv in a), abs=1.0)
    else:
        assert checks["odd"].counter_kwh == checks["plain"].counter_kwh == 720.0
        assert [iv.kwh for iv in b] == pytest.approx([iv.kwh for iv in a], abs=1e-9)


def test_imported_proof_of_concept_csv_has_power_but_no_counter(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'poc.db'}", site="t", gap_seconds=310)  # the PoC wrote every 5 minutes
    store.migrate()
    lines = ["timestamp,voltage_l12,voltage_l23,voltage_l31,voltage_l1,voltage_l2,voltage_l3,current_l1,"
             "current_l2,current_l3,total_real_power,total_power_factor,frequency"]
    for i in range(13):  # 08:00 to 09:00 every 5 minutes, local time as the PoC wrote it
        lines.append(f"2026-03-02 08:{i * 5:02d}:00,400,400,400,230,230,230,9,9,9,6000,0.9,50.0"
                     if i < 12 else "2026-03-02 09:00:00,400,400,400,230,230,230,9,9,9,6000,0.9,50.0")
    (tmp_path / "rx380_2026-03-02.csv").write_text("\n".join(lines) + "\n")
    import_poc_csv(store, [tmp_path / "rx380_2026-03-02.csv"], meter="poc")
    result = energy_series(store, D, D + timedelta(days=1))
    assert sum(iv.kwh for iv in result.intervals["poc"]) == pytest.approx(6.0)
    assert [c.status for c in result.checks] == [NO_COUNTER] and result.gaps == []
    store.close()


def test_location_intervals_sum_the_meters_of_a_location(store):
    store.ensure_meter("ac1", location="aircon")
    store.ensure_meter("ac2", location="aircon")
    store.ensure_meter("off", location="office")
    write(store, series("ac1", local(D, 8), local(D, 9), lambda t: 4000.0)
          + series("ac2", local(D, 8), local(D, 9), lambda t: 8000.0)
          + series("off", local(D, 8), local(D, 9), lambda t: 2000.0))
    by_loc = location_intervals(store, D, D + timedelta(days=1))
    assert sorted(by_loc) == ["aircon", "office"]
    assert [iv.kwh for iv in by_loc["aircon"]] == pytest.approx([3.0] * 4)
    assert max_demand(by_loc["aircon"], 30).kw == pytest.approx(12.0)
    only = location_series(store, D, D + timedelta(days=1), ["office"])
    assert list(only.intervals) == ["office"] and sum(iv.kwh for iv in only.intervals["office"]) == pytest.approx(2.0)


def test_intervals_follow_a_dst_day_in_local_time(tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 'b.db'}", tz="Europe/Berlin")
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    day = date(2026, 3, 29)  # 23 hours long
    start = datetime(2026, 3, 29, tzinfo=berlin)
    write(store, series("a", start, datetime(2026, 3, 30, tzinfo=berlin), lambda t: 4000.0, step=30, counter0=None))
    ivs = energy_intervals(store, day, day + timedelta(days=1), settings=ReportSettings(timezone="Europe/Berlin"))["a"]
    assert len(ivs) == 92 and sum(iv.kwh for iv in ivs) == pytest.approx(92.0)
    assert ivs[8].start == datetime(2026, 3, 29, 3, 0, tzinfo=berlin)  # 02:00-03:00 does not exist that day
    assert math.isclose(sum(iv.covered_s for iv in ivs), 23 * 3600)
    store.close()
