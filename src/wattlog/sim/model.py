"""Pure physics and daily load profiles of simulated RX380 meters (no I/O)."""

# Every value is a deterministic function of (seed, unit, time): noise comes from hashing, not
# from a random generator, so the same seed and instant always give the same reading. Only the
# energy counters carry state: they integrate power over the instants a unit is sampled.

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from ..errors import ConfigError
from ..meters import MeterModel, get_model
from ..meters.decode import encode

DEFAULT_TZ = "Asia/Kuala_Lumpur"
NOMINAL_V = 230.0
FEEDER_OHMS = 0.023  # cable from the board to the meter: about 1 % drop at 100 A
STEP_S = 10.0  # integration sub-step; compressor edges last ~45 s, so this stays the integral
MAX_STEPS = 50_000  # per advance: a gap of months is integrated coarser rather than for minutes
MASK = (1 << 64) - 1

Load = tuple[float, float]  # (real power W, power factor) of one part of a location's load


def _mix(x: int) -> int:
    """splitmix64 finaliser: a well-spread 64-bit hash of x."""
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


@lru_cache(maxsize=4096)
def key(*parts: int | str) -> int:
    """A 64-bit key from ints and names (crc32, not hash(): str hashing is salted per process)."""
    h = 0
    for p in parts:
        n = zlib.crc32(p.encode()) if isinstance(p, str) else p
        h = _mix(h ^ (n & MASK))
    return h


def uniform(k: int) -> float:
    """A value in [-1, 1) fixed by k."""
    return _mix(k) / 2.0**63 - 1.0


@lru_cache(maxsize=8192)
def _knot(k: int, i: int) -> float:
    return uniform(key(k, i))


def noise(k: int, ts: float, period: float) -> float:
    """Smooth noise in [-1, 1]: hashed knots every `period` seconds, cosine-interpolated."""
    x = ts / period
    i = math.floor(x)
    a, b = _knot(k, i), _knot(k, i + 1)  # cached: successive instants share knots
    w = (1.0 - math.cos(math.pi * (x - i))) / 2.0
    return a + (b - a) * w


def wander(k: int, ts: float) -> float:
    """Slow drift with a little faster jitter, in [-1, 1]."""
    return 0.6 * noise(k, ts, 1800.0) + 0.3 * noise(k + 1, ts, 240.0) + 0.1 * noise(k + 2, ts, 30.0)


def _clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo if x < lo else hi if x > hi else x


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-_clamp(x, -60.0, 60.0)))


def window(hour: float, start: float, end: float, ramp: float = 0.25) -> float:
    """About 1 between local hours start and end, 0 outside, with smooth edges of ~ramp hours."""
    return _sig((hour - start) / ramp) * _sig((end - hour) / ramp)


def heat(hour: float) -> float:
    """Outdoor heat 0..1, peaking at 15:00: what drives air-conditioning load."""
    return 0.5 + 0.5 * math.cos(2.0 * math.pi * (hour - 15.0) / 24.0)


@dataclass(frozen=True)
class Moment:
    """Where a profile is evaluated: local hour, weekday (0 = Monday), epoch seconds, noise key."""

    hour: float
    weekday: int
    ts: float
    k: int

    def noise(self, channel: str) -> float:
        return wander(key(self.k, channel), self.ts)

    def cycle(self, channel: str, period_s: float, duty: float) -> float:
        """A compressor's on-level 0..1: on for about `duty` of each period, soft ~45 s edges
        (a threshold on a triangle wave, so it is continuous in time and in duty)."""
        p = (self.ts / period_s + uniform(key(self.k, channel))) % 1.0
        x = 1.0 - abs(2.0 * p - 1.0)
        r = 90.0 / period_s
        return _clamp((_clamp(duty) * (1.0 + r) - x) / r)


def office(m: Moment) -> list[Load]:
    h = m.hour
    day = window(h, 8, 18, 0.3) if m.weekday < 5 else 0.2 * window(h, 9, 13) if m.weekday == 5 else 0.0
    ac = 17000 * day * (0.55 + 0.45 * heat(h)) * (1 + 0.08 * m.noise("ac"))
    plugs = 7000 * day * (1 - 0.2 * window(h, 12.5, 13.5, 0.1)) * (1 + 0.05 * m.noise("plugs"))
    base = 2600 * (1 + 0.06 * m.noise("base"))  # servers, fridges, security lights: after-hours load
    return [(base, 0.86), (ac, 0.95), (plugs, 0.90)]


def workshop(m: Moment) -> list[Load]:
    h = m.hour
    day = window(h, 7, 17, 0.2) if m.weekday < 5 else 0.0
    lunch = 1 - 0.7 * window(h, 12, 13, 0.08)
    use = _clamp(0.7 + 0.3 * m.noise("machines"))  # machines starting and stopping
    motors = 24000 * day * lunch * use
    base = 1800 * (1 + 0.05 * m.noise("base"))
    # induction motors have a poorer power factor at part load
    return [(base, 0.84), (motors, 0.78 + 0.08 * use), (2500 * day, 0.92)]


