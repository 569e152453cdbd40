"""Tariff files: the shipped ones load, bands and day types, effective dates, validation errors."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from wattlog.errors import TariffError
from wattlog.tariffs.load import (
    builtin_dir,
    list_tariffs,
    load_tariff,
    load_tariff_file,
)

KL = ZoneInfo("Asia/Kuala_Lumpur")

SHIPPED = ["my-tnb-b-2014", "my-tnb-c1-2014", "my-tnb-c2-2014", "my-tnb-d-2014", "my-tnb-e1-2014", "my-tnb-e2-2014",
           "my-tnb-lv-general-2025", "my-tnb-lv-tou-2025", "my-tnb-mv-general-2025", "my-tnb-mv-tou-2025",
           "th-mea-tou-2025"]

MINIMAL = """\
tariff = "test-flat"
name = "a test tariff"
currency = "MYR"
major_unit = "RM"
minor_unit = "sen"
minor_per_major = 100
timezone = "Asia/Kuala_Lumpur"
confidence = "official"
verified = true

[[versions]]
effective_from = 2025-01-01
default_band = "all"

[versions.rounding]
mode = "half_up"
money = "0.01"

[[versions.charges]]
name = "energy"
kind = "energy"
unit = "sen/kWh"
rate = 30
"""


def write(tmp_path: Path, text: str, name: str = "t.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def at(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=KL)


# -- the shipped files -----------------------------------------------------------------------------

def test_every_shipped_tariff_loads_and_says_where_its_numbers_come_from():
    tariffs = {t.id: t for t in list_tariffs()}
    assert sorted(tariffs) == SHIPPED
    for t in tariffs.values():
        assert t.meta.source and "DOMAIN.md" in t.meta.source
        assert t.verified is False  # none is checked against the official schedule end to end
        assert Path(t.path).stem == t.id
        for v in t.versions:
            assert v.rounding.money == Decimal("0.01")
    # The 2025 rates are "code + secondary"; the 2014 rates are official; Thailand's are placeholders.
    assert tariffs["my-tnb-mv-tou-2025"].versions[0].charges[0].meta.confidence == "code"
    assert tariffs["my-tnb-c2-2014"].versions[0].charges[0].meta.confidence == "official"
    th = tariffs["th-mea-tou-2025"].versions[0]  # DOMAIN.md's official 12-24 kV ToU rates (no longer placeholders)
    assert all(not c.meta.placeholder and c.meta.confidence == "official" for c in th.charges)
    assert th.minimum.percent == 70 and not any(c.ratchet_percent for c in th.charges)
    assert tariffs["th-mea-tou-2025"].holidays.dates[date(2025, 8, 12)].startswith("Queen Mother")
    assert date(2025, 5, 9) not in tariffs["th-mea-tou-2025"].holidays.dates  # Royal Ploughing Day: excluded


def test_shipped_rates_match_domain_md():
    mv = load_tariff("my-tnb-mv-tou-2025").versions[0]
    c = {x.name: x for x in mv.charges}
    assert c["energy"].rates == {"peak": Decimal("31.32"), "offpeak": Decimal("27.23")}
    assert (c["capacity"].rate, c["network"].rate, c["retail"].rate) == (Decimal("30.19"), Decimal("66.87"), 200)
    assert c["capacity"].unit == "RM/kW" and c["capacity"].factor == 1 and c["energy"].factor == Decimal("0.01")
    afa = mv.adjustments[0]  # values from data/adjustments/my-tnb-afa.toml, as DOMAIN.md lists them
    assert {m: afa.series[m] for m in ("2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12", "2026-01")} \
        == {m: Decimal(x) for m, x in (("2025-07", "0"), ("2025-08", "-1.45"), ("2025-09", "-1.10"), ("2025-10", "-6.50"),
                                       ("2025-11", "-8.91"), ("2025-12", "-6.42"), ("2026-01", "-4.99"))}
    assert afa.usual == 3 and all(afa.sources[m].source for m in afa.series)
    icpt = {t: load_tariff(t).versions[0].adjustments[0].series for t in ("my-tnb-c2-2014", "my-tnb-d-2014")}
    assert [icpt["my-tnb-c2-2014"][m] for m in ("2023-03", "2023-09", "2024-03", "2024-09", "2025-03")] == [
        20, 17, 17, 16, 16]
    assert [icpt["my-tnb-d-2014"].get(m) for m in ("2023-03", "2023-09", "2024-03", "2024-09")] == [
        None, Decimal("3.7"), Decimal("3.7"), Decimal("2.7")]
    lv = {x.name: x for x in load_tariff("my-tnb-lv-general-2025").versions[0].charges}
    assert (lv["energy"].rate, lv["capacity"].rate) == (Decimal("27.03"), Decimal("8.83"))
    assert lv["capacity"].unit == "sen/kWh"
    b = load_tariff("my-tnb-b-2014").versions[0]
    assert [(t.up_to, t.rate) for t in b.charges[0].tiers] == [(200.0, Decimal("43.50")), (None, Decimal("50.90"))]
    assert b.minimum.amount == Decimal("7.20")
    c2 = {x.name: x for x in load_tariff("my-tnb-c2-2014").versions[0].charges}
    assert c2["demand"].record_in == ("peak",) and c2["demand"].rate == Decimal("45.10")


def test_malaysian_holidays_are_fifteen_a_year_and_all_unverified():
    cal = load_tariff("my-tnb-mv-tou-2025").holidays
    for year in (2025, 2026):
        assert sum(d.year == year for d in cal.dates) == 15
    assert cal.unverified == frozenset(cal.dates)
    assert cal.meta.confidence == "unverified"
    assert cal.dates[date(2025, 9, 16)] == "Malaysia Day"


def test_load_by_name_or_path_and_unknown_names():
    path = builtin_dir() / "my-tnb-c1-2014.toml"
    assert load_tariff(str(path)).id == load_tariff("my-tnb-c1-2014").id == "my-tnb-c1-2014"
    with pytest.raises(TariffError) as e:
        load_tariff("my-tnb-mv-tou")
    assert e.value.key == "tariff" and "did you mean 'my-tnb-mv-tou-2025'" in e.value.fix


def test_a_users_folder_adds_tariffs(tmp_path):
    write(tmp_path, MINIMAL, "mine.toml")
    assert load_tariff("test-flat", [tmp_path]).versions[0].charges[0].rate == 30


# -- bands and day types ----------------------------------------------------------------------------

BANDS = MINIMAL.replace('default_band = "all"', '''default_band = "day"

[versions.bands]
night = { weekday = ["22:00-08:00"], weekend = ["20:00-09:00"] }
free = { holiday = ["00:00-24:00"] }''').replace("rate = 30", "rates = { day = 30, night = 20, free = 0 }")


def test_a_band_crossing_midnight_covers_both_ends_of_the_day(tmp_path):
    t = load_tariff_file(write(tmp_path, BANDS))
    v = t.versions[0]
    mon = date(2025, 8, 4)  # a Monday
    band = lambda d, h, m=0: v.band_at(t.day_type(d), at(d, h, m))
    assert [band(mon, 0), band(mon, 7, 45), band(mon, 8), band(mon, 21, 45), band(mon, 22), band(mon, 23, 45)] == \
        ["night", "night", "day", "day", "night", "night"]
    sat = date(2025, 8, 9)
    assert [band(sat, 8, 45), band(sat, 9), band(sat, 19, 45), band(sat, 20)] == ["night", "day", "day", "night"]
    assert v.bands == ("night", "free", "day")


def test_weekday_saturday_sunday_and_holiday_select_the_band():
    t = load_tariff("my-tnb-mv-tou-2025")
    v = t.versions[0]
    days = {"Mon 15 Sep 2025": date(2025, 9, 15), "Malaysia Day, Tue 16 Sep": date(2025, 9, 16),
            "Wed 17 Sep": date(2025, 9, 17), "Sat 20 Sep": date(2025, 9, 20), "Sun 21 Sep": date(2025, 9, 21)}
    assert {k: t.day_type(d) for k, d in days.items()} == {
        "Mon 15 Sep 2025": "weekday", "Malaysia Day, Tue 16 Sep": "holiday", "Wed 17 Sep": "weekday",
        "Sat 20 Sep": "saturday", "Sun 21 Sep": "sunday"}
    at15 = {k: v.band_at(t.day_type(d), at(d, 15)) for k, d in days.items()}
    assert at15 == {"Mon 15 Sep 2025": "peak", "Malaysia Day, Tue 16 Sep": "offpeak", "Wed 17 Sep": "peak",
                    "Sat 20 Sep": "offpeak", "Sun 21 Sep": "offpeak"}
    # Peak is [14:00, 22:00): 13:45 and 22:00 are off-peak.
    wed = date(2025, 9, 17)
    assert [v.band_at("weekday", at(wed, h, m)) for h, m in ((13, 45), (14, 0), (21, 45), (22, 0))] == \
        ["offpeak", "peak", "peak", "offpeak"]
    # The older C2 has peak 08:00-22:00 every day, holidays included (it has no calendar).
    c2 = load_tariff("my-tnb-c2-2014")
    assert c2.versions[0].band_at(c2.day_type(date(2025, 6, 1)), at(date(2025, 6, 1), 8)) == "peak"  # a Sunday


# -- effective dates ------------------------------------------------------------------------------

TWO_VERSIONS = (MINIMAL.replace("rate = 30", "rate = 36.50") + """
[[versions]]
effective_from = 2025-07-01
default_band = "all"
[versions.rounding]
mode = "half_up"
money = "0.01"
[[versions.charges]]
name = "energy"
kind = "energy"
unit = "sen/kWh"
rate = 29.83
""").replace("effective_from = 2025-01-01", "effective_from = 2014-01-01\neffective_to = 2025-06-30")


def test_effective_dates_pick_the_version_in_force(tmp_path):
    t = load_tariff_file(write(tmp_path, TWO_VERSIONS))
    old, new = t.versions
    assert t.version_on(date(2025, 6, 30)) is old and t.version_on(date(2025, 7, 1)) is new
    assert t.version_end(old) == date(2025, 7, 1) and t.version_end(new) is None
    with pytest.raises(TariffError) as e:
        t.version_on(date(2013, 12, 31))
    assert e.value.key == "versions" and "2014-01-01" in str(e.value)
    mv = load_tariff("my-tnb-mv-tou-2025")
    with pytest.raises(TariffError) as e:
        mv.version_on(date(2025, 6, 30))
    assert "no version of tariff 'my-tnb-mv-tou-2025' is in force on 2025-06-30" in str(e.value)
    assert "docs/tariffs.md" in e.value.fix


# -- validation: file, key and fix -------------------------------------------------------------------

@pytest.mark.parametrize("change, key, words", [
    (("currency = ", "curency = "), "curency", "did you mean 'currency'?"),
    (('rate = 30', 'rate = 30\nwindow = 30'), "versions[0].charges[0].window", "per-kW"),
    (('unit = "sen/kWh"', 'unit = "cents/kWh"'), "versions[0].charges[0].unit", "RM/kWh, sen/kWh"),
    (('kind = "energy"', 'kind = "energy"\nbands = ["peak"]'), "versions[0].charges[0].bands", "all"),
    (('[versions.rounding]\nmode = "half_up"\nmoney = "0.01"\n', ''), "versions[0].rounding", "explicit"),
    (('mode = "half_up"', 'mode = "nearest"'), "versions[0].rounding.mode", "half_up, half_even"),
    (('effective_from = 2025-01-01', 'effective_from = "2025-01-01"'), "versions[0].effective_from", "no quotes"),
    (('verified = true', ''), "verified", "verified = false"),
    (('confidence = "official"', 'confidence = "sure"'), "confidence", "official, secondary, code, unverified"),
    (('timezone = "Asia/Kuala_Lumpur"', 'timezone = "Asia/KL"'), "timezone", "IANA"),
    (('default_band = "all"', ''), "versions[0].bands", "default_band"),
    (('rate = 30', 'rate = 30\n[[versions.levies]]\nname = "levy"\npercent = 1.6\napplies_to = ["tax"]'),
     "versions[0].levies[0].applies_to", "energy"),
])
def test_validation_errors_name_the_file_the_key_and_the_fix(tmp_path, change, key, words):
    path = write(tmp_path, MINIMAL.replace(*change))
    with pytest.raises(TariffError) as e:
        load_tariff_file(path)
    assert e.value.file == str(path)
    assert e.value.key == key
    assert words in str(e.value)


@pytest.mark.parametrize("bands, key, words", [
    ('peak = { weekday = ["14:00-22:00"] }\noff = { weekday = ["21:00-23:00"] }', "versions[0].bands.off.weekday",
     "overlaps band 'peak' on weekday at 21:00"),
    ('peak = { weekday = ["14:10-22:00"] }', "versions[0].bands.peak.weekday", "quarter hours"),
    ('peak = { weekday = ["14:00-14:00"] }', "versions[0].bands.peak.weekday", "00:00-24:00"),
    ('peak = { workday = ["14:00-22:00"] }', "versions[0].bands.peak.workday", "did you mean 'weekday'?"),
    ('Peak = { weekday = ["14:00-22:00"] }', "versions[0].bands.Peak", "lower case"),
])
def test_band_errors(tmp_path, bands, key, words):
    text = MINIMAL.replace('default_band = "all"', f'default_band = "all"\n[versions.bands]\n{bands}')
    with pytest.raises(TariffError) as e:
        load_tariff_file(write(tmp_path, text))
    assert (e.value.key, words in str(e.value)) == (key, True), str(e.value)


ADJ = '[[versions.adjustments]]\nname = "afa"\nunit = "sen/kWh"\nCAP\n[versions.adjustments.series]\nSERIES\n'


def test_more_errors(tmp_path):
    cases = {
        # per-band rates must cover every band
        MINIMAL.replace('default_band = "all"',
                        'default_band = "off"\n[versions.bands]\npeak = { weekday = ["14:00-22:00"] }')
        .replace("rate = 30", "rates = { peak = 30 }"): ("versions[0].charges[0].rates", "give a rate for every band"),
        MINIMAL + ADJ.replace("SERIES", '"Aug 2025" = 1').replace("CAP", ""):
            ("versions[0].adjustments[0].series.Aug 2025", "YYYY-MM"),
        # tiers need rising limits and an open last tier
        MINIMAL.replace("rate = 30", "tiers = [{ up_to = 200, rate = 43.5 }, { up_to = 100, rate = 50.9 }]"):
            ("versions[0].charges[0].tiers[1].up_to", "rising"),
        # two versions in force on the same day
        TWO_VERSIONS.replace("effective_to = 2025-06-30", "effective_to = 2025-07-01"):
            ("versions[1].effective_from", "overlaps versions[0]"),
        # the same component name twice
        MINIMAL + '[[versions.levies]]\nname = "energy"\npercent = 1\napplies_to = ["energy"]\n':
            ("versions[0].name", "used twice"),
        # a placeholder must say it is unverified
        MINIMAL.replace("rate = 30", "rate = 30\nplaceholder = true"):
            ("versions[0].charges[0].confidence", "unverified"),
        MINIMAL.replace('tariff = "test-flat"', 'tariff = "Test Flat"'): ("tariff", "lower case"),
        MINIMAL.replace("kind = \"energy\"\nunit", "kind = \"energy\"\nrates = { all = 1 }\nunit"):
            ("versions[0].charges[0].rate", "exactly one of"),
    }
    for text, (key, words) in cases.items():
        with pytest.raises(TariffError) as e:
            load_tariff_file(write(tmp_path, text))
        assert (e.value.key, words in str(e.value)) == (key, True), str(e.value)


def test_invalid_toml_and_a_missing_calendar(tmp_path):
    with pytest.raises(TariffError) as e:
        load_tariff_file(write(tmp_path, MINIMAL + "oops = [\n"))
    assert "not valid TOML" in str(e.value) and e.value.fix
    with pytest.raises(TariffError) as e:
        load_tariff_file(write(tmp_path, MINIMAL.replace("verified = true", 'verified = true\nholidays = "xx-none"')))
    assert e.value.key == "holidays" and "not found" in str(e.value)
    bad_holiday = MINIMAL.replace("verified = true", 'verified = true\n[holidays]\ndates = [{ date = "2025-01-01" }]')
    with pytest.raises(TariffError) as e:
        load_tariff_file(write(tmp_path, bad_holiday))
    assert e.value.key == "holidays.dates[0].date"
