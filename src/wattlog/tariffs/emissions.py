"""Scope 2 (location-based) emissions: kWh × the grid's dated emission factor, the factor's year
printed beside every figure. Factors are data (data/emissions/grid.toml), each with its source."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache

from ..errors import ConfigError
from .parse import builtin_dir


@dataclass(frozen=True)
class Factor:
    grid: str
    name: str
    kg_per_kwh: float
    year: int  # the year the figure describes
    start: date  # first day wattlog uses it for
    source: str
    confidence: str
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.kg_per_kwh:g} kg CO2e/kWh, {self.name} {self.year} ({self.confidence})"


@cache
def _data() -> tuple[dict[str, str], tuple[Factor, ...]]:
    path = builtin_dir() / "emissions" / "grid.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    factors = tuple(Factor(f["grid"], f["name"], float(f["kg_per_kwh"]), int(f["year"]), f["from"], f["source"],
                           f["confidence"], f.get("note", "")) for f in data["factors"])
    return dict(data["zones"]), factors


def grids() -> list[str]:
    return sorted({f.grid for f in _data()[1]})


def factor_for(timezone: str, on: date, grid: str | None = None) -> Factor | None:
    """The factor of `grid` (default: the grid of the site's time zone) in use on day `on`; None when
    the zone maps to no shipped grid."""
    zones, factors = _data()
    grid = grid or zones.get(timezone)
    if grid is None:
        return None
    mine = sorted((f for f in factors if f.grid == grid), key=lambda f: f.start)
    if not mine:
        raise ConfigError(f"no grid {grid!r}", key="grid", fix=f"use one of {', '.join(grids())}")
    usable = [f for f in mine if f.start <= on]
    return usable[-1] if usable else mine[0]


def emissions_rows(rows: list[tuple[str, float]], timezone: str, on: date) -> tuple[list[list[object]], list[str]]:
    """[location, kWh, kg CO2e, t CO2e, factor] rows and a note naming the factor and its source."""
    f = factor_for(timezone, on)
    if f is None:
        return [], [f"emissions: no grid factor for time zone {timezone} (shipped grids: {', '.join(grids())})"]
    out = [[name, round(kwh, 1), round(kwh * f.kg_per_kwh, 1), round(kwh * f.kg_per_kwh / 1000, 3), f.year]
           for name, kwh in rows]
    notes = [f"Scope 2, location-based: {f.label}; source: {f.source}" + (f"; {f.note}" if f.note else "")]
    return out, notes
