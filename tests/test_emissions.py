"""Scope 2 emissions: the grid factor by time zone and date, the factor's year beside every figure."""

from __future__ import annotations

from datetime import date

from analytics_synth import local, make_store, series, write

from wattlog.reports.ranking import ranking
from wattlog.tariffs.emissions import factor_for


def test_factors_by_zone_and_date():
    assert (factor_for("Asia/Kuala_Lumpur", date(2025, 8, 1)).kg_per_kwh,
            factor_for("Asia/Kuala_Lumpur", date(2025, 8, 1)).year) == (0.78, 2023)
    assert factor_for("Asia/Ho_Chi_Minh", date(2023, 6, 1)).year == 2022  # 0.6766 until the 2023 figure is out
    assert factor_for("Asia/Ho_Chi_Minh", date(2025, 6, 1)).kg_per_kwh == 0.6592
    assert factor_for("Asia/Bangkok", date(2026, 3, 1)).kg_per_kwh == 0.4750
    assert factor_for("Asia/Singapore", date(2025, 1, 1)).year == 2017
    assert factor_for("Europe/Paris", date(2025, 1, 1)) is None


def test_the_ranking_has_an_emissions_line_per_location_and_for_the_site(tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 'w.db'}")
    for name, watts in (("office", 2000.0), ("aircon", 3000.0)):
        store.ensure_meter(name, location=name)
        write(store, series(name, local(date(2026, 3, 2)), local(date(2026, 3, 3)), lambda t, w=watts: w, step=60,
                            counter0=None))
    table = ranking(store, date(2026, 3, 2), date(2026, 3, 3)).tables()[-1]
    assert table.name == "emissions" and table.columns == ["location", "kWh", "kg CO2e", "t CO2e", "factor year"]
    # 3 kW × 24 h = 72 kWh × 0.78 = 56.16 kg; 48 kWh → 37.44 kg; the site (total row) 120 kWh → 93.6 kg
    assert table.rows == [["aircon", 72.0, 56.2, 0.056, 2023], ["office", 48.0, 37.4, 0.037, 2023],
                          ["total", 120.0, 93.6, 0.094, 2023]]
    assert table.notes[0].startswith("Scope 2, location-based: 0.78 kg CO2e/kWh, Peninsular Malaysia grid 2023")
    store.close()
