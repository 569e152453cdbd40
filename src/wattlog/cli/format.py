"""Readings as tables for people (Rich)."""

from __future__ import annotations

from rich.table import Table

from ..meters.definition import MeterModel
from ..quantities import QUANTITIES, ordered
from ..reading import Reading

DECIMALS = {"V": 1, "A": 3, "W": 0, "VA": 0, "var": 0, "Hz": 2, "": 3, "kWh": 0, "kVAh": 0, "kvarh": 0}


def format_value(name: str, value: float, unit: str) -> str:
    digits = DECIMALS.get(unit, 3)
    return f"{value:,.{digits}f}"


def reading_table(reading: Reading, model: MeterModel, title: str = "") -> Table:
    local = reading.timestamp.astimezone()
    t = Table(title=title or reading.meter, caption=f"read at {local:%Y-%m-%d %H:%M:%S %Z}")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_column("unit")
    t.add_column("quality")
    for name in ordered({r.name for r in model.registers}):
        reg = model.by_name[name]
        label = QUANTITIES[name].label if name in QUANTITIES else name
        if name in reading.values:
            t.add_row(label, format_value(name, reading.values[name], reg.unit), reg.unit, "ok")
        else:
            p = reading.problems.get(name)
            raw = f"({p.raw:g})" if p and p.raw is not None else "—"
            t.add_row(label, raw, reg.unit, f"[red]{p}[/red]" if p else "[red]missing[/red]")
    return t
