"""The reports with exact answers: demand and coincident kW, ranking, after hours, base load, profile, heatmap, quality."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from analytics_synth import local, make_store, series, write

from wattlog.analytics.frame import load
from wattlog.analytics.settings import ReportSettings
from wattlog.errors import NoData, ReportError
from wattlog.reports.afterhours import afterhours, night_minimum
from wattlog.reports.demand import demand
from wattlog.reports.header import UNMETERED
from wattlog.reports.heatmap import heatmap
from wattlog.reports.profile import profile
from wattlog.reports.quality import quality
from wattlog.reports.ranking import ranking
from wattlog.reports.result import to_jsonable

D1, D2 = date(2026, 3, 2), date(2026, 3, 3)  # Monday, Tuesday
EDGE = 10 / 3600  # hours of one 10-second reading interval


def site(store, days=2, spikes=True, main_extra=5000.0, counter0=None):
    """office 10 kW and plant 40 kW all day; day 2 14:00-14:30 plant 100 kW (the 30-minute peak);
    day 1 10:15-10:30 office 90 kW (the 15-minute peak); main = office + plant + main_extra W."""
    def office(t):
        return 90_000.0 if spikes and local(D1, 10, 15) <= t <= local(D1, 10, 30) else 10_000.0

    def plant(t):
        return 100_000.0 if spikes and local(D2, 14) <= t <= local(D2, 14, 30) else 40_000.0

    store.ensure_meter("office", location="Office")
    store.ensure_meter("plant", location="Plant")
    store.ensure_meter("main", location="Incomer")
    end = local(D1 + timedelta(days=days))
    write(store, series("office", local(D1), end, office, counter0=counter0)
          + series("plant", local(D1), end, plant, counter0=counter0)
          + series("main", local(D1), end, lambda t: office(t) + plant(t) + main_extra, counter0=counter0))


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'w.db'}"
    return request.getfixturevalue("pg_fresh")


@pytest.fixture(scope="module")
def peaks(tmp_path_factory):
    store = make_store(f"sqlite:///{tmp_path_factory.mktemp('peaks') / 'w.db'}")
    site(store)
    yield store
    store.close()


@pytest.fixture
def store(tmp_path):
    s = make_store(f"sqlite:///{tmp_path / 'w.db'}")
    yield s
    s.close()


MAIN = ReportSettings(main_meter="main")


def test_maximum_demand_of_a_known_peak_half_hour_and_each_locations_coincident_kw(url):
    store = make_store(url)
    site(store)
    rep = demand(store, D1, D2 + timedelta(days=1), MAIN)
    [month] = rep.months
    assert (month.month, month.first, month.last) == ("2026-03", D1, D2 + timedelta(days=1))
    assert month.peak.kw == pytest.approx(115.0) and month.peak.complete
    assert (month.peak.start, month.peak.end) == (local(D2, 14), local(D2, 14, 30))
    shares = {s.location: (s.kw, s.share_pct) for s in month.coincident}
    assert shares == {"Plant": pytest.approx((100.0, 100 * 100 / 115)), "Office": pytest.approx((10.0, 100 * 10 / 115)),
                      UNMETERED: pytest.approx((5.0, 100 * 5 / 115))}
    assert [s.location for s in month.coincident] == ["Plant", "Office", UNMETERED]
    assert month.top[0] == month.peak and len(month.top) == 5 and month.incomplete_blocks == 0
    assert rep.source == "main meter main"
    store.close()


def test_thailand_15_minute_window_finds_the_short_peak(peaks):
    rep = demand(peaks, D1, D2 + timedelta(days=1), MAIN, window=15, top=3)
    [month] = rep.months
    assert rep.window == 15 and month.peak.kw == pytest.approx(135.0)
    assert (month.peak.start, month.peak.end) == (local(D1, 10, 15), local(D1, 10, 30))
    assert {s.location: s.kw for s in month.coincident} == pytest.approx({"Office": 90.0, "Plant": 40.0, UNMETERED: 5.0})
    assert [b.kw for b in month.top] == pytest.approx([135.0, 115.0, 115.0])


def test_without_a_main_meter_the_site_is_the_sum_of_the_meters(peaks):
    rep = demand(peaks, D1, D2 + timedelta(days=1), ReportSettings())
    # every meter is a location now, the incomer too: the sum counts the site twice, as configured
    assert rep.source == "sum of all meters" and rep.months[0].peak.kw == pytest.approx(10 + 100 + 115)
    only = demand(peaks, D1, D2 + timedelta(days=1), MAIN, location="Office")
    assert [s.location for s in only.months[0].coincident] == ["Office"]


def test_demand_counts_only_the_blocks_asked_for(peaks):
    off_peak = lambda start: start.hour < 12  # noqa: E731
    rep = demand(peaks, D1, D2 + timedelta(days=1), MAIN, counts=off_peak)
    assert rep.months[0].peak.start == local(D1, 10) and rep.months[0].peak.kw == pytest.approx(
        (10 + 90) / 2 + 40 + 5 + (90 - 10) / 2 * 10 / 1800)  # half of the office spike, and its first edge


def test_ranking_shares_and_the_unmetered_remainder(peaks):
    store_day = ranking(peaks, D1, D2 + timedelta(days=1), MAIN)
    rows = {r.location: r for r in store_day.rows}
    office = 2 * 240 + (90 - 10) * 0.25 + 2 * (90 - 10) / 2 * EDGE
    plant = 2 * 960 + (100 - 40) * 0.5 + 2 * (100 - 40) / 2 * EDGE
    assert rows["Office"].kwh == pytest.approx(office) and rows["Plant"].kwh == pytest.approx(plant)
    assert rows[UNMETERED].kwh == pytest.approx(2 * 24 * 5.0) and rows[UNMETERED].kind == "unmetered"
    total = office + plant + 240
    assert store_day.total_kwh == pytest.approx(total)
    assert [r.location for r in store_day.rows] == ["Plant", "Office", UNMETERED, "site (main meter)"]
    assert rows["Plant"].share_pct == pytest.approx(100 * plant / total)
    assert sum(r.share_pct for r in store_day.rows[:3]) == pytest.approx(100.0)
    assert not rows[UNMETERED].flag


def test_a_negative_remainder_is_flagged(store):
    site(store, days=1, spikes=False, main_extra=-20_000.0, counter0=1000.5)  # main reads less than its sub-meters
    rep = ranking(store, D1, D2, MAIN)
    rest = next(r for r in rep.rows if r.kind == "unmetered")
    assert rest.kwh == pytest.approx(-480.0) and rest.flag.startswith("negative")
    assert rest.share_pct == pytest.approx(-100 * 480 / 720)
    assert any("more than the main meter main" in n for n in rep.notes)
    # counters advanced 240, 960 and 720 kWh: the two from 500 kWh scaled by exactly 1 (issue 11: the 240 kWh
    # day is too coarse to reshape by, ±1 kWh; it is compared instead); the notes say both
    assert "2 meter-days scaled to their kWh counters (median correction +0.00 %)" in rep.header.notes
    assert any(n.startswith("kWh counters where a day's counter delta is too coarse to scale by: 240 kWh against "
                            "240.0 kWh") for n in rep.header.notes)


def _office_week(store, holiday_load: bool = True):
    """Fri 2026-03-06 to Mon 03-09: 10 kW 08:00-18:00 on weekdays (Monday a holiday, lit anyway), else 2 kW;
    the night of Saturday to Sunday dips to 1 kW from 02:00 to 03:00."""
    fri = date(2026, 3, 6)

    def office(t):
        lt = t.astimezone(local(fri).tzinfo)
        if lt.weekday() < 5 and local(lt.date(), 8) <= t <= local(lt.date(), 18):
            return 10_000.0
        if lt.date() == date(2026, 3, 8) and local(lt.date(), 2) <= t <= local(lt.date(), 3):
            return 1000.0
        return 2000.0

    store.ensure_meter("office", location="Office")
    write(store, series("office", local(fri), local(fri + timedelta(days=4)), office, step=30, counter0=None))
    return fri


def test_afterhours_with_a_holiday_and_the_base_load(store):
    fri = _office_week(store)
    mon = fri + timedelta(days=3)
    st = ReportSettings(holidays=frozenset({mon}))
    [row] = afterhours(store, fri, fri + timedelta(days=4), st).rows
    edge = 2 * (10 - 2) / 2 * 30 / 3600  # the 30-second reading intervals across 08:00 and 18:00
    dip = -(2 - 1) * 1.0 - 2 * (2 - 1) / 2 * 30 / 3600
    assert row.working_kwh == pytest.approx(100.0)
    assert row.evening_kwh == pytest.approx(28 + edge)
    assert row.days_off_kwh == pytest.approx(96 + dip)
    assert row.holiday_kwh == pytest.approx(128 + edge)
    total = 100 + 28 + edge + 96 + dip + 128 + edge
    assert row.total_kwh == pytest.approx(total)
    assert row.after_pct == pytest.approx(100 * (total - 100) / total)
    # base load: the median over 4 nights of the lowest hour 00:00-05:00 (2, 2, 1, 2 kW): one odd night does not set it
    assert (row.base_kw, row.nights) == (pytest.approx(2.0), 4)
    assert row.base_pct == pytest.approx(100 * 2.0 * 96 / total)
    frame = load(store, fri, fri + timedelta(days=4), st)
    days = frame.location_days(["office"], "Office")
    assert [night_minimum(d, st) for d in days] == pytest.approx([2.0, 2.0, 1.0, 2.0])
    without = afterhours(store, fri, fri + timedelta(days=4)).rows[0]  # no holiday: Monday is a working day
    assert without.holiday_kwh == 0 and without.working_kwh == pytest.approx(200.0)


def test_profile_working_days_against_weekends_and_holidays(store):
    fri = _office_week(store)
    st = ReportSettings(holidays=frozenset({fri + timedelta(days=3)}))
    [p] = profile(store, fri, fri + timedelta(days=4), st).profiles
    assert p.days == {"working": 1, "non-working": 3}
    work, off = p.kw["working"], p.kw["non-working"]
    edge = (10 - 2) / 2 * 30 / 3600  # kWh of one edge interval above 2 kW
    assert work[9] == pytest.approx(10.0) and work[0] == pytest.approx(2.0)
    assert work[7] == pytest.approx(2 + edge) and work[18] == pytest.approx(2 + edge)
    assert off[9] == pytest.approx((2 + 2 + 10) / 3)
    assert off[2] == pytest.approx((2 + 1 + 2) / 3)
    q = profile(store, fri, fri + timedelta(days=4), st, resolution=15).profiles[0]
    assert len(q.slots) == 96 and q.slots[33] == "08:15" and q.kw["working"][33] == pytest.approx(10.0)


def test_heatmap_by_date_and_by_weekday(store):
    fri = _office_week(store)
    rep = heatmap(store, fri, fri + timedelta(days=4))
    [m] = rep.maps
    assert m.rows == ["2026-03-06", "2026-03-07", "2026-03-08", "2026-03-09"]
    assert m.kwh[0][9] == pytest.approx(10.0) and m.kwh[1][9] == pytest.approx(2.0)
    assert m.kwh[2][2] == pytest.approx(1.0) and m.kwh[2][1] == pytest.approx(2 - 0.5 * 30 / 3600)  # the dip's edge
    assert all(all(row) for row in m.complete)
    wk = heatmap(store, fri, fri + timedelta(days=4), by="weekday").maps[0]
    assert wk.rows[0] == "mon" and wk.days == [1, 0, 0, 0, 1, 1, 1]
    assert wk.kwh[4][9] == pytest.approx(10.0) and wk.kwh[1][9] is None
    cells = rep.tables()[0]
    assert cells.columns == ["location", "date", "hour", "kwh", "complete"] and len(cells.rows) == 96


def test_a_gap_is_shown_in_the_reports_not_filled(store):
    store.ensure_meter("office", location="Office")
    lost = lambda t: local(D1, 10) <= t < local(D1, 11)  # noqa: E731
    write(store, series("office", local(D1), local(D2), lambda t: 4000.0, step=30, counter0=None, skip=lost))
    rep = ranking(store, D1, D2)
    office = rep.rows[0]
    assert office.unknown_h == pytest.approx((3600 + 30) / 3600) and office.kwh == pytest.approx(4 * (24 - 3630 / 3600))
    assert any("1.01 h without data" in n for n in rep.header.notes)
    m = heatmap(store, D1, D2).maps[0]
    assert m.complete[0][10] is False and m.kwh[0][10] == 0.0 and m.complete[0][9] is False
    assert demand(store, D1, D2).months[0].incomplete_blocks == 3  # 09:30-10:00, 10:00-10:30, 10:30-11:00


def test_quality_with_a_sagging_phase(store):
    sag = lambda t: local(D1, 10) <= t < local(D1, 12)  # noqa: E731
    store.ensure_meter("plant", location="Plant")
    store.ensure_meter("office", location="Office")
    write(store, series("plant", local(D1), local(D2), lambda t: 20_000.0, step=30, pf=0.8,
                        volts=lambda t: (230.0, 205.0 if sag(t) else 230.0, 230.0))
          + series("office", local(D1), local(D2), lambda t: 5000.0, step=30, pf=0.95,
                   volts=lambda t: (240.0, 240.0, 240.0)))
    rep = quality(store, D1, D2)
    rows = {q.location: q for q in rep.rows}
    plant = rows["Plant"]
    assert plant.phase_v == (205.0, 230.0) and plant.buckets == 96
    assert plant.voltage_out_pct == pytest.approx(100 * 8 / 96)  # 10:00-12:00: 8 quarter hours below 216.2 V
    mean = (230 + 205 + 230) / 3
    assert plant.unbalance_max == pytest.approx((mean - 205) / mean * 100, rel=1e-9)
    assert plant.unbalance_over_pct == pytest.approx(100 * 8 / 96)
    assert [(m.month, round(m.pf, 6)) for m in plant.pf_months] == [("2026-03", 0.8)]
    assert plant.pf_low_pct == 100.0
    office = rows["Office"]
    assert office.voltage_out_pct == 0 and office.unbalance_over_pct == 0 and office.pf_low_pct == 0
    assert office.pf_months[0].pf == pytest.approx(0.95) and office.freq == (50.0, 50.0) and office.freq_out == 0
    assert any("IEC" in n for n in rep.notes)
    tight = quality(store, D1, D2, ReportSettings(voltage_tolerance=(-5.0, 4.0)))  # 218.5-239.2 V: 240 V is over
    assert {q.location: q.voltage_out_pct for q in tight.rows} == pytest.approx({"Office": 100.0, "Plant": 100 * 8 / 96})


def test_frequency_excursions_are_counted_in_buckets(store):
    low = lambda t: local(D1, 15) <= t < local(D1, 15, 15)  # noqa: E731
    store.ensure_meter("m", location="Site")
    readings = series("m", local(D1), local(D2), lambda t: 1000.0, step=30)
    for r in readings:
        if low(r.timestamp):
            r.values["frequency"] = 49.4
    write(store, readings)
    [q] = quality(store, D1, D2).rows
    assert q.freq == (49.4, 50.0) and q.freq_out == 1


def test_reports_are_json_ready_and_say_which_dates_have_data(peaks):
    """The JSON the API serves carries the right values, not just something json.dumps accepts."""
    j = {fn.__name__: json.loads(json.dumps(to_jsonable(fn(peaks, D1, D2, MAIN))))
         for fn in (ranking, heatmap, profile, demand, afterhours, quality)}
    assert all(r["header"] == {"report": n, "start": "2026-03-02", "end": "2026-03-03", "timezone": "Asia/Kuala_Lumpur",
                               "main_meter": "main", "notes": []} for n, r in j.items())
    kwh = {r["location"]: r["kwh"] for r in j["ranking"]["rows"]}
    office_day1 = 240 + 80 * 0.25 + 80 * EDGE  # 10 kW all day, 90 kW 10:15-10:30 (+ one reading's edge)
    assert kwh == {"Plant": pytest.approx(960.0), "Office": pytest.approx(office_day1), UNMETERED: pytest.approx(120.0),
                   "site (main meter)": pytest.approx(960 + office_day1 + 120)}
    office_map = next(m for m in j["heatmap"]["maps"] if m["location"] == "Office")
    assert office_map["rows"] == ["2026-03-02"]
    assert office_map["kwh"][0] == pytest.approx([10.0] * 10 + [10.0 + 80 * (0.25 + EDGE)] + [10.0] * 13)
    office_profile = next(p for p in j["profile"]["profiles"] if p["location"] == "Office")
    assert office_profile["slots"][10] == "10:00" and office_profile["kw"]["working"][10] == pytest.approx(
        10.0 + 80 * (0.25 + EDGE))
    [month] = j["demand"]["months"]
    assert month["peak"]["start"] == "2026-03-02T10:00:00+08:00" and month["peak"]["end"] == "2026-03-02T10:30:00+08:00"
    # 55 kW base; the 15 minutes at +80 kW, half of each 10-second ramp inside the window (the other
    # ramp, 10:30:00-10:30:10, belongs to the next window)
    assert month["peak"]["kw"] == pytest.approx(55.0 + 80 * (0.25 + EDGE / 2) * 2) and month["peak"]["complete"] is True
    plant = next(r for r in j["afterhours"]["rows"] if r["location"] == "Plant")
    assert (plant["working_kwh"], plant["evening_kwh"], plant["base_kw"]) == pytest.approx((400.0, 560.0, 40.0))
    incomer = next(r for r in j["quality"]["rows"] if r["location"] == "Incomer")
    assert incomer["phase_v"] == [230.0, 230.0] and incomer["freq"] == [50.0, 50.0] and incomer["freq_out"] == 0
    with pytest.raises(NoData) as info:
        ranking(peaks, date(2025, 1, 1), date(2025, 2, 1))
    assert "data exists from 2026-03-02 to 2026-03-03: use --from 2026-03-02 --to 2026-03-04" in str(info.value)


def test_rollups_built_in_another_time_zone_are_refused(peaks):
    with pytest.raises(ReportError, match="built for another time zone"):
        ranking(peaks, D1, D2, ReportSettings(timezone="Asia/Bangkok"))
