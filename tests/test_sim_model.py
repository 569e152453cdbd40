"""The simulator's physics and load profiles: consistent, deterministic, counters that integrate power."""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta, timezone

import pytest

from wattlog.errors import ConfigError
from wattlog.meters import get_model
from wattlog.sim import PROFILES, Site, sim_clock
from wattlog.sim.model import encode_values, register_span

UTC = timezone.utc
# Monday 2026-11-23 00:00 in Kuala Lumpur (UTC+8)
MONDAY = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
ALL = {i + 1: name for i, name in enumerate(PROFILES)}


def local(days: float = 0, hours: float = 0) -> datetime:
    return MONDAY + timedelta(days=days, hours=hours)


def test_profiles_available() -> None:
    assert {"office", "workshop", "aircon", "production", "retail", "cold_room"} <= set(PROFILES)


def test_physics_is_consistent_at_all_hours() -> None:
    for unit in ALL:
        for i in range(0, 7 * 24 * 60, 37):  # a week, every 37 minutes
            # a fresh site each time: its counters need not integrate the whole week
            v = Site(ALL, seed=7).snapshot(unit, local(hours=i / 60))
            p, s, q, pf = (v["total_real_power"], v["total_apparent_power"], v["total_reactive_power"],
                           v["total_power_factor"])
            assert abs(s * s - p * p - q * q) <= 1e-9 * s * s
            assert pf == pytest.approx(p / s)
            assert 0.7 < pf <= 1 and q >= 0
            assert 500 < p < 65000
            assert 49.9 <= v["frequency"] <= 50.1
            vln = [v["voltage_l1"], v["voltage_l2"], v["voltage_l3"]]
            assert all(216 <= x <= 253 for x in vln)
            assert (max(vln) - min(vln)) / (sum(vln) / 3) <= 0.015
            for name, (a, b) in (("voltage_l12", (0, 1)), ("voltage_l23", (1, 2)), ("voltage_l31", (2, 0))):
                assert v[name] == pytest.approx(math.sqrt(3) * (vln[a] + vln[b]) / 2, rel=0.01)
                assert v[name] == pytest.approx(math.sqrt(vln[a] ** 2 + vln[b] ** 2 + vln[a] * vln[b]))
            amps = [v["current_l1"], v["current_l2"], v["current_l3"]]
            assert sum(x * i for x, i in zip(vln, amps)) == pytest.approx(s)  # S split over phases
            assert max(amps) / min(amps) < 1.2  # a small imbalance
            ia, ib, ic = amps
            neutral = abs(ia + ib * complex(-0.5, -math.sqrt(3) / 2) + ic * complex(-0.5, math.sqrt(3) / 2))
            assert v["current_ln"] == pytest.approx(neutral, abs=1e-6)
            assert v["current_ln"] < max(amps) - min(amps) + 1e-6


def test_load_shapes() -> None:
    site = Site({1: "office", 2: "workshop", 3: "retail", 4: "production", 5: "aircon"}, seed=3)
    p = lambda unit, days, hours: site.power(unit, local(days, hours).timestamp())[0]  # noqa: E731
    wednesday, sunday = 2, 6
    assert p(1, wednesday, 11) > 4 * p(1, sunday, 11)  # office: busy on weekdays, idle on Sunday
    assert p(1, wednesday, 11) > 4 * p(1, wednesday, 23)
    assert 1000 < p(1, wednesday, 3) < 5000  # after-hours waste: the base load never stops
    assert p(2, wednesday, 12.5) < 0.6 * p(2, wednesday, 10)  # workshop lunch dip
    assert p(3, sunday, 15) > 4 * p(3, sunday, 7)  # retail opens every day
    assert p(4, 5, 9) > 5 * p(4, sunday, 9)  # production works Saturday, not Sunday
    assert max(p(5, wednesday, h / 4) for h in range(56, 68)) > 40000  # chiller afternoon peak
    pfs = [site.snapshot(2, local(wednesday, h / 6))["total_power_factor"] for h in range(144)]
    assert 0.8 <= min(pfs) and max(pfs) <= 0.88


def test_compressors_cycle() -> None:
    site = Site({1: "cold_room"}, seed=1)
    watts = [site.power(1, local(1, 2 + m / 60).timestamp())[0] for m in range(120)]
    assert max(watts) > 5000 and min(watts) < 1000  # on and off within two hours
    assert 2000 < sum(watts) / len(watts) < 5000


def test_same_seed_same_values_other_seed_different() -> None:
    times = [local(hours=h * 0.45) for h in range(40)]
    a, b, c = Site(ALL, seed=5), Site(ALL, seed=5), Site(ALL, seed=6)
    for unit in ALL:
        assert [a.snapshot(unit, t) for t in times] == [b.snapshot(unit, t) for t in times]
        assert [a.snapshot(unit, t)["total_real_power"] for t in times] != \
               [c.snapshot(unit, t)["total_real_power"] for t in times]
    # values depend on the instant only, not on what was sampled before (counters aside)
    fresh = Site(ALL, seed=5).snapshot(3, times[-1])
    assert fresh["total_real_power"] == a.snapshot(3, times[-1])["total_real_power"]


