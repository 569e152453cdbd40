"""The Grafana example: every panel's SQL runs on a real PostgreSQL holding simulated readings and gives
the known answers; the JSON matches the @grafana/schema 11.6 types (dashboard schemaVersion 41) field by
field; the provisioning files point at the uid the panels use."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import yaml
from analytics_synth import KL, local, series, write

from wattlog.store import Store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "grafana"
SCHEMA_CACHE = Path(os.environ.get("WATTLOG_GRAFANA_SCHEMA_CACHE", Path.home() / ".cache" / "wattlog-grafana-schema"))
SCHEMA_PACKAGE = {"private": True, "dependencies": {"@grafana/schema": "~11.6.0"}}
DAY = date(2026, 11, 10)


def _generator():
    spec = importlib.util.spec_from_file_location("grafana_generate", EXAMPLES / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_dashboard_equals_the_generated_one():
    gen = _generator()
    assert (EXAMPLES / "dashboards" / "wattlog.json").read_text(encoding="utf-8") == gen.render(), \
        "examples/grafana/dashboards/wattlog.json is stale: run python examples/grafana/generate.py"


def test_provisioning_points_at_the_dashboard_datasource():
    ds = yaml.safe_load((EXAMPLES / "provisioning" / "datasources" / "wattlog.yaml").read_text())
    boards = yaml.safe_load((EXAMPLES / "provisioning" / "dashboards" / "wattlog.yaml").read_text())
    dash = json.loads((EXAMPLES / "dashboards" / "wattlog.json").read_text())
    source = ds["datasources"][0]
    assert ds["apiVersion"] == 1 and boards["apiVersion"] == 1
    assert {p["datasource"]["uid"] for p in dash["panels"]} == {source["uid"]}
    assert {p["datasource"]["type"] for p in dash["panels"]} == {source["type"]} == {"grafana-postgresql-datasource"}
    assert "password" not in source.get("jsonData", {}) and source["secureJsonData"]["password"].startswith("$")
    assert boards["providers"][0]["type"] == "file" and boards["providers"][0]["options"]["path"]


# -- the schema, from the official @grafana/schema package ---------------------------------------------

def _schema_types() -> tuple[str, int]:
    """The dashboard types (.d.ts) and the schemaVersion of the package's default dashboard."""
    if not shutil.which("npm"):
        pytest.skip("npm is not installed: cannot fetch @grafana/schema to check the dashboard against")
    SCHEMA_CACHE.mkdir(parents=True, exist_ok=True)
    wanted = json.dumps(SCHEMA_PACKAGE)
    stamp = SCHEMA_CACHE / ".installed"
    path = SCHEMA_CACHE / "node_modules/@grafana/schema/dist/esm/raw/dashboard/x/dashboard_types.gen.d.ts"
    digest = hashlib.sha256(wanted.encode()).hexdigest()
    if not path.exists() or not stamp.exists() or stamp.read_text() != digest:
        (SCHEMA_CACHE / "package.json").write_text(wanted)
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=SCHEMA_CACHE, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        stamp.write_text(digest)
    default = re.search(r"schemaVersion: (\d+)", path.with_suffix("").with_suffix(".mjs").read_text())
    assert default, "no default schemaVersion in @grafana/schema"
    return path.read_text(), int(default.group(1))


def interfaces(ts: str) -> dict[str, dict[str, bool]]:
    """{interface: {field: required}} for the top level of every `export interface` in a .d.ts."""
    out: dict[str, dict[str, bool]] = {}
    for m in re.finditer(r"^export interface (\w+) \{\n(.*?)^\}", ts, re.S | re.M):
        fields, depth = {}, 0
        for line in m.group(2).splitlines():
            stripped = re.sub(r"/\*.*?\*/", "", line).strip()
            if depth == 0:
                f = re.match(r"^(\w+)(\?)?:", stripped)
                if f:
                    fields[f.group(1)] = f.group(2) is None
            depth += stripped.count("{") - stripped.count("}")
        out[m.group(1)] = fields
    return out


