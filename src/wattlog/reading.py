"""A Reading: one meter's values at one instant, with per-quantity quality.

`values` holds only values that were read and passed the plausibility checks. Every other
quantity of the model is in `problems` with the reason: it is never zero, never stale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .meters.definition import MeterModel
from .quantities import ordered

MISSING = "missing"  # not read: no answer, refused, 'not available' from the meter
IMPLAUSIBLE = "implausible"  # read, but physically impossible: kept aside, not passed on as truth

FREQUENCY_RANGE = (45.0, 65.0)


@dataclass(frozen=True)
class Problem:
    flag: str  # MISSING or IMPLAUSIBLE
    reason: str
    raw: float | None = None  # the value the meter sent, for an implausible one

    def __str__(self) -> str:
        return f"{self.flag}: {self.reason}"


@dataclass
class Reading:
    meter: str
    timestamp: datetime  # UTC, timezone-aware
    model: str
    values: dict[str, float] = field(default_factory=dict)
    problems: dict[str, Problem] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None or self.timestamp.utcoffset() is None:
            raise ValueError("Reading.timestamp must be timezone-aware (UTC)")

    def quality(self, name: str) -> str:
        """'ok', 'missing' or 'implausible' for a quantity of this reading's model."""
        if name in self.values:
            return "ok"
        p = self.problems.get(name)
        return p.flag if p else MISSING

    def to_json(self) -> dict[str, Any]:
        return {
            "meter": self.meter,
            "timestamp": self.timestamp.isoformat(),
            "model": self.model,
            "values": {n: self.values[n] for n in ordered(set(self.values))},
            "quality": {n: ("ok" if n in self.values else str(self.problems[n]))
                        for n in ordered(set(self.values) | set(self.problems))},
        }


def check_plausible(reading: Reading, model: MeterModel, last_counters: dict[str, float]) -> None:
    """Move implausible values from `values` to `problems`; update `last_counters` in place.

    Counters are compared with the last value read (not the last trusted one), so a meter that
    was reset or replaced is flagged once, at the drop, and not forever after.
    """
    for name, value in list(reading.values.items()):
        reason = ""
        reg = model.by_name.get(name)
        if not math.isfinite(value):
            reason = "not a finite number"
        elif name.endswith("power_factor") and abs(value) > 1.0:
            reason = f"|PF| {value:g} > 1"
        elif name == "frequency" and not FREQUENCY_RANGE[0] <= value <= FREQUENCY_RANGE[1]:
            reason = f"frequency {value:g} Hz outside {FREQUENCY_RANGE[0]:g}-{FREQUENCY_RANGE[1]:g} Hz"
        elif reg is not None and reg.valid and not reg.valid[0] <= value <= reg.valid[1]:
            reason = f"{value:g} {reg.unit} outside the meter's range {reg.valid[0]:g}-{reg.valid[1]:g}"
        elif reg is not None and not reg.valid and not reg.span[0] <= value <= reg.span[1]:
            # A value no register of this meter can hold (an imported 1e300 W) is not a reading.
            reason = f"{value:g} {reg.unit} outside what the meter can send ({reg.span[0]:g} to {reg.span[1]:g})"
        elif reg is not None and reg.kind == "counter":
            before = last_counters.get(name)
            last_counters[name] = value
            if before is not None and value < before:
                reason = f"counter went backwards from {before:g} to {value:g} (reset or replaced meter?)"
        if reason:
            del reading.values[name]
            reading.problems[name] = Problem(IMPLAUSIBLE, reason, value)


def to_record(reading: Reading) -> dict[str, Any]:
    """A compact, lossless dict for the spool (raw values of implausible quantities included)."""
    return {"m": reading.meter, "t": reading.timestamp.isoformat(), "model": reading.model,
            "v": reading.values, "p": {n: [p.flag, p.reason, p.raw] for n, p in reading.problems.items()}}


def from_record(data: dict[str, Any]) -> Reading:
    return Reading(data["m"], datetime.fromisoformat(data["t"]), data["model"], dict(data["v"]),
                   {n: Problem(f, r, raw) for n, (f, r, raw) in data["p"].items()})
