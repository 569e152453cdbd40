"""Demand from the tariff in force (issue 11) and the demand bugs of issue 8: a tie, a block with a
missing quarter, a band boundary at :30. Each expected figure is worked out by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from analytics_synth import make_store, series, write
from test_tariff import MINIMAL
from test_tariff import write as write_file
from test_tariff_billing import KL, amounts, days, spike

from wattlog.analytics.series import (
    Demand,
    Interval,
    demand_blocks,
    highest,
    max_demand,
)
from wattlog.analytics.settings import ReportSettings
from wattlog.reports.demand import demand
from wattlog.tariffs.billing import price
from wattlog.tariffs.load import load_tariff, load_tariff_file

BKK = ZoneInfo("Asia/Bangkok")
AUG, SEP = date(2025, 8, 1), date(2025, 9, 1)

# -- the tie: of equal blocks the earliest, in the bill and in the report -------------------------------------


def test_of_equal_blocks_the_earliest_sets_the_maximum_in_the_bill():
    at = lambda d, h, m: datetime(2025, 8, d, h, m, tzinfo=KL)  # noqa: E731
    load = spike((at(12, 14, 0), 5.0), (at(12, 14, 15), 5.0), (at(19, 15, 0), 5.0), (at(19, 15, 15), 5.0))
    bill = price(load_tariff("my-tnb-mv-tou-2025"), days(AUG, SEP, load), AUG, SEP)
    assert (bill.max_demand.kw, bill.max_demand.start) == (20.0, at(12, 14, 0))  # not the 19th's equal block
    t = lambda h: datetime(2025, 8, 1, h, tzinfo=KL)  # noqa: E731
    # 0.3 kWh in the first block; 0.1 + 0.2 = 0.30000000000000004 in the second: equal, the first wins.
    near = [Interval(t(1), 0.3), Interval(t(1) + timedelta(minutes=15), 0.0),
            Interval(t(2), 0.1), Interval(t(2) + timedelta(minutes=15), 0.2)]
    assert max_demand(near).start == t(1)
    blocks = [Demand(1.0, t(1), t(2), 0.5, True), Demand(1.0, t(2), t(3), 0.5, True)]
    assert highest(blocks) is blocks[0] and highest(reversed(blocks)) is blocks[1]


@pytest.fixture(scope="module")
def thai_store(tmp_path_factory):
    """Mon 4 Aug - Tue 12 Aug 2025 in Bangkok: 10 kW; 40 kW Mon 4 Aug 10:00-10:15 (on-peak) and again Mon
    11 Aug 10:00-10:15 (an equal block a week later); 60 kW Mon 4 Aug 23:00-23:30 (off-peak)."""
    s = make_store(f"sqlite:///{tmp_path_factory.mktemp('thai') / 'w.db'}", tz="Asia/Bangkok")
    s.ensure_meter("main", location="factory")

    def power(t: datetime) -> float:
        lt = t.astimezone(BKK)
        if lt.weekday() == 0 and lt.hour == 10 and lt.minute < 15:
            return 40000.0
        if lt.date() == date(2025, 8, 4) and lt.hour == 23 and lt.minute < 30:
            return 60000.0
        return 10000.0

    lo, hi = datetime(2025, 8, 4, tzinfo=BKK), datetime(2025, 8, 13, tzinfo=BKK)
    write(s, series("main", lo, hi, power, step=60.0, counter0=None))
    yield s
    s.close()


def test_the_demand_report_takes_the_window_and_hours_of_the_tariff_in_force(thai_store):
    mea = load_tariff("th-mea-tou-2025")
    settings = ReportSettings(timezone="Asia/Bangkok")
    plain = demand(thai_store, date(2025, 8, 4), date(2025, 8, 13), settings)
    # Without a tariff: 30-minute blocks in every hour: 23:00-23:30 at about 60 kW.
    assert plain.window == 30 and plain.months[0].peak.start == datetime(2025, 8, 4, 23, 0, tzinfo=BKK)
    assert plain.months[0].peak.kw == pytest.approx(60.0, abs=1.0)  # the store integrates ramps by trapezoids
    rep = demand(thai_store, date(2025, 8, 4), date(2025, 8, 13), settings, tariff=mea)
    m = rep.months[0]
    # MEA: 15-minute blocks, on-peak only (Mon-Fri 09:00-22:00): 10:00-10:15 at 40 kW (the 60 kW at 23:00
    # does not count); of the two equal Mondays the first.
    assert (rep.window, m.window) == (15, 15) and m.rule == "th-mea-tou-2025: 15-minute blocks, blocks starting in on_peak"
    assert m.peak.start == datetime(2025, 8, 4, 10, 0, tzinfo=BKK) and m.peak.kw == pytest.approx(40.0, abs=1.0)
    assert any("demand rule from 2025-08: th-mea-tou-2025" in n for n in rep.tables()[0].notes)
    # The bill on the same data measures the same block.
    from wattlog.analytics.frame import load
    from wattlog.analytics.intervals import meter_intervals

    frame = load(thai_store, date(2025, 8, 4), date(2025, 8, 13), settings)
    ivs = meter_intervals(frame.meter_days["main"], datetime(2025, 8, 4, tzinfo=BKK), datetime(2025, 8, 13, tzinfo=BKK))
    bill = price(mea, ivs, date(2025, 8, 4), date(2025, 8, 13))
    assert (bill.max_demand.start, bill.max_demand.kw) == (m.peak.start, m.peak.kw)
    forced = demand(thai_store, date(2025, 8, 4), date(2025, 8, 13), settings, window=30, tariff=mea)
    assert forced.window == 30 and any("not used" in n for n in forced.notes)


# -- a block with a missing quarter is never complete ---------------------------------------------------------


def test_a_block_with_a_missing_quarter_is_incomplete_in_the_blocks_and_the_bill():
    t = datetime(2025, 8, 5, 10, 0, tzinfo=KL)
    (b,) = demand_blocks([Interval(t, 3.0)], 30)  # 10:15-10:30 missing
    assert (b.kw, b.complete) == (6.0, False)
    (b,) = demand_blocks([Interval(t, 3.0), Interval(t + timedelta(minutes=15), 3.0)], 30)
    assert (b.kw, b.complete) == (12.0, True)
    (b,) = demand_blocks([Interval(t, 3.0)], 15)
    assert b.complete  # a 15-minute block needs one quarter
    full = days(AUG, SEP, spike((t, 10.0)))
    holed = [i for i in full if i.start != t + timedelta(minutes=15)]
    bill = price(load_tariff("my-tnb-mv-tou-2025"), holed, AUG, SEP)
    assert bill.max_demand.start == t and not bill.max_demand.complete  # (10 + 0) × 2 = 20 kW, a quarter unknown
    assert any("has a gap; the true maximum may be higher" in n for n in bill.notes)


# -- a band that starts at 07:30 -------------------------------------------------------------------------------

HALF_PAST = MINIMAL.replace('default_band = "all"', 'default_band = "offpeak"\n[versions.bands]\n'
                            'peak = { weekday = ["07:30-22:00"] }').replace(
    "rate = 30", 'rates = { peak = 30, offpeak = 20 }\n\n[[versions.charges]]\nname = "demand"\nkind = "demand"\n'
                 'unit = "RM/kW"\nrate = 10\nwindow = 30\nrecord_in = ["peak"]')


def test_a_band_switching_at_07_30_prices_07_30_and_07_45_as_peak(tmp_path):
    t = load_tariff_file(write_file(tmp_path, HALF_PAST))
    mon = date(2025, 8, 4)
    assert [t.versions[0].band_at("weekday", datetime(2025, 8, 4, 7, m, tzinfo=KL)) for m in (0, 15, 30, 45)] == [
        "offpeak", "offpeak", "peak", "peak"]
    # 07:00-07:30 holds 8 kWh in each quarter (32 kW, off-peak); 07:30-08:00 4 kWh each (16 kW, peak); else 1 kWh.
    at = lambda m: datetime(2025, 8, 4, 7, m, tzinfo=KL)  # noqa: E731
    load = spike((at(0), 8.0), (at(15), 8.0), (at(30), 4.0), (at(45), 4.0))
    bill = price(t, days(mon, mon + timedelta(days=1), load), mon, mon + timedelta(days=1))
    # peak 07:30-22:00 = 58 quarters: 2 × 4 + 56 × 1 = 64 kWh; off-peak 38 quarters: 2 × 8 + 36 × 1 = 52 kWh.
    assert bill.kwh_by_band == {"peak": 64.0, "offpeak": 52.0}
    assert (bill.max_demand.start, bill.max_demand.kw) == (at(30), 16.0)  # the 32 kW block is off-peak
    assert amounts(bill) == {"energy/peak": D("19.20"),     # 64 × 30 sen
                             "energy/offpeak": D("10.40"),  # 52 × 20 sen
                             "demand": D("160.00")}         # 16 kW × RM 10


def test_mv_tou_demand_hours_is_one_line_of_data(tmp_path):
    shipped = load_tariff("my-tnb-mv-tou-2025")
    assert [c.record_in for c in shipped.versions[0].charges if c.basis == "kW"] == [(), ()]  # every hour
    text = open(shipped.path, encoding="utf-8").read()
    peak_only = text.replace('demand_hours = "all"', 'demand_hours = ["peak"]').replace(
        'tariff = "my-tnb-mv-tou-2025"', 'tariff = "mv-tou-peak-md"')
    t = load_tariff_file(write_file(tmp_path, peak_only))
    assert [c.record_in for c in t.versions[0].charges if c.basis == "kW"] == [("peak",), ("peak",)]
    # A 40 kW night block (Tue 5 Aug 02:00) and a 20 kW peak block (Tue 5 Aug 15:00): all hours bill 40 kW,
    # peak-only 20 kW: capacity + network = 40 × (30.19 + 66.87) = 3882.40 vs 20 × 97.06 = 1941.20.
    at = lambda h: datetime(2025, 8, 5, h, tzinfo=KL)  # noqa: E731
    load = spike((at(2), 10.0), (at(2) + timedelta(minutes=15), 10.0), (at(15), 5.0),
                 (at(15) + timedelta(minutes=15), 5.0))
    a, b = (amounts(price(x, days(AUG, SEP, load), AUG, SEP)) for x in (shipped, t))
    assert a["capacity"] + a["network"] == D("3882.40") and b["capacity"] + b["network"] == D("1941.20")
