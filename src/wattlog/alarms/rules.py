"""What an alarm rule is: its kind, the meters it watches, thresholds, hysteresis, minimum duration.

Level rules (voltage, unbalance, power factor, current, frequency) watch each meter of their scope
on its own; offline watches each meter's silence; after-hours, daily energy and demand add up the
meters of their scope (a location or the whole site).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..reading import Reading

PHASE_V = ("voltage_l1", "voltage_l2", "voltage_l3")
CURRENTS = ("current_l1", "current_l2", "current_l3")

# kind -> (label, unit); level kinds have a metric below
KINDS: dict[str, tuple[str, str]] = {
    "overvoltage": ("Over-voltage", "V"),
    "undervoltage": ("Under-voltage", "V"),
    "unbalance": ("Voltage unbalance", "%"),
    "power_factor": ("Low power factor", ""),
    "current": ("Current above rating", "A"),
    "frequency": ("Frequency out of band", "Hz"),
    "offline": ("Meter offline", "min"),
    "after_hours": ("Consumption after hours", "kW"),
    "daily_energy": ("Daily energy above budget", "kWh"),
    "demand": ("Demand forecast above target", "kW"),
}
LEVEL_KINDS = ("overvoltage", "undervoltage", "unbalance", "power_factor", "current", "frequency")
SUM_KINDS = ("after_hours", "daily_energy", "demand")


@dataclass(frozen=True)
class Rule:
    """One configured rule. `above`/`below` are the firing thresholds (either or both); the alarm
    clears only once the value is back inside them by `hysteresis`; it fires only after the
    condition held `min_duration` seconds."""

    name: str
    kind: str
    meters: tuple[str, ...]  # the meters it watches (its scope resolved)
    scope: str  # "meter office", "location workshop", "site"
    above: float | None = None
    below: float | None = None
    hysteresis: float = 0.0
    min_duration: float = 0.0  # seconds
    channels: tuple[str, ...] = ()  # () = every configured channel
    params: dict[str, Any] = field(default_factory=dict)  # kind-specific: minutes, target_kw, …

    @property
    def label(self) -> str:
        return KINDS[self.kind][0]

    @property
    def unit(self) -> str:
        return KINDS[self.kind][1]

    def fires(self, value: float) -> bool:
        return (self.above is not None and value > self.above) or (self.below is not None and value < self.below)

    def clears(self, value: float) -> bool:
        h = self.hysteresis
        return (self.above is None or value <= self.above - h) and (self.below is None or value >= self.below + h)

    def worse(self, a: float, b: float) -> float:
        """The value further outside the band: the event's peak."""
        if self.above is not None and self.below is not None:
            mid = (self.above + self.below) / 2
            return a if abs(a - mid) >= abs(b - mid) else b
        return min(a, b) if self.above is None and self.below is not None else max(a, b)


def level_value(kind: str, reading: Reading) -> tuple[float, str] | None:
    """The value a level rule compares, and which phase or quantity gave it; None if not read."""
    v = reading.values
    if kind in ("overvoltage", "undervoltage"):
        phases = [(v[n], n[-2:].upper()) for n in PHASE_V if n in v]
        if not phases:
            return None
        return max(phases) if kind == "overvoltage" else min(phases)
    if kind == "unbalance":
        phases = [v[n] for n in PHASE_V if n in v]
        if len(phases) < 3:
            return None
        mean = sum(phases) / 3
        return (100 * max(abs(p - mean) for p in phases) / mean, "NEMA") if mean > 0 else None
    if kind == "power_factor":
        pf = v.get("total_power_factor")
        return None if pf is None else (abs(pf), "total")
    if kind == "current":
        phases = [(v[n], n[-2:].upper()) for n in CURRENTS if n in v]
        return max(phases) if phases else None
    if kind == "frequency":
        f = v.get("frequency")
        return None if f is None else (f, "")
    raise KeyError(kind)


@dataclass
class Alarm:
    """One event's news: raised, or resolved. `key` names the event for its whole life."""

    key: str
    rule: str
    kind: str
    subject: str  # the meter, location or "site" the event is about
    state: str  # "raised" or "resolved"
    start: datetime  # UTC
    value: float
    peak: float
    unit: str
    text: str  # plain words with values, units, place and local time
    end: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)
    channels: tuple[str, ...] = ()


def fmt(value: float, unit: str) -> str:
    digits = 2 if unit in ("", "%", "Hz") else 1
    return f"{value:.{digits}f} {unit}".strip() if unit else f"{value:.2f}"


def hhmm(t: datetime, tz: ZoneInfo) -> str:
    return t.astimezone(tz).strftime("%H:%M")


class Latch:
    """Raise after the condition held min_duration; resolve once, when it clears past the hysteresis."""

    def __init__(self, rule: Rule, subject: str, tz: ZoneInfo) -> None:
        self.rule, self.subject, self.tz = rule, subject, tz
        self.since: datetime | None = None
        self.active: Alarm | None = None

    def step(self, t: datetime, value: float, firing: bool, clearing: bool,
             words: Callable[[Alarm], str], details: Callable[[], dict[str, Any]] | None = None) -> Alarm | None:
        a = self.active
        if a is not None:
            a.peak = self.rule.worse(a.peak, value)
            if not clearing:
                return None
            self.active, self.since = None, None
            done = Alarm(a.key, a.rule, a.kind, a.subject, "resolved", a.start, value, a.peak, a.unit, "", t,
                         dict(a.details), a.channels)
            done.text = words(done)
            return done
        if not firing:
            self.since = None
            return None
        if self.since is None:
            self.since = t
        if (t - self.since).total_seconds() < self.rule.min_duration:
            return None
        r = self.rule
        a = Alarm(f"{r.name}/{self.subject}/{self.since.strftime('%Y%m%dT%H%M%SZ')}", r.name, r.kind, self.subject,
                  "raised", self.since, value, value, r.unit, "", None, details() if details else {}, r.channels)
        a.text = words(a)
        self.active = a
        return a
