"""The vocabulary: canonical quantity names, their units, and whether each is a counter.

These names are used everywhere: meter definitions, database columns, CSV headers, JSON keys
and MQTT topics. A meter model maps its registers onto them; it may add names of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "instantaneous"]


@dataclass(frozen=True)
class Quantity:
    name: str
    unit: str
    kind: Kind
    label: str


def _q(name: str, unit: str, kind: Kind, label: str) -> Quantity:
    return Quantity(name, unit, kind, label)


# Order matters: it is the column order of tables and exports after the CSV's legacy columns.
QUANTITIES: dict[str, Quantity] = {
    q.name: q
    for q in [
        _q("voltage_l12", "V", "instantaneous", "Voltage L1-L2"),
        _q("voltage_l23", "V", "instantaneous", "Voltage L2-L3"),
        _q("voltage_l31", "V", "instantaneous", "Voltage L3-L1"),
        _q("voltage_l1", "V", "instantaneous", "Voltage L1-N"),
        _q("voltage_l2", "V", "instantaneous", "Voltage L2-N"),
        _q("voltage_l3", "V", "instantaneous", "Voltage L3-N"),
        _q("current_l1", "A", "instantaneous", "Current L1"),
        _q("current_l2", "A", "instantaneous", "Current L2"),
        _q("current_l3", "A", "instantaneous", "Current L3"),
        _q("current_ln", "A", "instantaneous", "Current neutral"),
        _q("total_real_power", "W", "instantaneous", "Total real power"),
        _q("total_apparent_power", "VA", "instantaneous", "Total apparent power"),
        _q("total_reactive_power", "var", "instantaneous", "Total reactive power"),
        _q("total_power_factor", "", "instantaneous", "Total power factor"),
        _q("frequency", "Hz", "instantaneous", "Frequency"),
        _q("total_real_energy", "kWh", "counter", "Total real energy"),
        _q("total_apparent_energy", "kVAh", "counter", "Total apparent energy"),
        _q("total_reactive_energy", "kvarh", "counter", "Total reactive energy"),
    ]
}

# A model's own names must be usable as SQL columns, CSV headers and MQTT topic levels.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

# Units a definition may state for a canonical quantity, and the factor to the canonical unit.
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "V": {"V": 1.0, "kV": 1000.0},
    "A": {"A": 1.0, "mA": 0.001},
    "W": {"W": 1.0, "kW": 1000.0},
    "VA": {"VA": 1.0, "kVA": 1000.0},
    "var": {"var": 1.0, "kvar": 1000.0},
    "kWh": {"kWh": 1.0, "Wh": 0.001, "MWh": 1000.0},
    "kVAh": {"kVAh": 1.0, "VAh": 0.001, "MVAh": 1000.0},
    "kvarh": {"kvarh": 1.0, "varh": 0.001, "Mvarh": 1000.0},
    "Hz": {"Hz": 1.0},
    "": {"": 1.0},
}


def unit_factor(quantity: str, unit: str) -> float | None:
    """Factor from `unit` to the canonical unit of `quantity`; None if not convertible."""
    q = QUANTITIES.get(quantity)
    if q is None:
        return 1.0
    return UNIT_FACTORS.get(q.unit, {}).get(unit)


def ordered(names: list[str] | set[str]) -> list[str]:
    """Names in vocabulary order, a model's own names after them alphabetically."""
    known = [n for n in QUANTITIES if n in names]
    return known + sorted(n for n in names if n not in QUANTITIES)
