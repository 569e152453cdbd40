"""The pricing engine, to the sen: every expected amount is worked out by hand in the comments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from test_tariff import MINIMAL, TWO_VERSIONS, write

from wattlog.analytics.series import Interval
from wattlog.errors import TariffError
from wattlog.tariffs.billing import Bill, price, price_months
from wattlog.tariffs.load import load_tariff, load_tariff_file

KL = ZoneInfo("Asia/Kuala_Lumpur")
BKK = ZoneInfo("Asia/Bangkok")


def days(first: date, end: date, kwh: Callable[[datetime], float] = lambda t: 1.0, kvar_ratio: float = 0.0,
         tz: ZoneInfo = KL) -> list[Interval]:
    """Every quarter hour of [first, end) local, `kwh(t)` each, kvarh = kvar_ratio × kWh."""
    t, stop, out = datetime.combine(first, datetime.min.time(), tz), datetime.combine(end, datetime.min.time(), tz), []
    while t < stop:
        out.append(Interval(t, kwh(t), kvarh=kwh(t) * kvar_ratio))
        t += timedelta(minutes=15)
    return out


def amounts(bill: Bill) -> dict[str, D]:
    return {c.name: c.amount for c in bill.components}


def spike(*points: tuple[datetime, float], base: float = 1.0) -> Callable[[datetime], float]:
    table = dict(points)
    return lambda t: table.get(t, base)


AUG, SEP = date(2025, 8, 1), date(2025, 9, 1)
# August 2025: Fri 1 Aug; 21 weekdays (1, 4-8, 11-15, 18-22, 25-29); 31 days = 2976 quarters.
# A 20 kW half hour on Tue 12 Aug 14:00-14:30 (two quarters of 5 kWh instead of 1).
AUG_LOAD = spike((datetime(2025, 8, 12, 14, 0, tzinfo=KL), 5.0), (datetime(2025, 8, 12, 14, 15, tzinfo=KL), 5.0))


def test_mv_tou_month_to_the_sen():
    # kvarh = 0.75 × kWh: PF = 1 / hypot(1, 0.75) = 0.80 exactly.
    bill = price(load_tariff("my-tnb-mv-tou-2025"), days(AUG, SEP, AUG_LOAD, 0.75), AUG, SEP)
    assert bill.complete and not bill.partial and bill.version == date(2025, 7, 1)
    # peak: 21 weekdays × 32 quarters (14:00-22:00) = 672 kWh, + 2 × 4 kWh of the spike = 680 kWh
    # off-peak: 2976 - 672 = 2304 kWh
    assert bill.kwh_by_band == {"peak": 680.0, "offpeak": 2304.0}
    assert (bill.max_demand.kw, bill.max_demand.start) == (20.0, datetime(2025, 8, 12, 14, 0, tzinfo=KL))
    assert amounts(bill) == {
        "energy/peak": D("212.98"),     # 680 kWh × 31.32 sen = 21 297.60 sen = RM 212.976 → 212.98
        "energy/offpeak": D("627.38"),  # 2304 kWh × 27.23 sen = 62 737.92 sen = RM 627.3792 → 627.38
        "capacity": D("603.80"),        # 20 kW (10 kWh in 30 min × 2) × RM 30.19
        "network": D("1337.40"),        # 20 kW × RM 66.87
        "retail": D("200.00"),          # RM 200 a month, whole month
        "afa": D("-43.27"),             # Aug 2025: 2984 kWh × -1.45 sen = -4326.80 sen → -43.268 → -43.27
        "power_factor": D("223.62"),    # PF 0.80: 5 steps × 1.5 % = 7.5 % of (212.98 + 627.38 + 603.80
                                        #   + 1337.40 + 200.00 = 2981.56) = 223.617 → 223.62
        "kwtbb": D("50.59"),            # 1.6 % of (2981.56 - 43.27 + 223.62 = 3161.91) = 50.59056 → 50.59
    }
    assert bill.total == D("3212.50")  # 2981.56 - 43.27 + 223.62 + 50.59, the sum of the rounded components
    c = {x.name: x for x in bill.components}
    peak, pf = c["energy/peak"], c["power_factor"]
    assert (peak.quantity, peak.rate, peak.rate_unit) == (D("680.00"), D("31.32"), "sen/kWh")
    assert (pf.quantity, pf.rate, pf.note) == (D("2981.56"), D("7.5"), "power factor 0.80")
    assert any("not verified" in n for n in bill.notes) and any("2025-08-31" in n for n in bill.notes)


def test_power_factor_surcharge_at_0_70_and_at_the_threshold():
    t, ivs = load_tariff("my-tnb-mv-tou-2025"), days(AUG, SEP, AUG_LOAD)
    bill = price(t, ivs, AUG, SEP, pf=0.70)
    # 0.85 → 0.75: 10 steps × 1.5 % = 15 %; 0.75 → 0.70: 5 steps × 3 % = 15 %; 30 % in all
    # 30 % × 2981.56 = 894.468 → 894.47; levy 1.6 % × (2981.56 - 43.27 + 894.47 = 3832.76) = 61.32416 → 61.32
    a = amounts(bill)
    assert (a["power_factor"], a["kwtbb"], bill.total) == (D("894.47"), D("61.32"), D("3894.08"))
    assert price(t, ivs, AUG, SEP, pf=0.849).components[-2].amount == D("0.00")  # shown as 0.85: no surcharge
    assert price(t, ivs, AUG, SEP, pf=0.844).components[-2].rate == D("1.5")  # 0.84: one step
    unknown = price(t, ivs, AUG, SEP)  # no kvarh, no kVAh: unknown, never assumed
    assert unknown.pf is None and amounts(unknown)["power_factor"] == D("0.00")
    assert "power factor unknown" in unknown.components[-2].note


def test_public_holidays_are_off_peak():
    # September 2025: 22 weekdays, of which Fri 5 Sep (Maulidur Rasul) and Tue 16 Sep (Malaysia Day)
    # are holidays: 20 × 32 = 640 peak quarters; 30 × 96 - 640 = 2240 off-peak.
    bill = price(load_tariff("my-tnb-mv-tou-2025"), days(SEP, date(2025, 10, 1)), SEP, date(2025, 10, 1))
    assert bill.kwh_by_band == {"peak": 640.0, "offpeak": 2240.0}
    assert "unverified holidays in the period: 2025-09-05, 2025-09-16" in bill.notes


def test_tiers_first_200_kwh():
    mar, apr = date(2025, 3, 1), date(2025, 4, 1)
    first = datetime(2025, 3, 1, tzinfo=KL)
    ivs = days(mar, apr, lambda t: 1.0 if t < first + timedelta(minutes=15 * 350) else 0.0)  # 350 kWh
    bill = price(load_tariff("my-tnb-b-2014"), ivs, mar, apr)
    assert amounts(bill) == {
        "energy/tier 1": D("87.00"),  # 200 kWh × 43.50 sen = 8700 sen
        "energy/tier 2": D("76.35"),  # 150 kWh × 50.90 sen = 7635 sen
        "icpt": D("0.00"),            # no ICPT month known for B: 0, with a note
        "minimum": D("0.00"),         # 163.35 ≥ 7.20
        "power_factor": D("0.00"),    # unknown: no kvarh
        "kwtbb": D("2.61"),           # 1.6 % × 163.35 = 2.6136 → 2.61
    }
    assert bill.total == D("165.96")
    assert any("ICPT fuel surcharge for 2025-03 is not known" in n for n in bill.notes)


def test_minimum_monthly_charge_tops_up():
    mar, apr = date(2025, 3, 1), date(2025, 4, 1)
    first = datetime(2025, 3, 1, tzinfo=KL)
    bill = price(load_tariff("my-tnb-b-2014"), days(mar, apr, lambda t: 10.0 if t == first else 0.0), mar, apr)
    # 10 kWh × 43.50 sen = 4.35; minimum RM 7.20 - 4.35 = 2.85; levy 1.6 % × 4.35 = 0.0696 → 0.07
    a = amounts(bill)
    assert (a["energy/tier 1"], a["minimum"], a["kwtbb"]) == (D("4.35"), D("2.85"), D("0.07"))
    assert bill.total == D("7.27")


def test_c2_demand_counts_only_08_to_22():
    jun, jul = date(2025, 6, 1), date(2025, 7, 1)
    at = lambda d, h, m: datetime(2025, 6, d, h, m, tzinfo=KL)  # noqa: E731
    load = spike((at(1, 23, 0), 100.0), (at(1, 23, 15), 100.0),  # 400 kW off-peak (Sunday 23:00)
                 (at(10, 10, 0), 50.0), (at(10, 10, 15), 50.0),  # 200 kW peak
                 (at(10, 21, 45), 60.0), base=0.0)  # 120 kW in the block from 21:30 (peak)
    bill = price(load_tariff("my-tnb-c2-2014"), days(jun, jul, load), jun, jul)
    assert (bill.max_demand.kw, bill.max_demand.start) == (200.0, datetime(2025, 6, 10, 10, 0, tzinfo=KL))
    assert amounts(bill) == {
        "energy/peak": D("58.40"),     # 160 kWh × 36.50 sen
        "energy/offpeak": D("44.80"),  # 200 kWh × 22.40 sen
        "demand": D("9020.00"),        # 200 kW × RM 45.10 (the 400 kW at 23:00 does not count)
        "icpt": D("57.60"),            # 1H2025 MV ICPT 16 sen (data/adjustments) × 360 kWh; was 0 before it shipped
        "minimum": D("0.00"),          # 9123.20 ≥ 600
        "power_factor": D("0.00"),
        "kwtbb": D("146.89"),          # 1.6 % × (9123.20 + 57.60) = 146.8928
    }
    assert bill.total == D("9327.69")


def test_thailand_15_minute_on_peak_demand_minimum_charge_kvar_ft_and_vat():
    aug, sep = AUG, SEP
    wed, sat = datetime(2025, 8, 6, 10, 0, tzinfo=BKK), datetime(2025, 8, 9, 10, 0, tzinfo=BKK)
    kwh = {wed: 30.0, wed + timedelta(minutes=15): 10.0, sat: 50.0}
    ivs = [Interval(i.start, kwh.get(i.start, 0.0), kvarh=40.0 if i.start == wed else 0.0)
           for i in days(aug, sep, tz=BKK)]
    t = load_tariff("th-mea-tou-2025")
    history = {"2025-07": 300.0, "2024-08": 200.0, "2024-07": 1000.0}  # 2024-07 is 13 months back: ignored
    bill = price(t, ivs, aug, sep, demand_history=history, adjustments={"ft": {"2025-08": "19.72"}})
    # 15-minute window, on-peak only: Wed 10:00 30 kWh × 4 = 120 kW (a 30-minute window would give 80);
    # Saturday's 200 kW is off-peak. Billed 120 kW: the 70 % rule is a minimum on the bill, not on the kW
    # (until issue 11 it was a ratchet billing 210 kW: that figure was the bug).
    assert bill.demands["demand"].kw == 120.0 and bill.billed_kw["demand"] == 120.0
    assert amounts(bill) == {
        "energy/on_peak": D("167.36"),  # 40 kWh × 4.1839 = 167.356
        "energy/offpeak": D("130.19"),  # 50 kWh × 2.6037 = 130.185 → 130.19 (half up)
        "demand": D("15951.60"),        # 120 kW × 132.93
        "service": D("312.24"),
        "ft": D("17.75"),               # 90 kWh × 19.72 satang = 1774.8 satang → 17.748 → 17.75
        "minimum": D("11353.91"),       # 70 % × 300 kW × 132.93 = 27 915.30 - (167.36 + 130.19 + 15 951.60
                                        #   + 312.24 = 16 561.39)
        "power_factor": D("2018.52"),   # 160 kvar - 61.97 % × 200 kW = 36.06 → 36 whole kvar × 56.07
        "vat": D("2096.61"),            # 7 % × (27 915.30 + 17.75 + 2018.52 = 29 951.57) = 2096.6099
    }
    assert bill.total == D("32048.18")  # 29 951.57 + 2096.61
    assert "70 % of the highest demand charge of the past 12 months (300 kW" in bill.components[5].note


def test_mea_a_50_kw_month_after_a_100_kw_peak_and_a_weekday_holiday():
    # August 2025, Bangkok: 1 kWh every quarter; Wed 6 Aug 10:00 12.5 kWh (50 kW); Tue 12 Aug 10:00 25 kWh
    # (100 kW) on the Queen Mother's Birthday, a holiday: off-peak, so it does not count. July's peak 100 kW.
    at = lambda d: datetime(2025, 8, d, 10, 0, tzinfo=BKK)  # noqa: E731
    ivs = days(AUG, SEP, spike((at(6), 12.5), (at(12), 25.0)), tz=BKK)
    bill = price(load_tariff("th-mea-tou-2025"), ivs, AUG, SEP, demand_history={"2025-07": 100.0})
    # On-peak: 20 weekdays (21 less the holiday) × 52 quarters (09:00-22:00) = 1040: 1039 + 12.5 = 1051.5 kWh;
    # off-peak 2976 - 1040 = 1936 quarters: 1935 + 25 = 1960 kWh.
    assert bill.kwh_by_band == {"on_peak": 1051.5, "offpeak": 1960.0}
    assert (bill.demands["demand"].kw, bill.billed_kw["demand"]) == (50.0, 50.0)
    assert amounts(bill) == {
        "energy/on_peak": D("4399.37"),  # 1051.5 × 4.1839 = 4399.37085
        "energy/offpeak": D("5103.25"),  # 1960 × 2.6037 = 5103.252
        "demand": D("6646.50"),          # 50 kW × 132.93 (a ratchet billed 70 kW: THB 2,658.60 more)
        "service": D("312.24"),
        "ft": D("593.87"),               # shipped Aug 2025 Ft 19.72 satang × 3011.5 kWh = 593.8678
        "minimum": D("0.00"),            # 70 % × 100 × 132.93 = 9305.10 < 16 461.36
        "power_factor": D("0.00"),
        "vat": D("1193.87"),             # 7 % × 17 055.23 = 1193.8661
    }
    assert bill.total == D("18249.10")


@pytest.mark.parametrize("quarter_kwh, billed, amount", [
    (12.6, D("50"), D("6646.50")),     # 50.4 kW: the fraction under 0.5 discarded
    (12.625, D("51"), D("6779.43")),   # 50.5 kW: counted as a whole kW
])
def test_mea_bills_whole_kw(quarter_kwh, billed, amount):
    ivs = days(AUG, SEP, spike((datetime(2025, 8, 6, 10, 0, tzinfo=BKK), quarter_kwh)), tz=BKK)
    bill = price(load_tariff("th-mea-tou-2025"), ivs, AUG, SEP)
    demand = next(c for c in bill.components if c.name == "demand")
    assert (demand.quantity, demand.amount) == (billed, amount)


def test_levy_then_tax_in_the_documented_order(tmp_path):
    text = MINIMAL.replace("rate = 30", "rate = 50") + """
