"""The reports by name: what `wattlog report NAME`, the web API and exporters look up.

A report is a function (store, start, end, settings, location=None, **options) -> result, where
the result is a dataclass with a `tables()` method (list of result.Table) and is JSON-ready
through result.to_jsonable. To add one, write reports/NAME.py and add one line to REPORTS, e.g.:

    "cost": ReportSpec("cost.cost_report", "cost per location by tariff component",
                       "wattlog report cost --config site.toml --from 2026-10-01 --to 2026-11-01"),
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any, Callable


@dataclass(frozen=True)
class ReportSpec:
    # (store, start, end, settings, location=None, **options) -> result; or "module.function" in this
    # package, imported when run (a report's module imports what it needs: the cost report, tariffs)
    target: Callable[..., Any] | str
    summary: str  # one line for --help
    example: str  # a command line for --help
    options: tuple[str, ...] = ()  # extra keyword options it takes: by, resolution, window, top

    @property
    def run(self) -> Callable[..., Any]:
        if callable(self.target):
            return self.target
        module, function = self.target.rsplit(".", 1)
        return getattr(import_module(f".{module}", __package__), function)  # type: ignore[no-any-return]


REPORTS: dict[str, ReportSpec] = {
    "ranking": ReportSpec("ranking.ranking", "locations by kWh and share; the unmetered remainder",
                          "wattlog report ranking --config site.toml --from 2026-10-01 --to 2026-11-01"),
    "heatmap": ReportSpec("heatmap.heatmap", "kWh by hour of day × date (or × weekday, averaged)",
                          "wattlog report heatmap --db sqlite:///data/wattlog.db --from 2026-10-01 --to 2026-11-01 "
                          "--by weekday --location workshop", ("by",)),
    "profile": ReportSpec("profile.profile", "average daily load curve: working vs other days",
                          "wattlog report profile --config site.toml --from 2026-09-01 --to 2026-12-01 "
                          "--resolution 15 --format csv > profile.csv", ("resolution",)),
    "demand": ReportSpec("demand.demand", "maximum demand per month, coincident kW, top blocks",
                         "wattlog report demand --config site.toml --from 2026-01-01 --to 2027-01-01 "
                         "--window 15 --top 3", ("window", "top", "tariff")),
    "afterhours": ReportSpec("afterhours.afterhours", "kWh outside working hours; night base load",
                             "wattlog report afterhours --config site.toml --from 2026-10-01 --to 2026-11-01 "
                             "--working-hours 08:00-18:00 --holiday 2026-10-20"),
    "quality": ReportSpec("quality.quality", "voltage, unbalance, power factor, frequency",
                          "wattlog report quality --db sqlite:///data/wattlog.db --from 2026-10-01 --to 2026-11-01 "
                          "--format json"),
    "cost": ReportSpec("cost.cost_report", "estimated bill per location and component; what-if",
                       "wattlog report cost --config site.toml --from 2025-08-01 --to 2025-09-01 "
                       "--tariff my-tnb-mv-tou-2025 --what-if my-tnb-mv-general-2025", ("tariff", "what_if", "by")),
}
