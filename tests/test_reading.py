"""Readings: quality, plausibility, JSON."""

from datetime import datetime, timezone

import pytest

from wattlog.meters.definition import get_model
from wattlog.reading import IMPLAUSIBLE, Reading, check_plausible

RX380 = get_model("rx380")
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)


def reading(**values):
    return Reading("office", NOW, "rx380", dict(values))


@pytest.mark.parametrize("name, value, words", [
    ("total_power_factor", 1.2, "|PF| 1.2 > 1"),
    ("total_power_factor", -1.001, "> 1"),
    ("frequency", 70.0, "outside 45-65 Hz"),
    ("frequency", 0.0, "outside 45-65 Hz"),
    ("voltage_l1", 350.0, "outside the meter's range 0-300"),
    ("voltage_l12", 600.0, "outside the meter's range 0-520"),
])
def test_implausible_values_are_flagged_not_passed_on(name, value, words):
    r = reading(**{name: value, "current_l1": 5.0})
    check_plausible(r, RX380, {})
    assert name not in r.values and r.values == {"current_l1": 5.0}
    assert r.quality(name) == IMPLAUSIBLE
    assert words in r.problems[name].reason and r.problems[name].raw == value


def test_plausible_edges_pass():
    r = reading(total_power_factor=-1.0, frequency=45.0, voltage_l1=300.0)
    check_plausible(r, RX380, {})
    assert not r.problems


def test_counter_running_backwards_is_flagged_once():
    last: dict = {}
    for kwh, ok in [(100, True), (101, True), (5, False), (6, True), (6, True)]:
        r = reading(total_real_energy=kwh)
        check_plausible(r, RX380, last)
        assert (r.quality("total_real_energy") == "ok") is ok, kwh
    assert last["total_real_energy"] == 6


def test_naive_timestamps_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        Reading("x", datetime(2026, 1, 1), "rx380")


def test_json_shape():
    r = reading(voltage_l1=231.4, frequency=99.0)
    check_plausible(r, RX380, {})
    data = r.to_json()
    assert data["values"] == {"voltage_l1": 231.4}
    assert data["timestamp"] == "2026-11-26T08:00:00+00:00"
    assert data["quality"]["frequency"].startswith("implausible: frequency 99 Hz")