[[versions.levies]]
name = "kwtbb"
percent = 1.6
applies_to = ["energy"]
[[versions.taxes]]
name = "sst"
percent = 8
applies_to = ["energy", "levy"]
"""
    t = load_tariff_file(write(tmp_path, text))
    ivs = days(AUG, SEP, spike((datetime(2025, 8, 1, tzinfo=KL), 1234.56), base=0.0))
    bill = price(t, ivs, AUG, SEP)
    # energy 1234.56 kWh × 50 sen = 617.28; levy 1.6 % × 617.28 = 9.87648 → 9.88;
    # tax 8 % × (617.28 + 9.88 = 627.16) = 50.1728 → 50.17
    assert [(c.name, c.amount) for c in bill.components] == [
        ("energy", D("617.28")), ("kwtbb", D("9.88")), ("sst", D("50.17"))]
    assert bill.total == D("677.33")
    assert bill.components[2].base == ("energy", "kwtbb")


def test_the_afa_series_picks_the_month():
    t = load_tariff("my-tnb-mv-tou-2025")
    ivs = days(date(2025, 7, 1), date(2025, 12, 1))
    bills = price_months(t, ivs, date(2025, 7, 1), date(2025, 12, 1), adjustments={"afa": {"2025-09": "-0.50"}})
    afa = [next(c for c in b.components if c.name == "afa") for b in bills]
    assert [(b.month, a.rate, a.amount) for b, a in zip(bills, afa)] == [
        ("2025-07", D(0), D("0.00")),          # shipped 0.00 (data/adjustments/my-tnb-afa.toml)
        ("2025-08", D("-1.45"), D("-43.15")),  # 2976 kWh × -1.45 sen = -4315.20 sen
        ("2025-09", D("-0.50"), D("-14.40")),  # given: 2880 kWh × -0.50 sen
        ("2025-10", D("-6.50"), D("-193.44")),  # beyond ±3 sen, priced: 2976 kWh × -6.50 sen = -19 344 sen
        ("2025-11", D("-8.91"), D("-256.61")),  # 2880 kWh × -8.91 sen = -25 660.8 sen
    ]
    assert any(n.startswith("Automatic Fuel Adjustment 2025-08: -1.45 sen/kWh, paultan.org") for n in bills[1].notes)
    assert any("2025-09: -0.50 sen/kWh, given" in n for n in bills[2].notes)
    assert any("2025-10: -6.5 sen/kWh is beyond the usual ±3.0" in n for n in bills[3].notes)
    assert not any("beyond the usual" in n for n in bills[1].notes)
    feb = price(t, days(date(2026, 2, 1), date(2026, 3, 1)), date(2026, 2, 1), date(2026, 3, 1))
    assert any("2026-02 is not known: priced at 0 (give it with --adjust afa:2026-02=VALUE" in n for n in feb.notes)
    with pytest.raises(TariffError) as e:
        price(t, ivs, AUG, SEP, adjustments={"icpt": {"2025-08": 1}})
    assert "no adjustment 'icpt'" in str(e.value) and "afa" in e.value.fix


def test_effective_dates_price_30_june_and_1_july_by_their_versions(tmp_path):
    t = load_tariff_file(write(tmp_path, TWO_VERSIONS))
    ivs = days(date(2025, 6, 30), date(2025, 7, 2))  # 96 kWh a day
    june = price(t, ivs, date(2025, 6, 30), date(2025, 7, 1))
    july = price(t, ivs, date(2025, 7, 1), date(2025, 7, 2))
    assert (june.version, june.total) == (date(2014, 1, 1), D("35.04"))  # 96 kWh × 36.50 sen = 3504 sen
    assert (july.version, july.total) == (date(2025, 7, 1), D("28.64"))  # 96 kWh × 29.83 sen = 2863.68 sen
    assert [b.total for b in price_months(t, ivs, date(2025, 6, 30), date(2025, 7, 2))] == [D("35.04"), D("28.64")]
    with pytest.raises(ValueError, match="one calendar month"):
        price(t, ivs, date(2025, 6, 30), date(2025, 7, 2))
    with pytest.raises(TariffError, match="in force on 2025-06-30"):
        price(load_tariff("my-tnb-mv-tou-2025"), ivs, date(2025, 6, 30), date(2025, 7, 1))


def test_gaps_and_missing_intervals_make_the_bill_incomplete_never_filled():
    full = days(AUG, SEP)
    holed = [i for i in full if i.start.day != 5 or i.start.hour != 3]  # 4 quarters missing
    holed[0] = Interval(holed[0].start, 0.5, gap_s=450.0)  # half of the first quarter unknown
    bill = price(load_tariff("my-tnb-mv-general-2025"), holed, AUG, SEP)
    assert (bill.complete, bill.missing_intervals, bill.gap_intervals) == (False, 4, 1)
    assert bill.kwh == 2976 - 4 - 0.5
    assert bill.notes[0] == "incomplete: 4 of 2976 intervals missing, 1 with gaps; not filled in"


def test_a_part_month_pro_rates_monthly_charges_and_meters_add_up():
    t = load_tariff("my-tnb-mv-general-2025")
    end = date(2025, 8, 11)
    bill = price(t, days(AUG, end), AUG, end)
    assert bill.partial and amounts(bill)["retail"] == D("64.52")  # RM 200 × 10 / 31 = 64.516
    two = price(t, days(AUG, end) + days(AUG, end), AUG, end)  # two meters: summed per quarter
    assert (bill.max_demand.kw, two.kwh, two.max_demand.kw, two.complete) == (4.0, 2 * bill.kwh, 8.0, True)
    utc = [Interval(i.start.astimezone(UTC), i.kwh) for i in days(AUG, end)]
    assert price(t, utc, AUG, end).total == bill.total  # any time zone in, the tariff's local time used


def test_the_unverified_parts_are_on_every_bill():
    bill = price(load_tariff("my-tnb-mv-tou-2025"), days(AUG, SEP), AUG, SEP)
    soft = next(n for n in bill.notes if n.startswith("not from the official schedule"))
    assert "energy (code)" in soft and "power_factor (unverified)" in soft and "kwtbb (secondary)" in soft
    mar, apr = date(2024, 3, 1), date(2024, 4, 1)
    c1 = price(load_tariff("my-tnb-c1-2014"), days(mar, apr), mar, apr)
    assert amounts(c1)["icpt"] == D("505.92")  # 1H2024 ICPT (official): 2976 kWh × 17 sen = 50 592 sen