def union(ts: str, name: str) -> set[str]:
    m = re.search(rf"export type {name} = \(?([^;]*?)\)?;", ts, re.S)
    return set(re.findall(r"'([^']*)'", m.group(1))) if m else set()


def schema_problems(dash: dict, ts: str, version: int) -> list[str]:
    types, out = interfaces(ts), []

    def check(obj: dict, iface: str, where: str) -> None:
        fields = types[iface]
        out.extend(f"{where}.{k}: not in {iface}" for k in obj if k not in fields)
        out.extend(f"{where}.{k}: required by {iface}" for k, req in fields.items() if req and k not in obj)

    check(dash, "Dashboard", "dashboard")
    if dash["schemaVersion"] != version:
        out.append(f"schemaVersion {dash['schemaVersion']} is not the package's {version}")
    ids = [p["id"] for p in dash["panels"]]
    if len(set(ids)) != len(ids):
        out.append("panel ids repeat")
    for p in dash["panels"]:
        check(p, "Panel", f"panel {p['id']}")
        check(p["gridPos"], "GridPos", f"panel {p['id']}.gridPos")
        check(p["datasource"], "DataSourceRef", f"panel {p['id']}.datasource")
        check(p["fieldConfig"], "FieldConfigSource", f"panel {p['id']}.fieldConfig")
        check(p["fieldConfig"]["defaults"], "FieldConfig", f"panel {p['id']}.fieldConfig.defaults")
        g = p["gridPos"]
        if g["x"] + g["w"] > 24:
            out.append(f"panel {p['id']} is wider than the 24-column grid")
        for t in p["targets"]:
            if not t.get("refId") or not t.get("rawSql") or t.get("format") not in ("time_series", "table"):
                out.append(f"panel {p['id']}: a PostgreSQL target needs refId, rawSql and format")
    kinds = union(ts, "VariableType")
    for v in dash["templating"]["list"]:
        check(v, "VariableModel", f"variable {v['name']}")
        if v["type"] not in kinds:
            out.append(f"variable {v['name']}: type {v['type']!r} not in {sorted(kinds)}")
    check(dash["annotations"], "AnnotationContainer", "annotations")
    return out


def test_dashboard_matches_the_grafana_schema():
    ts, version = _schema_types()
    dash = json.loads((EXAMPLES / "dashboards" / "wattlog.json").read_text())
    assert interfaces(ts)["Panel"]["type"] is True and "gridPos" in interfaces(ts)["Panel"]  # the parser works
    assert schema_problems(dash, ts, version) == []
    # and it bites: mistakes Grafana's schema rejects
    bad = json.loads(json.dumps(dash))
    bad["panels"][0]["grid_pos"] = bad["panels"][0]["gridPos"]
    bad["panels"][0]["gridPos"] = {"x": 0, "y": 0, "w": 24}
    bad["templating"]["list"][2]["type"] = "text"
    bad["schemaVersion"] = 36
    found = schema_problems(bad, ts, version)
    assert any("grid_pos" in p for p in found) and any(".h: required" in p for p in found)
    assert any("variable timezone" in p for p in found) and any("schemaVersion" in p for p in found)


# -- every panel's SQL on PostgreSQL with simulated readings ---------------------------------------------

def expand(sql: str, start: datetime, end: datetime, variables: dict[str, str]) -> str:
    """Grafana's PostgreSQL macros and variables as Grafana expands them (multi-value: quoted list)."""
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)",
                 lambda m: f"{m.group(1)} BETWEEN '{start.strftime(fmt)}' AND '{end.strftime(fmt)}'", sql)
    for name, value in variables.items():
        sql = sql.replace("${" + name + "}", value).replace("$" + name, value)
    assert "$" not in sql, sql
    return sql