def aircon(m: Moment) -> list[Load]:
    h = m.hour
    op = window(h, 7, 22, 0.3) * (1.0 if m.weekday < 5 else 0.7)
    demand = op * (0.3 + 0.7 * heat(h)) * (1 + 0.05 * m.noise("demand"))
    # two compressors: the lead one cycles up to full duty, the lag one covers the afternoon peak
    c1 = 22000 * m.cycle("c1", 900, 2 * demand) * (1 + 0.03 * m.noise("c1"))
    c2 = 22000 * m.cycle("c2", 1080, 2 * demand - 1) * (1 + 0.03 * m.noise("c2"))
    pumps = 7000 * window(h, 6.75, 22.25, 0.3) * (1 + 0.02 * m.noise("pumps"))
    return [(1500, 0.80), (pumps, 0.85), (c1, 0.88), (c2, 0.88)]


def production(m: Moment) -> list[Load]:
    h = m.hour
    shifts = window(h, 6, 22, 0.15) if m.weekday < 6 else 0.0  # 06-14 and 14-22, Monday to Saturday
    breaks = (1 - 0.6 * window(h, 10, 10.25, 0.04) - 0.7 * window(h, 12, 12.5, 0.06)
              - 0.5 * window(h, 13.9, 14.15, 0.04) - 0.7 * window(h, 18, 18.5, 0.06))
    machines = 38000 * shifts * breaks * (1 + 0.08 * m.noise("machines"))
    base = 4500 * (1 + 0.05 * m.noise("base"))  # compressed-air leaks, standby
    return [(base, 0.80), (machines, 0.85), (3500 * shifts, 0.92)]


def retail(m: Moment) -> list[Load]:
    h = m.hour
    weekend = 1.15 if m.weekday >= 5 else 1.0
    ac = 9000 * window(h, 9.5, 22, 0.2) * (0.55 + 0.45 * heat(h)) * weekend * (1 + 0.06 * m.noise("ac"))
    fridges = 2200 * (1 + 0.05 * m.noise("fridges"))
    return [(fridges, 0.85), (ac, 0.93), (5500 * window(h, 10, 22, 0.2), 0.95)]


def cold_room(m: Moment) -> list[Load]:
    duty = 0.45 + 0.15 * heat(m.hour) + 0.1 * window(m.hour, 8, 18)  # doors open by day
    return [(700, 0.90), (5200 * m.cycle("comp", 1200, duty), 0.82)]


PROFILES: dict[str, Callable[[Moment], list[Load]]] = {
    "office": office, "workshop": workshop, "aircon": aircon,
    "production": production, "retail": retail, "cold_room": cold_room,
}


@lru_cache(maxsize=1)
def rx380() -> MeterModel:
    return get_model("rx380")


def register_span() -> tuple[int, int]:
    """First address and one past the last address of the RX380 map."""
    regs = rx380().registers
    return min(r.address for r in regs), max(r.end for r in regs)


def encode_values(values: dict[str, float]) -> dict[int, int]:
    """Register words for physical values; undocumented addresses in the span read 0."""
    lo, hi = register_span()
    words = dict.fromkeys(range(lo, hi), 0)
    for r in rx380().registers:
        for i, w in enumerate(encode(values[r.name] / r.factor, r.type, r.word_order)):
            words[r.address + i] = w
    return words


def sim_clock(speed: float = 1.0, start: datetime | None = None) -> Callable[[], datetime]:
    """Simulated UTC time: from `start` (default now), running `speed` times faster than real time."""
    origin = start or datetime.now(timezone.utc)
    t0 = time.monotonic()
    return lambda: origin + timedelta(seconds=(time.monotonic() - t0) * speed)


def epoch(t: datetime) -> float:
    """Epoch seconds; a naive datetime is taken as UTC."""
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp()


@dataclass
class _Counters:
    ts: float
    power: tuple[float, float, float]  # W, VA, var at ts: the left end of the next trapezoid
    wh: list[float]  # real Wh, apparent VAh, reactive varh


