"""Generate the Grafana dashboard for wattlog's PostgreSQL store (examples/grafana/dashboards/wattlog.json).

    python examples/grafana/generate.py            # rewrite the dashboard
    python examples/grafana/generate.py --check    # exit 1 if the committed one is stale

Panels, all over the rollup tables (never raw readings, so a year stays fast): power per location
(15-minute averages), energy by hour per location, a day x hour-of-day heatmap of energy, and each
location's maximum demand (the highest average kW over a 30-minute block aligned to the clock, as
the tariffs bill it). Times in the store are naive UTC; the heatmap converts to the site's time
zone (the `timezone` variable). Targets Grafana 11 (dashboard schemaVersion 41) with the core
PostgreSQL data source (type grafana-postgresql-datasource, uid wattlog-pg in provisioning/).
tests/test_grafana.py runs every panel's SQL against PostgreSQL and checks the JSON against the
@grafana/schema types.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "dashboards" / "wattlog.json"
SCHEMA_VERSION = 41
DS = {"type": "grafana-postgresql-datasource", "uid": "wattlog-pg"}
LOC = "coalesce(m.location, m.name)"  # a meter without a location is its own
FILTER = f"m.site IN ($site) AND {LOC} IN ($location)"
LOCAL = "((r.start AT TIME ZONE 'UTC') AT TIME ZONE '${timezone}')"  # naive UTC -> naive local time

POWER_SQL = f"""SELECT r.start AS "time", {LOC} AS metric, sum(r.power_avg) AS "power"
FROM rollup_15m r JOIN meters m ON m.id = r.meter_id
WHERE $__timeFilter(r.start) AND {FILTER}
GROUP BY 1, 2
ORDER BY 1, 2"""

ENERGY_SQL = f"""SELECT r.start AS "time", {LOC} AS metric, sum(r.energy_kwh) AS "energy"
FROM rollup_1h r JOIN meters m ON m.id = r.meter_id
WHERE $__timeFilter(r.start) AND {FILTER}
GROUP BY 1, 2
ORDER BY 1, 2"""

HOURS = ",\n".join(f"  coalesce(sum(r.energy_kwh) FILTER (WHERE extract(hour FROM {LOCAL}) = {h}), 0) AS \"{h:02d}\""
                   for h in range(24))
HEATMAP_SQL = f"""SELECT date_trunc('day', {LOCAL}) AT TIME ZONE '${{timezone}}' AS "time",
{HOURS}
FROM rollup_1h r JOIN meters m ON m.id = r.meter_id
WHERE $__timeFilter(r.start) AND {FILTER}
GROUP BY 1
ORDER BY 1"""

# 30-minute blocks aligned to the clock (in UTC, which is the local clock for whole- and half-hour
# offsets); a location's demand is the sum of its meters' energy in the block, times two for kW.
DEMAND_SQL = f"""WITH blocks AS (
  SELECT {LOC} AS location,
         to_timestamp(floor(extract(epoch FROM r.start AT TIME ZONE 'UTC') / 1800) * 1800) AS block,
         sum(r.energy_kwh) * 2 AS kw
  FROM rollup_15m r JOIN meters m ON m.id = r.meter_id
  WHERE $__timeFilter(r.start) AND {FILTER}
  GROUP BY 1, 2
)
SELECT DISTINCT ON (location) location AS "Location", kw AS "Maximum demand", block AS "Block start"
FROM blocks
ORDER BY location, kw DESC, block"""


def _target(sql: str, fmt: str) -> dict[str, Any]:
    return {"refId": "A", "datasource": DS, "editorMode": "code", "format": fmt, "rawQuery": True, "rawSql": sql}


def _panel(pid: int, title: str, kind: str, sql: str, fmt: str, grid: tuple[int, int, int, int], unit: str,
           options: dict[str, Any], custom: dict[str, Any] | None = None, description: str = "") -> dict[str, Any]:
    x, y, w, h = grid
    return {"id": pid, "type": kind, "title": title, "description": description, "datasource": DS,
            "gridPos": {"x": x, "y": y, "w": w, "h": h},
            "fieldConfig": {"defaults": {"unit": unit, "custom": custom or {}}, "overrides": []},
            "options": options, "targets": [_target(sql, fmt)]}


def dashboard() -> dict[str, Any]:
    legend = {"displayMode": "list", "placement": "bottom", "showLegend": True}
    panels = [
        _panel(1, "Power per location", "timeseries", POWER_SQL, "time_series", (0, 0, 24, 9), "watt",
               {"legend": legend, "tooltip": {"mode": "multi", "sort": "desc"}},
               {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "stacking": {"mode": "normal", "group": "A"}},
               "15-minute average real power of each location's meters (rollup_15m.power_avg)."),
        _panel(2, "Energy by hour", "timeseries", ENERGY_SQL, "time_series", (0, 9, 24, 9), "kwatth",
               {"legend": legend, "tooltip": {"mode": "multi", "sort": "desc"}},
               {"drawStyle": "bars", "fillOpacity": 80, "stacking": {"mode": "normal", "group": "A"}},
               "kWh per site-local hour (rollup_1h.energy_kwh), stacked by location."),
        _panel(3, "Energy heatmap (day x hour of day)", "heatmap", HEATMAP_SQL, "time_series", (0, 18, 16, 10),
               "kwatth", {"calculate": False, "yAxis": {"axisPlacement": "left", "unit": "short"},
                          "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64},
                          "cellGap": 1, "tooltip": {"mode": "single", "yHistogram": False},
                          "legend": {"show": True}, "rowsFrame": {"layout": "auto"}},
               description="kWh in each local hour (rows 00-23) of each day, the selected locations together."),
        _panel(4, "Maximum demand (30-minute blocks)", "table", DEMAND_SQL, "table", (16, 18, 8, 10), "kwatt",
               {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["max"]}},
               description="Each location's highest average kW over a 30-minute block aligned to the clock, "
                           "and when that block started."),
    ]
    panels[3]["fieldConfig"]["overrides"] = [
        {"matcher": {"id": "byName", "options": "Block start"}, "properties": [{"id": "unit", "value": "dateTimeAsIso"}]},
        {"matcher": {"id": "byName", "options": "Location"}, "properties": [{"id": "unit", "value": "string"}]},
    ]

    def query_var(name: str, label: str, sql: str) -> dict[str, Any]:
        return {"name": name, "label": label, "type": "query", "datasource": DS, "query": sql, "refresh": 1,
                "multi": True, "includeAll": True, "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
                "sort": 1, "hide": 0, "options": []}

    return {
        "uid": "wattlog-energy",
        "title": "wattlog: energy by location",
        "description": "wattlog's PostgreSQL store: power, energy by hour, heatmap and maximum demand per location.",
        "tags": ["wattlog", "energy"],
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": "now-7d", "to": "now"},
        "timezone": "browser",
        "refresh": "1m",
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "links": [],
        "annotations": {"list": []},
        "templating": {"list": [
            query_var("site", "Site", "SELECT DISTINCT site FROM meters ORDER BY 1"),
            query_var("location", "Location",
                      "SELECT DISTINCT coalesce(location, name) FROM meters WHERE site IN ($site) ORDER BY 1"),
            {"name": "timezone", "label": "Site time zone", "type": "textbox", "query": "Asia/Kuala_Lumpur",
             "current": {"selected": False, "text": "Asia/Kuala_Lumpur", "value": "Asia/Kuala_Lumpur"},
             "hide": 0, "options": [{"selected": True, "text": "Asia/Kuala_Lumpur", "value": "Asia/Kuala_Lumpur"}]},
        ]},
        "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the committed dashboard is stale")
    args = ap.parse_args(argv)
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != render():
            print("stale: run python examples/grafana/generate.py", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