@pytest.fixture
def synthetic_store(pg_fresh):
    """Two local days: Office = office 2 kW always + lab 1 kW 09:00-17:00; Plant 5 kW, 8 kW 14:00-14:30 on day 1."""
    store = Store(pg_fresh, site="g", tz="Asia/Kuala_Lumpur", gap_seconds=60)
    store.migrate()
    for name, loc in (("office", "Office"), ("lab", "Office"), ("plant", "Plant")):
        store.ensure_meter(name, location=loc)
    start, end = local(DAY), local(DAY + timedelta(days=2)) - timedelta(seconds=1)  # two whole local days
    peak = (local(DAY, 14), local(DAY, 14, 30))
    write(store, series("office", start, end, lambda t: 2000.0, step=60))
    write(store, series("lab", start, end, lambda t: 1000.0 if 9 <= t.astimezone(KL).hour < 17 else 0.0, step=60))
    write(store, series("plant", start, end, lambda t: 8000.0 if peak[0] <= t < peak[1] else 5000.0, step=60))
    store.close()
    return pg_fresh


def _run(url: str, sql: str) -> tuple[list[str], list[tuple]]:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        cur = conn.execute(sql)
        return [c.name for c in cur.description], cur.fetchall()


def test_every_panel_query_on_postgresql(synthetic_store):
    dash = _generator().dashboard()
    start, end = local(DAY), local(DAY + timedelta(days=2)) - timedelta(seconds=1)  # two whole local days
    variables = {"site": "'g'", "location": "'Office','Plant'", "timezone": "Asia/Kuala_Lumpur"}
    results = {}
    for p in dash["panels"]:
        sql = expand(p["targets"][0]["rawSql"], _utc(start), _utc(end), variables)
        results[p["title"]] = _run(synthetic_store, sql)
        assert results[p["title"]][1], f"{p['title']}: no rows"

    # the template variables' own queries
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            cols, rows = _run(synthetic_store, expand(v["query"], _utc(start), _utc(end), variables))
            assert rows and len(cols) == 1
    assert [r[0] for r in _run(synthetic_store, expand(dash["templating"]["list"][1]["query"], _utc(start),
                                                       _utc(end), variables))[1]] == ["Office", "Plant"]

    cols, rows = results["Power per location"]
    assert cols == ["time", "metric", "power"]
    office = {t: w for t, loc, w in rows if loc == "Office"}
    assert office[_naive_utc(local(DAY, 10))] == pytest.approx(3000.0)  # office 2 kW + lab 1 kW at 10:00
    assert office[_naive_utc(local(DAY, 3))] == pytest.approx(2000.0)

    cols, rows = results["Energy by hour"]
    energy = {(t, loc): kwh for t, loc, kwh in rows}
    assert energy[(_naive_utc(local(DAY, 10)), "Office")] == pytest.approx(3.0)
    assert energy[(_naive_utc(local(DAY, 14)), "Plant")] == pytest.approx((29 * 8 + 6.5) / 60 + 30 * 5 / 60)
    total = sum(kwh or 0 for kwh in energy.values())  # NULL: an hour holding only the last reading

    cols, rows = results["Energy heatmap (day x hour of day)"]
    assert cols == ["time"] + [f"{h:02d}" for h in range(24)]
    assert [r[0].astimezone(KL).date() for r in rows] == [DAY, DAY + timedelta(days=1)]
    assert all(r[0].astimezone(KL).hour == 0 for r in rows)  # local midnight
    assert rows[1][1 + 10] == pytest.approx(3.0 + 5.0)  # 10:00-11:00 local: Office 3 kWh + Plant 5 kWh
    assert rows[1][1 + 3] == pytest.approx(2.0 + 5.0)
    assert sum(sum(r[1:]) for r in rows) == pytest.approx(total)

    cols, rows = results["Maximum demand (30-minute blocks)"]
    assert cols == ["Location", "Maximum demand", "Block start"]
    demand = {loc: (kw, block) for loc, kw, block in rows}
    assert demand["Plant"][0] == pytest.approx((29 * 8.0 + 6.5) / 30)  # the last minute ramps down to 5 kW
    assert demand["Plant"][1] == local(DAY, 14)
    assert demand["Office"][0] == pytest.approx(3.0) and demand["Office"][1] == local(DAY, 9)


def _utc(t: datetime) -> datetime:
    from datetime import timezone

    return t.astimezone(timezone.utc)


def _naive_utc(t: datetime) -> datetime:
    return _utc(t).replace(tzinfo=None)