def fine_energy_kwh(site: Site, unit: int, t0: datetime, t1: datetime, step: float = 1.0) -> float:
    """Trapezoid integral of real power with a fine step, in kWh."""
    a, b = t0.timestamp(), t1.timestamp()
    n = round((b - a) / step)
    watts = [site.power(unit, a + i * (b - a) / n)[0] for i in range(n + 1)]
    return (sum(watts) - (watts[0] + watts[-1]) / 2) * (b - a) / n / 3.6e6


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_counters_integrate_power(profile: str) -> None:
    site = Site({1: profile}, seed=2)
    t0 = local(2, 14)  # a busy Wednesday afternoon
    first = site.snapshot(1, t0)
    start = site.energy(1)
    last = first
    for i in range(1, 361):  # an hour polled every 10 s
        v = site.snapshot(1, t0 + timedelta(seconds=10 * i))
        for name in ("total_real_energy", "total_apparent_energy", "total_reactive_energy"):
            assert v[name] >= last[name] and v[name] == int(v[name])
        last = v
    end = site.energy(1)
    expected = fine_energy_kwh(site, 1, t0, t0 + timedelta(hours=1))
    assert end[0] - start[0] == pytest.approx(expected, abs=0.05)
    assert last["total_real_energy"] == math.floor(end[0])
    assert end[1] - start[1] >= end[0] - start[0] and end[2] - start[2] > 0  # kVAh >= kWh
    assert abs(last["total_real_energy"] - first["total_real_energy"] - expected) <= 1


def test_long_gap_is_integrated_in_steps() -> None:
    site = Site({1: "aircon"}, seed=4)
    t0, t1 = local(1, 6), local(1, 18)
    site.snapshot(1, t0)
    start = site.energy(1)[0]
    site.snapshot(1, t1)  # nothing sampled in between: twelve hours of a cycling chiller
    assert site.energy(1)[0] - start == pytest.approx(fine_energy_kwh(site, 1, t0, t1, 5.0), abs=1.0)


def test_counters_never_go_backwards_and_reset_to_zero() -> None:
    site = Site({1: "office", 2: "retail"}, seed=1)
    later = site.snapshot(1, local(2, 12))
    assert 1500 <= later["total_real_energy"] <= 8000  # a seeded reading of a meter in service
    earlier = site.snapshot(1, local(2, 11))  # a clock that stepped back does not unwind energy
    assert earlier["total_real_energy"] == later["total_real_energy"]
    site.reset_counters(1)
    site.reset_counters(2)  # before its first sample
    assert site.snapshot(1, local(2, 12))["total_real_energy"] == 0
    assert site.snapshot(2, local(2, 12))["total_real_energy"] == 0
    assert site.snapshot(1, local(2, 14))["total_real_energy"] >= 40  # busy office: ~25 kW
    assert site.snapshot(2, local(2, 14))["total_apparent_energy"] >= 20


def test_registers_decode_to_snapshot() -> None:
    model = get_model("rx380")
    site = Site(ALL, seed=9)
    lo, hi = register_span()
    assert (lo, hi) == (4002, 4040)
    for unit in ALL:
        for hours in (3, 10.5, 15.25, 21):
            t = local(4, hours)
            words = site.registers(unit, t)
            values = site.snapshot(unit, t)
            assert sorted(words) == list(range(4002, 4040))
            assert all(0 <= w <= 0xFFFF for w in words.values())
            assert [words[a] for a in (4004, 4005, 4008, 4009)] == [0, 0, 0, 0]
            for reg in model.registers:
                got = reg.value([words[reg.address + i] for i in range(reg.words)])
                assert got == pytest.approx(values[reg.name], abs=reg.factor / 2 + 1e-9), reg.name
            assert words == encode_values(values)


def test_energy_registers_count_whole_kwh() -> None:
    model = get_model("rx380").by_name
    site = Site({1: "office"}, seed=1)
    words = site.registers(1, local(2, 12))
    reg = model["total_real_energy"]
    assert reg.value([words[4002], words[4003]]) == math.floor(site.energy(1)[0])


def test_unknown_profile_and_time_zone() -> None:
    with pytest.raises(ConfigError, match="profile"):
        Site({1: "bakery"})
    with pytest.raises(ConfigError, match="time zone"):
        Site({1: "office"}, tz="Mars/Olympus")


def test_profiles_use_local_time() -> None:
    kl, utc = Site({1: "office"}, seed=1, tz="Asia/Kuala_Lumpur"), Site({1: "office"}, seed=1, tz="UTC")
    t = local(2, 11)  # 11:00 in Kuala Lumpur is 03:00 UTC
    assert kl.power(1, t.timestamp())[0] > 3 * utc.power(1, t.timestamp())[0]


def test_sim_clock_speed() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = sim_clock(speed=3600, start=start)
    a = clock()
    time.sleep(0.02)
    b = clock()
    assert start <= a < b
    assert (b - a).total_seconds() >= 0.02 * 3600 * 0.9
    assert abs((sim_clock()() - datetime.now(UTC)).total_seconds()) < 1
