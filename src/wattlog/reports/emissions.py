"""The emissions table the ranking, cost and monthly reports share: Scope 2 per location and the site."""

from __future__ import annotations

from ..tariffs.emissions import emissions_rows
from .header import Header
from .result import Table


def emissions_table(rows: list[tuple[str, float]], header: Header) -> Table:
    """Location-based Scope 2 emissions of each (name, kWh), with the grid factor's year on every row."""
    out, notes = emissions_rows(rows, header.timezone, header.start)
    return Table("emissions", "Scope 2 emissions (location-based)",
                 ["location", "kWh", "kg CO2e", "t CO2e", "factor year"], out, notes)