class Site:
    """The simulated meters of one site: a profile per unit id, one shared supply, energy counters."""

    def __init__(self, units: dict[int, str], seed: int = 1, tz: str = DEFAULT_TZ) -> None:
        for unit, profile in units.items():
            if profile not in PROFILES:
                raise ConfigError(f"unknown load profile {profile!r} for unit {unit}",
                                  fix=f"use one of {', '.join(PROFILES)}")
        try:
            self.tz = ZoneInfo(tz)
        except (ValueError, LookupError):
            raise ConfigError(f"unknown time zone {tz!r}", fix="e.g. Asia/Kuala_Lumpur") from None
        self.units, self.seed = dict(units), seed
        self._counters: dict[int, _Counters] = {}
        self._from_zero: set[int] = set()  # reset before their first sample

    def moment(self, unit: int, ts: float) -> Moment:
        local = datetime.fromtimestamp(ts, self.tz)
        hour = local.hour + local.minute / 60 + (local.second + local.microsecond / 1e6) / 3600
        return Moment(hour, local.weekday(), ts, key(self.seed, unit))

    def power(self, unit: int, ts: float) -> tuple[float, float, float]:
        """Real W, apparent VA and reactive var (inductive, positive) of a unit at epoch ts."""
        loads = PROFILES[self.units[unit]](self.moment(unit, ts))
        p = sum(w for w, _ in loads)
        q = sum(w * math.tan(math.acos(pf)) for w, pf in loads)
        return p, math.hypot(p, q), q

    def supply(self, ts: float) -> tuple[list[float], float]:
        """Phase voltages at the board and frequency: shared by every unit of the site."""
        k = key(self.seed, "supply")
        local = datetime.fromtimestamp(ts, self.tz)
        # highest before dawn, sagging under the afternoon peak
        daily = math.cos(2 * math.pi * (local.hour + local.minute / 60 - 3) / 24)
        volts = [NOMINAL_V * (1 + 0.004 * uniform(key(k, "offset", i)) + 0.007 * daily
                              + 0.0025 * wander(key(k, "phase", i), ts)) for i in range(3)]
        return volts, 50.0 + 0.07 * wander(key(k, "frequency"), ts)

    def _advance(self, unit: int, ts: float) -> _Counters:
        c = self._counters.get(unit)
        if c is None:  # first sample: a seeded reading, as on a meter that has run for years
            kwh = 0.0 if unit in self._from_zero else 1500 + 3250 * (uniform(key(self.seed, unit, "kwh")) + 1)
            c = _Counters(ts, self.power(unit, ts), [kwh * 1000, kwh * 1000 / 0.88, kwh * 1000 * 0.5])
            self._counters[unit] = c
        elif ts > c.ts:
            gap = ts - c.ts
            n = math.ceil(gap / max(STEP_S, gap / MAX_STEPS))
            dt = gap / n
            for i in range(1, n + 1):
                now = self.power(unit, c.ts + i * dt) if i < n else self.power(unit, ts)
                for j in range(3):
                    c.wh[j] += (c.power[j] + now[j]) / 2 * dt / 3600
                c.power = now
            c.ts = ts
        return c

    def energy(self, unit: int) -> tuple[float, float, float]:
        """Exact counters (kWh, kVAh, kvarh) as of the last sample; the meter shows whole units."""
        c = self._counters.get(unit)
        return (c.wh[0] / 1000, c.wh[1] / 1000, c.wh[2] / 1000) if c else (0.0, 0.0, 0.0)

    def reset_counters(self, unit: int) -> None:
        """The energy counters restart from 0 (a meter reset or replaced)."""
        c = self._counters.get(unit)
        if c is not None:
            c.wh = [0.0, 0.0, 0.0]
        else:
            self._from_zero.add(unit)

    def snapshot(self, unit: int, t: datetime) -> dict[str, float]:
        """Physical values of a unit at t by canonical name; energy in whole kWh like the meter."""
        ts = epoch(t)
        c = self._advance(unit, ts)
        p, s, q = c.power if c.ts == ts else self.power(unit, ts)
        grid, freq = self.supply(ts)
        k = key(self.seed, unit, "share")
        shares = [1 + 0.05 * uniform(key(k, i)) + 0.02 * wander(key(k, "w", i), ts) for i in range(3)]
        sk = [s * x / sum(shares) for x in shares]
        volts = [g - FEEDER_OHMS * x / g for g, x in zip(grid, sk)]  # drop in the feeder cable
        amps = [x / v for x, v in zip(sk, volts)]
        ia, ib, ic = amps
        values = {
            "total_real_energy": math.floor(c.wh[0] / 1000),
            "total_apparent_energy": math.floor(c.wh[1] / 1000),
            "total_reactive_energy": math.floor(c.wh[2] / 1000),
            "total_real_power": p, "total_apparent_power": s, "total_reactive_power": q,
            "total_power_factor": p / s if s > 0 else 1.0, "frequency": freq,
            "current_l1": ia, "current_l2": ib, "current_l3": ic,
            # phasor sum of three currents 120 degrees apart at equal phase angles
            "current_ln": math.sqrt(max(0.0, ia * ia + ib * ib + ic * ic - ia * ib - ib * ic - ic * ia)),
        }
        for name, (a, b) in zip(("voltage_l12", "voltage_l23", "voltage_l31"), ((0, 1), (1, 2), (2, 0))):
            values[name] = math.sqrt(volts[a] ** 2 + volts[b] ** 2 + volts[a] * volts[b])
        for i, v in enumerate(volts):
            values[f"voltage_l{i + 1}"] = v
        return values

    def registers(self, unit: int, t: datetime) -> dict[int, int]:
        """Register words (address -> word) a unit serves at t."""
        return encode_values(self.snapshot(unit, t))
