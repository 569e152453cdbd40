"""Monthly adjustments as data of their own (issue 11): shipped files, a site's folder, the config, --adjust."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from test_tariff_billing import amounts, days
from test_tariff_periods import BASE

from wattlog.config import parse_config
from wattlog.errors import ConfigProblems, TariffError
from wattlog.tariffs.adjust import load_series, parse_specs, with_given
from wattlog.tariffs.billing import price
from wattlog.tariffs.load import load_tariff

OCT, NOV = date(2025, 10, 1), date(2025, 11, 1)


def test_the_shipped_afa_beyond_3_sen_is_priced_and_flagged():
    bill = price(load_tariff("my-tnb-mv-general-2025"), days(OCT, NOV), OCT, NOV)
    assert amounts(bill)["afa"] == D("-193.44")  # 2976 kWh × -6.50 sen = -19 344 sen
    assert any("beyond the usual ±3.0" in n for n in bill.notes)


def test_a_sites_folder_adds_a_month_without_touching_the_tariff(tmp_path):
    folder = tmp_path / "tariffs"
    (folder / "adjustments").mkdir(parents=True)
    (folder / "adjustments" / "afa-2026.toml").write_text(
        'adjustment = "afa"\nunit = "sen/kWh"\ntariffs = ["my-tnb-mv-general-2025"]\n'
        '[[values]]\nmonth = "2026-02"\nrate = -3.25\nsource = "our February bill"\n')
    t = load_tariff("my-tnb-mv-general-2025", [folder])
    feb, mar = date(2026, 2, 1), date(2026, 3, 1)
    bill = price(t, days(feb, mar), feb, mar)
    assert amounts(bill)["afa"] == D("-87.36")  # 2688 kWh × -3.25 sen = -8736 sen
    assert any("2026-02: -3.25 sen/kWh, our February bill (unverified)" in n for n in bill.notes)
    assert load_tariff("my-tnb-mv-general-2025").versions[0].adjustments[0].series.get("2026-02") is None


@pytest.mark.parametrize("text, key, words", [
    ('adjustment = "afa"\nunit = "sen/kWh"\ntariffs = ["x"]\n[[values]]\nmonth = "2026-02"\nrate = 1\n',
     "values[0].source", "every value needs its source"),
    ('adjustment = "afa"\nunit = "sen/kWh"\ntariffs = ["x"]\n[[values]]\nmonth = "Feb"\nrate = 1\nsource = "s"\n',
     "values[0].month", "not a month"),
    ('adjustment = "afa"\nunit = "sen/kWh"\ntariffs = ["x"]\ncap = 3\n', "cap", "unknown key"),
])
def test_a_bad_adjustment_file_names_the_file_the_key_and_the_fix(tmp_path, text, key, words):
    (tmp_path / "adjustments").mkdir()
    (tmp_path / "adjustments" / "bad.toml").write_text(text)
    with pytest.raises(TariffError) as e:
        load_series([tmp_path])
    assert e.value.key == key and words in e.value.problem and e.value.file.endswith("bad.toml") and e.value.fix


def test_given_values_from_the_command_line_and_the_config():
    assert parse_specs(["afa:2025-10=-6.50", "icpt:2025-03=16"]) == {"afa": {"2025-10": D("-6.50")},
                                                                      "icpt": {"2025-03": D("16")}}
    for bad in ("afa=2025-10:-6.5", "afa:2025-13=1", "afa:2025-10=lots"):
        with pytest.raises(TariffError, match="invalid adjustment"):
            parse_specs([bad])
    (t,) = with_given([load_tariff("my-tnb-mv-tou-2025")], {"afa": {"2025-10": D("-2")}}, "--adjust")
    bill = price(t, days(OCT, NOV), OCT, NOV)
    assert amounts(bill)["afa"] == D("-59.52")  # 2976 × -2 sen: the given value over the shipped -6.50
    with pytest.raises(TariffError, match="no adjustment 'ft'"):
        with_given([t], {"ft": {"2025-10": 1}}, "--adjust")
    cfg = parse_config({**BASE, "tariff": {"name": "my-tnb-c2-2014", "adjust": {"icpt": {"2022-12": 12.5}}}}, "s.toml")
    assert cfg.tariff.versions[0].adjustments[0].series["2022-12"] == D("12.5")
    assert cfg.tariff.versions[0].adjustments[0].sources["2022-12"].source == "tariff.adjust"
    with pytest.raises(ConfigProblems) as e:
        parse_config({**BASE, "tariff": {"name": "my-tnb-c2-2014", "adjust": {"afa": {"2025-10": 1}}}}, "s.toml")
    assert "tariff.adjust" in str(e.value.problems[0]) and "no adjustment 'afa'" in str(e.value.problems[0])
