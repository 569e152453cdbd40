"""A site's tariff timeline and billing cycles (issue 11): every expected amount worked out by hand.

The load is 1 kWh every quarter hour (a constant 4 kW), no kvarh (power factor unknown: no surcharge).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D

import pytest
from test_tariff_billing import KL, amounts, days, spike

from wattlog.config import parse_config
from wattlog.errors import ConfigProblems
from wattlog.tariffs.billing import price_timeline
from wattlog.tariffs.load import load_tariff
from wattlog.tariffs.periods import Period, TariffTimeline

C2, MV = load_tariff("my-tnb-c2-2014"), load_tariff("my-tnb-mv-tou-2025")
# ICPT June 2025 (MV, 1H2025) 16 sen and AFA July 2025 0.00 given here, so the test does not depend on
# the shipped series.
GIVEN = {"icpt": {"2025-06": 16}, "afa": {"2025-07": 0}}


def timeline(reading_day: int = 1) -> TariffTimeline:
    return TariffTimeline((Period(date(2014, 1, 1), C2), Period(date(2025, 7, 1), MV)), reading_day)


def test_calendar_months_across_1_july_2025_each_under_the_schedule_in_force():
    bills = price_timeline(timeline(), days(date(2025, 6, 1), date(2025, 8, 1)), date(2025, 6, 1),
                           date(2025, 8, 1), adjustments=GIVEN)
    assert [(b.tariff, b.start, b.end, b.partial) for b in bills] == [
        ("my-tnb-c2-2014", date(2025, 6, 1), date(2025, 7, 1), False),
        ("my-tnb-mv-tou-2025", date(2025, 7, 1), date(2025, 8, 1), False)]
    june, july = bills
    # June under C2: peak 08:00-22:00 every day = 56 quarters × 30 days = 1680 kWh, off-peak 40 × 30 = 1200.
    assert amounts(june) == {
        "energy/peak": D("613.20"),     # 1680 × 36.50 sen
        "energy/offpeak": D("268.80"),  # 1200 × 22.40 sen
        "demand": D("180.40"),          # 4 kW × RM 45.10
        "icpt": D("460.80"),            # 2880 × 16 sen
        "minimum": D("0.00"),           # 613.20 + 268.80 + 180.40 = 1062.40 > RM 600
        "power_factor": D("0.00"),
        "kwtbb": D("24.37"),            # 1.6 % × (1062.40 + 460.80) = 24.3712
    }
    assert june.total == D("1547.57")
    # July under MV ToU: 23 weekdays × 32 peak quarters (14:00-22:00) = 736 kWh; 2976 - 736 = 2240 off-peak.
    assert amounts(july) == {
        "energy/peak": D("230.52"),     # 736 × 31.32 sen = 230.5152
        "energy/offpeak": D("609.95"),  # 2240 × 27.23 sen = 609.952
        "capacity": D("120.76"),        # 4 kW × 30.19
        "network": D("267.48"),         # 4 kW × 66.87
        "retail": D("200.00"),
        "afa": D("0.00"),
        "power_factor": D("0.00"),
        "kwtbb": D("22.86"),            # 1.6 % × 1428.71 = 22.85936
    }
    assert july.total == D("1451.57")


def test_a_cycle_from_the_15th_across_the_change_is_a_transitional_bill():
    bills = price_timeline(timeline(15), days(date(2025, 6, 15), date(2025, 7, 15)), date(2025, 6, 15),
                           date(2025, 7, 15), adjustments=GIVEN)
    old, new = bills
    assert (old.start, old.end, new.start, new.end) == (date(2025, 6, 15), date(2025, 7, 1), date(2025, 7, 1),
                                                       date(2025, 7, 15))
    # 15-30 June: 16 of the cycle's 30 days under C2: 896 kWh peak, 640 off-peak.
    assert amounts(old) == {
        "energy/peak": D("327.04"),     # 896 × 36.50 sen
        "energy/offpeak": D("143.36"),  # 640 × 22.40 sen
        "demand": D("96.21"),           # 4 × 45.10 × 16/30 = 96.2133
        "icpt": D("245.76"),            # 1536 × 16 sen
        "minimum": D("0.00"),           # RM 600 × 16/30 = 320 < 566.61
        "power_factor": D("0.00"),
        "kwtbb": D("13.00"),            # 1.6 % × (566.61 + 245.76) = 12.99792
    }
    # 1-14 July: 14 of 30 days under MV ToU; 10 weekdays × 32 = 320 kWh peak, 1344 - 320 = 1024 off-peak.
    assert amounts(new) == {
        "energy/peak": D("100.22"),     # 320 × 31.32 sen = 100.224
        "energy/offpeak": D("278.84"),  # 1024 × 27.23 sen = 278.8352
        "capacity": D("56.35"),         # 4 × 30.19 × 14/30 = 56.3547
        "network": D("124.82"),         # 4 × 66.87 × 14/30 = 124.824
        "retail": D("93.33"),           # 200 × 14/30
        "afa": D("0.00"),
        "power_factor": D("0.00"),
        "kwtbb": D("10.46"),            # 1.6 % × 653.56 = 10.45696
    }
    assert (old.total, new.total) == (D("825.37"), D("664.02"))
    assert any("per-kW charges too (transitional bill)" in n for n in new.notes)


def test_a_billing_cycle_from_the_15th_to_the_14th():
    # One cycle 15 Aug - 14 Sep 2025 under MV ToU: a whole cycle (no pro-rating) though it spans two months;
    # a 10 kWh quarter on 10 Sep 10:00 sets the cycle's maximum demand: (10 + 1) kWh in 30 min = 22 kW.
    load = spike((datetime(2025, 9, 10, 10, 0, tzinfo=KL), 10.0))
    t = TariffTimeline.single(MV, reading_day=15)
    (bill,) = price_timeline(t, days(date(2025, 8, 15), date(2025, 9, 15), load), date(2025, 8, 15),
                             date(2025, 9, 15), adjustments={"afa": {"2025-08": -1.45, "2025-09": -1.10}})
    a = amounts(bill)
    assert not bill.partial and a["retail"] == D("200.00") and a["capacity"] == D("664.18")  # 22 × 30.19
    # The AFA by the calendar month the kWh fall in: 17 days × 96 = 1632 kWh in August, 14 × 96 + 9 = 1353 in September.
    assert a["afa/2025-08"] == D("-23.66")  # 1632 × -1.45 sen = -23.664
    assert a["afa/2025-09"] == D("-14.88")  # 1353 × -1.10 sen = -14.883
    # Two cycles asked from the 1st: the first one is the part of 15 Jul - 14 Aug inside the range.
    two = price_timeline(t, days(date(2025, 8, 1), date(2025, 9, 1)), date(2025, 8, 1), date(2025, 9, 1))
    assert [(b.start, b.end, b.partial) for b in two] == [(date(2025, 8, 1), date(2025, 8, 15), True),
                                                          (date(2025, 8, 15), date(2025, 9, 1), True)]
    assert amounts(two[0])["retail"] == D("90.32")  # 200 × 14/31 (15 Jul - 14 Aug is 31 days) = 90.3226


BASE = {"site": {"name": "s"}, "meters": [{"name": "m", "url": "tcp://127.0.0.1:5020/1"}],
        "databases": [{"url": "sqlite:///x.db"}]}


def test_config_periods_and_their_errors(tmp_path):
    cfg = parse_config({**BASE, "tariff": {"reading_day": 15, "periods": [
        {"from": date(2014, 1, 1), "name": "my-tnb-c2-2014"},
        {"from": date(2025, 7, 1), "name": "my-tnb-mv-tou-2025"}]}}, str(tmp_path / "site.toml"))
    assert [(p.start, p.tariff.id) for p in cfg.timeline.periods] == [(date(2014, 1, 1), "my-tnb-c2-2014"),
                                                                     (date(2025, 7, 1), "my-tnb-mv-tou-2025")]
    assert cfg.timeline.reading_day == 15 and cfg.tariff.id == "my-tnb-mv-tou-2025"
    single = parse_config({**BASE, "tariff": {"name": "my-tnb-mv-tou-2025"}}, str(tmp_path / "site.toml"))
    assert single.timeline.reading_day == 1 and single.tariff is single.timeline.current
    with pytest.raises(ConfigProblems) as e:
        parse_config({**BASE, "tariff": {"reading_day": 31, "periods": [
            {"from": date(2025, 7, 1), "name": "my-tnb-c2-2014"},
            {"from": date(2025, 1, 1), "name": "my-tnb-mv-tou-2025"}]}}, str(tmp_path / "site.toml"))
    text = "\n".join(map(str, e.value.problems))
    assert "tariff.reading_day" in text and "1 to 28" in text
    assert "tariff.periods[0].from" in text and "my-tnb-c2-2014 is not in force on 2025-07-01" in text
    assert "tariff.periods[1].from" in text and "date order" in text


def test_report_cost_from_the_cli_across_1_july_2025(tmp_path):
    import json

    from analytics_synth import local, make_store, series, write
    from click.testing import CliRunner

    from wattlog.cli.report import report

    path = tmp_path / "w.db"
    store = make_store(f"sqlite:///{path}")
    store.ensure_meter("office", location="office")
    write(store, series("office", local(date(2025, 6, 30)), local(date(2025, 7, 2)), lambda t: 4000.0, step=60,
                        counter0=None))
    store.close()
    cfg = tmp_path / "site.toml"
    cfg.write_text(f'[site]\nname = "t"\ntimezone = "Asia/Kuala_Lumpur"\n[[meters]]\nname = "office"\n'
                   f'url = "tcp://127.0.0.1:5020/1"\n[[databases]]\nurl = "sqlite:///{path}"\n'
                   '[[tariff.periods]]\nfrom = 2014-01-01\nname = "my-tnb-c2-2014"\n'
                   '[[tariff.periods]]\nfrom = 2025-07-01\nname = "my-tnb-mv-tou-2025"\n')
    args = ["cost", "--config", str(cfg), "--from", "2025-06-01", "--to", "2025-08-01"]
    result = CliRunner().invoke(report, [*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["tariff"] == "my-tnb-c2-2014 → my-tnb-mv-tou-2025"
    june, july = data["bills"]
    energy = {b["tariff"]: {c["name"]: c["amount"] for c in b["components"] if c["kind"] == "energy"}
              for b in data["bills"]}
    # 30 June (C2): 4 kW × 14 h peak = 56 kWh × 36.50 sen = 20.44; 40 kWh × 22.40 sen = 8.96.
    # 1 July, a Tuesday (MV ToU): 32 kWh × 31.32 sen = 10.0224; 64 kWh × 27.23 sen = 17.4272.
    assert energy == {"my-tnb-c2-2014": {"energy/peak": "20.44", "energy/offpeak": "8.96"},
                      "my-tnb-mv-tou-2025": {"energy/peak": "10.02", "energy/offpeak": "17.43"}}
    assert D(data["total"]) == D(june["total"]) + D(july["total"])
    table = CliRunner().invoke(report, [*args, "--format", "csv"], env={"COLUMNS": "200"}).stdout
    last = table.strip().splitlines()[-1]
    assert last.startswith("2025-06-01..2025-07-31,\"total, all bills\"") and data["total"] in last


def test_adjust_on_the_command_line(tmp_path):
    from analytics_synth import local, make_store, series, write
    from click.testing import CliRunner

    from wattlog.cli.report import report

    path = tmp_path / "w.db"
    store = make_store(f"sqlite:///{path}")
    store.ensure_meter("office", location="office")
    write(store, series("office", local(date(2025, 7, 1)), local(date(2025, 7, 2)), lambda t: 4000.0, step=60,
                        counter0=None))
    store.close()
    args = ["cost", "--db", f"sqlite:///{path}", "--from", "2025-07-01", "--to", "2025-07-02",
            "--tariff", "my-tnb-mv-tou-2025", "--format", "csv"]
    out = CliRunner().invoke(report, [*args, "--adjust", "afa:2025-07=-2.00"]).stdout
    afa = next(line for line in out.splitlines() if "Automatic Fuel Adjustment" in line)
    assert afa.split(",")[2:5] == ["96.00", "kWh", "-2.00"] and afa.split(",")[6] == "-1.92"  # 96 kWh × -2 sen
    bad = CliRunner().invoke(report, [*args, "--adjust", "afa=-2"])
    assert bad.exit_code == 2 and "invalid adjustment 'afa=-2'" in bad.stderr and "NAME:YYYY-MM=RATE" in bad.stderr
