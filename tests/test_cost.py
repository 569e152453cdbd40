"""The cost report: allocation per location to the sen, what-if, and a real SQLite store."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal as D

import pytest
from analytics_synth import KL, local, make_store, series, write
from test_tariff_billing import days

from wattlog.analytics.frame import load
from wattlog.analytics.intervals import meter_intervals, sum_intervals
from wattlog.analytics.series import Interval
from wattlog.analytics.settings import ReportSettings
from wattlog.errors import ReportError
from wattlog.reports.cost import allocate, cost_report, split
from wattlog.reports.header import UNMETERED
from wattlog.tariffs.billing import price
from wattlog.tariffs.load import load_tariff
from wattlog.tariffs.timeline import summed_intervals

# -- the split: whole sen, residue to the largest remainders ------------------------------------------

def test_split_gives_the_residue_to_the_largest_remainders():
    # 10 sen in thirds: 3.33 sen each, floors 3 + 3 + 3 = 9; the 1 sen left goes to the tie broken by name.
    assert split(D("0.10"), {"b": 1, "a": 1, "c": 1}) == {"a": D("0.04"), "b": D("0.03"), "c": D("0.03")}
    # 1.00 in 1:2 → 33.33 / 66.67 sen → floors 33 / 66, the sen left to the larger remainder (.67)
    assert split(D("1.00"), {"x": 1, "y": 2}) == {"x": D("0.33"), "y": D("0.67")}
    # A rebate splits the same way and still adds up.
    assert split(D("-2.41"), {"a": 96, "b": 70}) == {"a": D("-1.39"), "b": D("-1.02")}
    # Negative weights count as 0; all zero: equal shares.
    assert split(D("5.00"), {"a": 3, "b": -1}) == {"a": D("5.00"), "b": D("0.00")}
    assert split(D("0.05"), {"a": 0, "b": 0}) == {"a": D("0.03"), "b": D("0.02")}
    rng = random.Random(7)
    for _ in range(300):  # any amount, any weights: the shares add up to the amount exactly
        amount = D(rng.randint(-10**6, 10**6)) / 100
        weights = {f"l{i}": rng.choice([rng.random() * 1000, D(rng.randint(0, 10**5)) / 7, 0.0]) for i in range(7)}
        assert sum(split(amount, weights).values()) == amount


# -- allocation of one bill, worked by hand ------------------------------------------------------------

TUE = date(2025, 8, 12)


def test_allocation_per_location_by_hand():
    """Tue 12 Aug 2025 under MV ToU. A: 1 kWh every quarter (32 peak, 64 off-peak).
    B: 2 kWh a quarter 14:00-22:00 (64 peak), and 5 kWh at 15:00 and 15:15: 70 kWh peak.
    The maximum-demand block is 15:00-15:30: (2 + 10) kWh × 2 = 24 kW, A 4 kW and B 20 kW in it."""
    a = days(TUE, TUE + timedelta(days=1))
    peak = lambda t: 14 <= t.hour < 22
    b = [Interval(i.start, (5.0 if i.start.hour == 15 and i.start.minute < 30 else 2.0) if peak(i.start) else 0.0)
         for i in a]
    t = load_tariff("my-tnb-mv-tou-2025")
    bill = price(t, a + b, TUE, TUE + timedelta(days=1), pf=0.80)
    assert {c.name: c.amount for c in bill.components} == {
        "energy/peak": D("31.95"),     # 102 kWh × 31.32 sen = 3194.64 sen
        "energy/offpeak": D("17.43"),  # 64 kWh × 27.23 sen = 1742.72 sen
        "capacity": D("724.56"),       # 24 kW × 30.19 (a per-kW charge is not pro-rated)
        "network": D("1604.88"),       # 24 kW × 66.87
        "retail": D("6.45"),           # 200 × 1/31 = 6.4516
        "afa": D("-2.41"),             # 166 kWh × -1.45 sen = -240.7 sen
        "power_factor": D("178.90"),   # 7.5 % × 2385.27 = 178.895 → 178.90 (half up)
        "kwtbb": D("40.99"),           # 1.6 % × (2385.27 - 2.41 + 178.90 = 2561.76) = 40.988
    }
    assert bill.total == D("2602.75")
    shares, coincident = allocate(bill, t, {"A": a, "B": b})
    assert coincident == {"A": 4.0, "B": 20.0}
    assert shares["A"] == {
        "energy/peak": D("10.02"),     # 3195 sen × 32/102 = 1002.35 → 1002 (B: 2192.65 → 2192, +1 residue → 2193)
        "energy/offpeak": D("17.43"),  # all of it: B has no off-peak kWh
        "capacity": D("120.76"),       # 72 456 sen × 4/24 = 12 076 exactly
        "network": D("267.48"),        # 160 488 sen × 4/24 = 26 748
        "retail": D("3.73"),           # 645 sen × 96/166 = 373.01 → 373 (B: 271.99 → 271 + residue)
        "afa": D("-1.39"),             # -241 × 96/166 = -139.37 → floor -140; remainder .63 beats B's .37: -139
        "power_factor": D("31.46"),    # 17 890 × 419.42/2385.27 = 3145.73 → 3145, + the residue sen (.73 > .27)
        "kwtbb": D("7.19"),            # 4099 × 449.49/2561.76 = 719.22 → 719 (B: 3379.78 → +1)
    }
    assert shares["B"] == {"energy/peak": D("21.93"), "energy/offpeak": D("0.00"), "capacity": D("603.80"),
                           "network": D("1337.40"), "retail": D("2.72"), "afa": D("-1.02"),
                           "power_factor": D("147.44"), "kwtbb": D("33.80")}
    assert sum(shares["A"].values()) == D("456.68") and sum(shares["B"].values()) == D("2146.07")
    for c in bill.components:  # every component, and so the total, adds up exactly
        assert shares["A"][c.name] + shares["B"][c.name] == c.amount
    assert sum(shares["A"].values()) + sum(shares["B"].values()) == bill.total


# -- the report over a real SQLite store -----------------------------------------------------------------

START, END = date(2025, 8, 11), date(2025, 8, 14)  # Mon 11 to Wed 13 August 2025


def office(t: datetime) -> float:
    return 4000.0  # 1 kWh a quarter


def aircon(t: datetime) -> float:
    lt = t.astimezone(KL)
    if lt.date() == date(2025, 8, 12) and lt.hour == 15 and lt.minute < 30:
        return 20000.0
    return 8000.0 if 14 <= lt.hour < 22 else 0.0


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('cost') / 'wattlog.db'}"
    s = make_store(url)
    lo, hi = local(START), local(END)
    for meter, loc, power in (("m1", "office", office), ("m2", "aircon", aircon), ("main", "site", None)):
        s.ensure_meter(meter, location=loc)
        p = power or (lambda t: office(t) + aircon(t) + 1000.0)  # 1 kW nobody sub-meters
        write(s, series(meter, lo, hi, p, step=30.0, pf=0.9))
    yield s
    s.close()


def test_cost_report_allocates_the_site_bill_exactly(store):
    settings = ReportSettings(timezone="Asia/Kuala_Lumpur")
    rep = cost_report(store, START, END, settings, tariff=load_tariff("my-tnb-mv-tou-2025"), by="location")
    assert rep.source == "sum of all meters" and len(rep.bills) == 1 and rep.bills[0].partial
    bill = rep.bills[0]
    # Without a main meter every meter is a location; the site is their sum.
    assert {x.location for x in rep.locations} == {"office", "aircon", "site"}
    assert sum(x.total for x in rep.locations) == rep.total == bill.total
    for c in bill.components:
        assert sum(x.amounts[c.name] for x in rep.locations) == c.amount
    # The peak block: 15:00-15:30 on Tuesday; the aircon's coincident kW is 20, the office's 4.
    assert bill.max_demand.start == datetime(2025, 8, 12, 15, 0, tzinfo=KL)
    # The store integrates power by trapezoids: the 30 s from 15:29:30 ramp from 20 kW to 8 kW, so the
    # block holds 0.05 kWh less than 20 kW for 30 min would: 19.9 kW (and 24.9 kW for the site meter).
    kw = {x.location: round(x.coincident_kw["2025-08"], 2) for x in rep.locations}
    assert kw == {"office": 4.0, "aircon": 19.9, "site": 24.9}
    assert round(bill.max_demand.kw, 6) == 48.8  # the site is every meter summed, the main meter too
    # PF from the meters' kvarh: 0.9 → no surcharge.
    # kWh are reconciled with the whole-kWh counters, kvarh are not: 0.8997, shown as 0.90
    assert bill.pf == pytest.approx(0.9, abs=1e-3) and {c.name: c.amount for c in bill.components}["power_factor"] == 0
    names = [t.name for t in rep.tables()]
    assert names == ["bill", "locations", "coincident", "emissions"]


def test_main_meter_and_the_unmetered_remainder(store):
    settings = ReportSettings(timezone="Asia/Kuala_Lumpur", main_meter="main")
    rep = cost_report(store, START, END, settings, tariff=load_tariff("my-tnb-mv-tou-2025"))
    assert rep.source == "main meter main"
    locs = {x.location: x for x in rep.locations}
    assert set(locs) == {"office", "aircon", UNMETERED}
    assert sum(x.total for x in rep.locations) == rep.total
    assert locs[UNMETERED].kwh == pytest.approx(3 * 24, rel=1e-6)  # 1 kW for 72 h
    assert locs[UNMETERED].coincident_kw["2025-08"] == pytest.approx(1.0, rel=1e-6)
    by_meter = cost_report(store, START, END, settings, tariff=load_tariff("my-tnb-mv-tou-2025"), by="meter")
    assert {x.location for x in by_meter.locations} == {"m1", "m2", UNMETERED} and by_meter.total == rep.total
    one = cost_report(store, START, END, settings, location="aircon", tariff=load_tariff("my-tnb-mv-tou-2025"))
    assert [x.location for x in one.locations] == ["aircon"] and one.locations[0].total == locs["aircon"].total


def test_what_if_prices_the_same_intervals_under_a_second_tariff(store):
    settings = ReportSettings(timezone="Asia/Kuala_Lumpur", main_meter="main")
    rep = cost_report(store, START, END, settings, tariff=load_tariff("my-tnb-mv-tou-2025"), what_if=load_tariff("my-tnb-mv-general-2025"))
    w = rep.what_if
    general = w.bills[0]
    rows = {d.what: d for d in w.rows}
    assert rows["total"].base == rep.total and rows["total"].alternative == general.total == w.total
    assert rows["total"].difference == general.total - rep.total
    # Demand: the same 24.90 kW (main meter) under both. Capacity 24.90 × 29.43 = 732.807 → 732.81 vs
    # 24.90 × 30.19 = 751.731 → 751.73; network 24.90 × 59.84 = 1490.016 → 1490.02 vs 24.90 × 66.87 = 1665.063 → 1665.06
    assert (rows["capacity"].base, rows["capacity"].alternative) == (D("751.73"), D("732.81"))
    assert (rows["network"].base, rows["network"].alternative) == (D("1665.06"), D("1490.02"))
    assert rows["capacity"].difference + rows["network"].difference == D("-193.96")
    # Energy: every kWh at 29.83 sen instead of 31.32 / 27.23 — recomputed here from the bills' own kWh.
    tou = rep.bills[0].kwh_by_band
    flat = D(repr(round(general.kwh, 2))) * D("29.83") / 100
    assert rows["energy"].alternative == flat.quantize(D("0.01"))
    assert rows["energy"].base == sum((D(repr(round(tou[b], 2))) * r / 100).quantize(D("0.01"))
                                      for b, r in (("peak", D("31.32")), ("offpeak", D("27.23"))))
    assert sum(d.difference for d in w.rows if d.what != "total") == rows["total"].difference
    assert sum(x.total for x in w.locations) == w.total
    assert [t.name for t in rep.tables()][-1] == "what_if"


def test_the_report_registry_runs_it(store):
    from wattlog.reports.registry import REPORTS

    spec = REPORTS["cost"]
    assert spec.run is cost_report and set(spec.options) == {"tariff", "what_if", "by"}
    rep = spec.run(store, START, END, ReportSettings(), location=None, tariff=load_tariff("my-tnb-lv-tou-2025"))
    assert rep.bills[0].tariff == "my-tnb-lv-tou-2025" and sum(x.total for x in rep.locations) == rep.total


def test_no_tariff_and_a_tariff_not_in_force(store):
    with pytest.raises(ReportError, match="no tariff given") as e:
        cost_report(store, START, END)
    assert "--tariff" in e.value.fix and "my-tnb-lv-tou-2025" in e.value.fix and "[tariff]" in e.value.fix
    with pytest.raises(ReportError, match="by"):
        cost_report(store, START, END, tariff=load_tariff("my-tnb-mv-tou-2025"), by="floor")
    from wattlog.errors import TariffError
    with pytest.raises(TariffError, match="in force on 2025-08-11"):
        cost_report(store, START, END, tariff=load_tariff("my-tnb-c2-2014"))


def test_columns_and_the_summed_site_match_interval_by_interval(tmp_path):
    """The report sums meters as lists (a year of 32 meters as Interval objects took seconds): the site
    and every location's share must equal what the intervals give, also for a meter that starts late."""
    s = make_store(f"sqlite:///{tmp_path / 'late.db'}")
    write(s, series("m1", local(START), local(END), office, step=30.0, pf=0.9))
    write(s, series("m2", local(START + timedelta(days=1), 10, 7), local(END), aircon, step=30.0, pf=0.8))
    settings = ReportSettings(timezone="Asia/Kuala_Lumpur")
    frame = load(s, START, END, settings)
    lo, hi = local(START), local(END)
    per_meter = {m: meter_intervals(frame.meter_days[m], lo, hi) for m in ("m1", "m2")}
    site = summed_intervals(frame, ["m1", "m2"], lo, hi)
    assert site == sum_intervals(list(per_meter.values()))
    assert site[0].start == lo and len(site) == 3 * 96  # m1 covers every quarter, m2 only from day 2
    rep = cost_report(s, START, END, settings, tariff=load_tariff("my-tnb-mv-tou-2025"))
    bill = rep.bills[0]
    shares, coincident = allocate(bill, load_tariff("my-tnb-mv-tou-2025"), per_meter)
    assert {x.location: x.amounts for x in rep.locations} == shares
    assert {x.location: x.coincident_kw["2025-08"] for x in rep.locations} == coincident
    assert {x.location: x.kwh for x in rep.locations} == pytest.approx(
        {m: sum(i.kwh for i in ivs) for m, ivs in per_meter.items()})
    s.close()
