"""Counters that reconcile without distorting (issue 11): a whole-kWh counter never reshapes a small day;
a counter going backwards is a reset, flagged, and the integrated energy kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from analytics_synth import local, make_store, series, write

from wattlog.analytics.frame import COARSE, RESET, SCALED, load
from wattlog.analytics.settings import ReportSettings
from wattlog.reports.demand import demand
from wattlog.reports.ranking import ranking

D = date(2026, 3, 2)
KL = ReportSettings(timezone="Asia/Kuala_Lumpur")


def _store(tmp_path, watts, counter0, reset_at=None):
    s = make_store(f"sqlite:///{tmp_path / 'w.db'}")
    s.ensure_meter("m", location="m")
    readings = series("m", local(D), local(D + timedelta(days=1)), lambda t: watts, step=60.0, counter0=counter0)
    if reset_at is not None:  # the counter starts again from 0 (a reset, or a replaced meter)
        cut = readings[0].values["total_real_energy"]
        readings = [r if r.timestamp < reset_at else replace(r, values={**r.values, "total_real_energy":
                                                                           r.values["total_real_energy"] - cut})
                    for r in readings]
    write(s, readings)
    return s


def test_a_constant_2_1_kw_load_through_a_whole_kwh_counter_has_exactly_2_1_kw_maximum_demand(tmp_path):
    # 2.1 kW × 24 h = 50.4 kWh; the counter starts at 1000.7 (shown 1000) and ends at 1051.1 (shown 1051):
    # a delta of 51 kWh. Scaling the day to it (the old rule from 50 kWh) made every half hour 2.125 kW.
    s = _store(tmp_path, 2100.0, 1000.7)
    frame = load(s, D, D + timedelta(days=1), KL)
    [check] = frame.checks()
    assert (check.counter_kwh, check.status, check.factor) == (51.0, COARSE, 1.0)
    assert check.integrated_kwh == pytest.approx(50.4, abs=1e-9)
    rep = demand(s, D, D + timedelta(days=1), KL)
    assert rep.months[0].peak.kw == pytest.approx(2.1, abs=1e-9)
    notes = ranking(s, D, D + timedelta(days=1), KL).header.notes
    assert any("51 kWh against 50.4 kWh from power (+1.19 %)" in n for n in notes)  # both said, neither hidden
    s.close()


def test_a_counter_reset_is_flagged_and_costs_no_energy(tmp_path):
    # 25 kW × 24 h = 600 kWh, well above the 500 kWh from which a day is scaled; the counter drops to 0 at
    # noon: the increases it sums miss the minute across the drop (about 0.42 kWh, -0.07 %), within the
    # tolerance, so without the reset check the day was scaled down by it.
    s = _store(tmp_path, 25000.0, 1000.0, reset_at=local(D, 12))
    frame = load(s, D, D + timedelta(days=1), KL)
    [check] = frame.checks()
    assert check.status == RESET and check.factor == 1.0 and check.counter_kwh < 600.0
    assert frame.meter_days["m"][0].total == pytest.approx(600.0, abs=1e-9)
    rep = ranking(s, D, D + timedelta(days=1), KL)
    assert rep.rows[0].kwh == pytest.approx(600.0, abs=1e-9)
    assert any(f"meter m: its kWh counter went backwards on {D}" in n for n in rep.header.notes)
    s.close()


def test_a_large_day_is_still_scaled_to_its_counter(tmp_path):
    s = _store(tmp_path, 25000.0, 1000.0)  # 600 kWh: the counter's ±1 kWh is ±0.17 %: scaled
    [check] = load(s, D, D + timedelta(days=1), KL).checks()
    assert check.status == SCALED and abs(check.counter_kwh - 600.0) <= 1
    s.close()


@pytest.mark.parametrize("first_day", [D, D + timedelta(days=1)], ids=["both days", "second day alone"])
def test_a_counter_tick_across_midnight_is_not_a_reset(tmp_path, first_day):
    # 25 kW from 1000.2 kWh: 23:59 reads 1599 (1599.78), midnight 1600 (1600.2). The day rollup credits that
    # tick to the second day (the bucket of the later reading): its counter_kwh is 600 while its own
    # first-to-last is 1600 -> 2199 = 599, which the reset check took for a counter going backwards.
    s = make_store(f"sqlite:///{tmp_path / 'w.db'}")
    s.ensure_meter("m", location="m")
    write(s, series("m", local(D), local(D + timedelta(days=2)), lambda t: 25000.0, step=60.0, counter0=1000.2))
    second = load(s, first_day, D + timedelta(days=2), KL).meter_days["m"][-1]
    assert second.grid.day == D + timedelta(days=1) and second.check.counter_kwh == 600.0
    assert second.check.status == SCALED  # the previous day's last reading is read even outside the range
    assert second.total == pytest.approx(600.0, abs=1e-6)
    s.close()
