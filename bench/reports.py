#!/usr/bin/env python3
"""Reports benchmark (issue 4): every report over a month and over a year of readings for 32 meters,
from the rollups, against computing the same answer from raw readings; database size per meter-year.

    .venv/bin/python bench/reports.py            # full run: 32 meters x 2025 (about 15 minutes)
    .venv/bin/python bench/reports.py --quick    # 8 meters x January-February 2025 (about a minute)
    .venv/bin/python bench/reports.py --db /tmp/r.db   # keep the database; a second run reuses it

What is built (a synthesised site, Asia/Kuala_Lumpur, 31 sub-meters in 10 locations and a main meter):
  * RAW10 sub-meters with a reading every 10 s for the whole span (every RX380 quantity);
  * the other meters with a reading every 60 s (same profiles): 100 M rows of 10-s readings do not
    fit ~30 minutes on this 2-core machine. The rollup tables the reports read have the same rows
    whatever the reading interval (a bucket is a bucket), so report times are those of 32 meters.
Readings go in by one executemany of the store's own insert statement (rows.RowWriter's SQL);
rollups are made by wattlog itself, Store.rebuild_rollups() (15 min, hour, day with packed
quarters, month). Raw scans run on the RAW10 meters only and are scaled to 32 meters linearly
(a scan is linear in rows); the report over the same RAW10 meters is timed too, for a like-for-like
ratio, and its answer is checked against the raw scan's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from wattlog.analytics.calendar import dates, day_grid
from wattlog.analytics.frame import DAY_COLUMNS, Frame, _meter_day, load, no_gc
from wattlog.analytics.settings import ReportSettings
from wattlog.reports import afterhours, cost, demand, heatmap, profile, quality, ranking
from wattlog.reports.result import to_jsonable
from wattlog.store import Store
from wattlog.store.quarters import Quarters, pack
from wattlog.store.rows import RowWriter
from wattlog.tariffs.load import load_tariff
from wattlog.tariffs.model import Tariff

TZ = "Asia/Kuala_Lumpur"
ZONE = ZoneInfo(TZ)
HOLIDAYS = [date(2025, m, d) for m, d in ((1, 1), (1, 29), (1, 30), (3, 31), (4, 1), (5, 1), (5, 12), (6, 2),
                                          (6, 7), (6, 27), (8, 31), (9, 1), (9, 16), (10, 20), (12, 25))]
KINDS = ("office", "aircon", "workshop", "production", "server", "lighting")
LOCATIONS = ["admin", "sales", "workshop_a", "workshop_b", "line_1", "line_2", "warehouse", "canteen", "it", "yard"]
QUARTER_US = 900_000_000
GAP_S = 70  # the 60-second meters must integrate: a gap is longer than this
# name -> (the library call a user makes, its pure part over a Frame)
REPORTS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "ranking": (ranking.ranking, ranking.ranking_of), "heatmap": (heatmap.heatmap, heatmap.heatmap_of),
    "profile": (profile.profile, profile.profile_of), "demand": (demand.demand, demand.demand_of),
    "afterhours": (afterhours.afterhours, afterhours.afterhours_of), "quality": (quality.quality, quality.quality_of)}


def tariffs_for(start: date, end: date) -> tuple[Tariff, Tariff, str]:
    """The cost report's tariff and what-if tariff for [start, end): TNB MV ToU priced beside MV general
    (both with demand charges). Before July 2025 TNB's 2014 C2 and C1 were in force; no shipped file
    covers all of 2025, so for a span crossing 1 July 2025 the 2025 rates are back-dated to its start."""
    if end <= date(2025, 7, 1):
        return load_tariff("my-tnb-c2-2014"), load_tariff("my-tnb-c1-2014"), "my-tnb-c2-2014, what-if c1"
    base, alt = load_tariff("my-tnb-mv-tou-2025"), load_tariff("my-tnb-mv-general-2025")
    if start < date(2025, 7, 1):
        base, alt = (dataclasses.replace(t, versions=(dataclasses.replace(t.versions[0], effective_from=start),
                                                      *t.versions[1:])) for t in (base, alt))
        return base, alt, "my-tnb-mv-tou-2025, what-if mv-general (2025 rates back-dated to January)"
    return base, alt, "my-tnb-mv-tou-2025, what-if mv-general"


def span_reports(start: date, end: date) -> dict[str, tuple[Callable[..., Any], Callable[..., Any]]]:
    """REPORTS plus cost, whose tariffs depend on the span."""
    base, alt, _ = tariffs_for(start, end)
    return {**REPORTS, "cost": (partial(cost.cost_report, tariff=base, what_if=alt),
                                partial(cost.cost_of, base=base, alt=alt))}


def meter_plan(n: int) -> list[tuple[str, str, str, float]]:
    """(name, location, kind, kW) for n-1 sub-meters and the main meter."""
    subs = [(f"m{i + 1:02d}", LOCATIONS[i % len(LOCATIONS)], KINDS[i % len(KINDS)], 5.0 + (i * 7) % 40)
            for i in range(n - 1)]
    return [*subs, ("main", "incomer", "main", 0.0)]


def power_kw(kind: str, kw: float, sec: int, weekday: int, holiday: bool, i: int) -> float:
    """A plausible load for `kind` at local second-of-day `sec`, with deterministic noise."""
    h = sec / 3600
    work = weekday < 5 and not holiday
    noise = 1 + 0.05 * math.sin(i * 0.7 + kw) * math.sin(i * 0.013)
    if kind == "office":
        f = (0.5 if 12 <= h < 13 else 1.0) if work and 8 <= h < 18 else 0.15
    elif kind == "aircon":
        f = (0.6 + 0.4 * (int(sec // 1200) % 2)) if work and 7.5 <= h < 18.5 else 0.05
    elif kind == "workshop":
        f = (0.4 if 12 <= h < 13 else 0.9) if (weekday < 6 and not holiday) and 7 <= h < 17 else 0.08
    elif kind == "production":
        f = 0.85 if work and 6 <= h < 22 else 0.2
    elif kind == "server":
        f = 1.0
    else:  # lighting
        f = 1.0 if h >= 19 or h < 7 else 0.1
    return kw * f * noise


def generate(store: Store, plan: list[tuple[str, str, str, float]], raw10: set[str], start: date, end: date) -> int:
    """Insert the readings of every meter in the plan; returns rows inserted."""
    holidays = set(HOLIDAYS)
    writer: RowWriter | None = None
    total = 0
    subs = [p for p in plan if p[2] != "main"]
    for name, location, kind, kw in plan:
        meter_id = store.ensure_meter(name, "rx380", location)
        step = 10 if name in raw10 else 60
        e = s_e = q_e = 0.0
        pf = {"office": 0.92, "aircon": 0.86, "workshop": 0.8, "production": 0.88, "server": 0.97}.get(kind, 0.95)
        i = 0
        for d in dates(start, end):
            local0 = datetime.combine(d, datetime.min.time(), tzinfo=ZONE)
            utc0 = local0.astimezone(timezone.utc).replace(tzinfo=None)
            wd, hol = d.weekday(), d in holidays
            rows = []
            for sec in range(0, 86400, step):
                i += 1
                if kind == "main":
                    p = sum(power_kw(sk, skw, sec, wd, hol, i) for _, _, sk, skw in subs) * 1.03 + 2.0
                else:
                    p = power_kw(kind, kw, sec, wd, hol, i)
                s = p / pf
                q = math.sqrt(s * s - p * p)
                e += p * step / 3600
                s_e += s * step / 3600
                q_e += q * step / 3600
                sag = 12.0 if name == "m05" and d.day % 9 == 0 and 10 <= sec / 3600 < 11 else 0.0
                v = 230.0 + 2.0 * math.sin(i * 0.001)
                v1, v2, v3 = v, v - sag - 1.0, v + 0.5
                amps = p * 1000 / (3 * v * pf)
                ts = utc0 + timedelta(seconds=sec)
                rows.append((meter_id, _ts(ts),
                             v1 * 1.732, v2 * 1.732, v3 * 1.732, v1, v2, v3, amps, amps * 1.02, amps * 0.98,
                             amps * 0.05, p * 1000, s * 1000, q * 1000, pf, 50.0 + 0.03 * math.sin(i * 0.01),
                             float(int(e)), float(int(s_e)), float(int(q_e)), None, None))
            with store.engine.begin() as conn:
                if writer is None:
                    writer = RowWriter(conn.dialect, "sqlite")
                conn.exec_driver_sql(writer.sql, rows)
            total += len(rows)
    return total


def _ts(t: datetime) -> str:
    return t.isoformat(" ", "microseconds")


def table_sizes(store: Store) -> dict[str, int]:
    with store.engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return {r[0]: r[1] for r in conn.exec_driver_sql("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")}


# -- the raw-scan baseline: the 15-minute values every report needs, straight from readings --

RAW_SQL = ("SELECT ts, total_real_power, total_apparent_power, total_reactive_power, voltage_l1, voltage_l2, "
           "voltage_l3, voltage_l12, voltage_l23, voltage_l31, frequency, total_real_energy FROM readings "
           "WHERE meter_id = ? AND ts >= ? AND ts < ? ORDER BY ts")


def raw_frame(store: Store, meters: list[str], start: date, end: date, settings: ReportSettings) -> Frame:
    """A Frame computed from raw readings by one ordered scan per meter (no rollups)."""
    info = {m["name"]: m for m in store.meters()}
    grids = [day_grid(ZONE, d) for d in dates(start, end)]
    lo_utc = grids[0].start.astimezone(timezone.utc).replace(tzinfo=None)
    hi_utc = grids[-1].end.astimezone(timezone.utc).replace(tzinfo=None)
    gap = GAP_S
    out = {}
    extent = {}
    with store.engine.connect() as conn:
        for m in meters:
            buckets: dict[int, list[Any]] = {}
            prev = None
            first_q = None
            span = (hi_utc - lo_utc).total_seconds()
            cur = conn.exec_driver_sql(RAW_SQL, (info[m]["id"], _ts(lo_utc - timedelta(seconds=gap)),
                                                 _ts(hi_utc + timedelta(seconds=gap))))
            for ts, p, s, q, v1, v2, v3, v12, v23, v31, f, e in cur:
                t = (datetime.fromisoformat(ts) - lo_utc).total_seconds()
                if prev is not None:
                    t0, p0, s0, q0, e0 = prev
                    dt = t - t0
                    if 0 <= t0 < span:
                        b = _bucket(buckets, int(t0 // 900))
                        if dt <= gap:
                            b[0] += (p0 + p) / 2 * dt
                            b[1] += (s0 + s) / 2 * dt
                            b[2] += (q0 + q) / 2 * dt
                            b[3] += dt
                        else:
                            b[4] += dt
                    if 0 <= t < span and dt <= gap:
                        _bucket(buckets, int(t // 900))[5] += max(0.0, e - e0)
                prev = (t, p, s, q, e)
                if not 0 <= t < span:
                    continue
                k = int(t // 900)
                first_q = k if first_q is None else first_q
                b = _bucket(buckets, k)
                mean = (v1 + v2 + v3) / 3
                b[6] = min(b[6], v1, v2, v3)
                b[7] = max(b[7], v1, v2, v3)
                b[8] = min(b[8], v12, v23, v31)
                b[9] = max(b[9], v12, v23, v31)
                b[10] = max(b[10], max(abs(v1 - mean), abs(v2 - mean), abs(v3 - mean)) / mean * 100)
                b[11] = min(b[11], f)
                b[12] = max(b[12], f)
                b[13] += 1
            out[m], extent[m] = _days(m, info[m]["location"], grids, buckets, settings)
    return Frame(settings, start, end, {m: info[m]["location"] for m in meters}, out, extent)


def _bucket(buckets: dict[int, list[Any]], k: int) -> list[Any]:
    b = buckets.get(k)
    if b is None:
        b = buckets[k] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, math.inf, -math.inf, math.inf, -math.inf, 0.0, math.inf,
                          -math.inf, 0]
    return b


def _days(meter: str, location: str, grids: list[Any], buckets: dict[int, list[Any]],
          settings: ReportSettings) -> tuple[list[Any], tuple[datetime, datetime]]:
    keys = sorted(buckets)
    first = grids[0].start + timedelta(minutes=15 * keys[0])
    last = grids[0].start + timedelta(minutes=15 * (max(k for k in keys if buckets[k][3] > 0) + 1))
    out = []
    base = 0
    for g in grids:
        rows = []
        for i in range(g.n):
            b = buckets.get(base + i)
            if b is None:
                continue
            rows.append({"_us": i * QUARTER_US, "energy_kwh": b[0] / 3.6e6 if b[3] else None,
                         "apparent_kvah": b[1] / 3.6e6 if b[3] else None, "reactive_kvarh": b[2] / 3.6e6 if b[3] else None,
                         "covered_s": b[3], "gap_s": b[4], "counter_kwh": b[5], "voltage_min": b[6], "voltage_max": b[7],
                         "voltage_ll_min": b[8], "voltage_ll_max": b[9], "unbalance_max": b[10], "freq_min": b[11],
                         "freq_max": b[12], "samples": b[13]})
        base += g.n
        if not rows:
            continue
        day: dict[str, Any] = {c: None for c in DAY_COLUMNS}
        for c in ("samples", "covered_s", "gap_s", "energy_kwh", "reactive_kvarh", "apparent_kvah", "counter_kwh"):
            vals = [r[c] for r in rows if r[c] is not None]
            day[c] = sum(vals) if vals else None
        for c, pick in (("voltage_min", min), ("voltage_ll_min", min), ("freq_min", min), ("voltage_max", max),
                        ("voltage_ll_max", max), ("unbalance_max", max), ("freq_max", max)):
            day[c] = pick(r[c] for r in rows)
        day["quarters"] = Quarters(pack(rows, 0, g.n * QUARTER_US))
        out.append(_meter_day(meter, location, g, day, first, last, settings))
    return out, (first, last)


# -- measuring ------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of `repeat` runs (warm: the first run fills the page cache too), and the result."""
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def same(a: Any, b: Any, path: str = "") -> str:
    """'' when two JSON-ready answers agree (floats to 1e-6 relative), else where they differ."""
    if isinstance(a, float) and isinstance(b, float):
        return "" if math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6) else f"{path}: {a} != {b}"
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{path}: keys differ"
        return next((d for k in a if (d := same(a[k], b[k], f"{path}.{k}"))), "")
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} != {len(b)} items"
        return next((d for i, (x, y) in enumerate(zip(a, b)) if (d := same(x, y, f"{path}[{i}]"))), "")
    return "" if a == b else f"{path}: {a!r} != {b!r}"


def build(path: Path, n_meters: int, n_raw10: int, start: date, end: date) -> dict[str, Any]:
    meta_path = Path(str(path) + ".json")
    want = {"meters": n_meters, "raw10": n_raw10, "start": start.isoformat(), "end": end.isoformat()}
    if path.exists() and meta_path.exists() and json.loads(meta_path.read_text())["params"] == want:
        print(f"reusing {path}")
        return json.loads(meta_path.read_text())
    for p in (path, Path(str(path) + "-wal"), Path(str(path) + "-shm"), meta_path):
        p.unlink(missing_ok=True)
    plan = meter_plan(n_meters)
    raw10 = {p[0] for p in plan[:n_raw10]}
    store = Store(f"sqlite:///{path}", site="bench", tz=TZ, gap_seconds=GAP_S)
    store.migrate()
    meta: dict[str, Any] = {"params": want, "raw10": sorted(raw10)}
    t = time.perf_counter()
    meta["rows_raw10"] = generate(store, [p for p in plan if p[0] in raw10], raw10, start, end)
    meta["t_generate_raw10"] = time.perf_counter() - t
    meta["size_raw10"] = table_sizes(store)
    t = time.perf_counter()
    meta["rows_rest"] = generate(store, [p for p in plan if p[0] not in raw10], raw10, start, end)
    meta["t_generate_rest"] = time.perf_counter() - t
    t = time.perf_counter()
    store.rebuild_rollups()
    meta["t_rebuild"] = time.perf_counter() - t
    meta["size_all"] = table_sizes(store)
    meta["file_bytes"] = path.stat().st_size
    store.close()
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


def incremental_cycle(path: Path, n_meters: int, cycles: int) -> float:
    """Median seconds of one Store.write of a 10-s reading from each of n meters, every rollup kept
    current (15 min, hour, day with its packed quarters, month). In the benchmark's database file,
    under a new site name, so the measured data stay untouched; after a day of readings."""
    from wattlog.reading import Reading

    store = Store(f"sqlite:///{path}", site=f"incremental-{time.time_ns()}", tz=TZ, gap_seconds=GAP_S)  # fresh: real inserts
    names = [f"w{i:02d}" for i in range(n_meters)]
    t0 = datetime(2025, 6, 1, tzinfo=timezone.utc)

    def batch(t: datetime) -> list[Reading]:
        return [Reading(n, t, "rx380", {"total_real_power": 5000.0, "total_real_energy": 1e6, "voltage_l1": 230.0,
                                         "voltage_l2": 230.0, "voltage_l3": 230.0, "frequency": 50.0})
                for n in names]

    history = [r for k in range(0, 86400, 60) for r in batch(t0 + timedelta(seconds=k))]
    store.write(history)
    times = []
    for c in range(cycles):
        t = time.perf_counter()
        store.write(batch(t0 + timedelta(days=1, seconds=10 * c)))
        times.append(time.perf_counter() - t)
    store.close()
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 meters, January-February, 2 meters at 10 s")
    ap.add_argument("--db", type=Path, help="database file to build or reuse (default: a temporary one)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per report timing (median)")
    args = ap.parse_args()
    n_meters, n_raw10, start, end = (8, 2, date(2025, 1, 1), date(2025, 3, 1)) if args.quick else \
        (32, 4, date(2025, 1, 1), date(2026, 1, 1))
    month = (date(2025, 2, 1), date(2025, 3, 1)) if args.quick else (date(2025, 7, 1), date(2025, 8, 1))
    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory(prefix="wattlog-bench-")
        args.db = Path(tmp.name) / "reports.db"
    print(f"# reports benchmark {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}, "
          f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs; SQLite {__import__('sqlite3').sqlite_version}")
    meta = build(args.db, n_meters, n_raw10, start, end)
    years = (end - start).days / 365
    raw_rows = meta["rows_raw10"] / n_raw10 / years
    sizes = meta["size_all"]
    raw_bytes = meta["size_raw10"]["readings"] + meta["size_raw10"].get("sqlite_autoindex_readings_1", 0)
    roll = {k: v for k, v in sizes.items() if k.startswith("rollup_") or k.startswith("sqlite_autoindex_rollup")}
    print(f"built: {n_meters} meters, {start} to {end}; {meta['rows_raw10']:,} readings at 10 s ({n_raw10} meters) in "
          f"{meta['t_generate_raw10']:.0f} s, {meta['rows_rest']:,} at 60 s in {meta['t_generate_rest']:.0f} s; "
          f"rebuild_rollups {meta['t_rebuild']:.0f} s; file {meta['file_bytes'] / 1e9:.2f} GB")
    print(f"size per meter-year: raw readings at 10 s {raw_bytes / n_raw10 / years / 1e6:.0f} MB "
          f"({raw_rows:,.0f} rows, {raw_bytes / meta['rows_raw10']:.0f} B/row incl. key index); rollups "
          f"{sum(roll.values()) / n_meters / years / 1e6:.2f} MB (" + ", ".join(
              f"{k} {v / n_meters / years / 1e6:.2f}" for k, v in sorted(roll.items()) if v > 4096 * n_meters) + ")")
    settings = ReportSettings(timezone=TZ, main_meter="main", holidays=frozenset(HOLIDAYS))
    store = Store(f"sqlite:///{args.db}", site="bench", tz=TZ, gap_seconds=GAP_S)
    raw10 = meta["raw10"]
    scale = n_meters / n_raw10
    rows_out = []
    failures = []
    spans = ((f"month {month[0]:%Y-%m}", month), (f"{(end - start).days} days" if args.quick else f"year {start:%Y}",
                                                     (start, end)))
    for label, (a, b) in spans:
        with no_gc():  # as the reports themselves run
            t_raw, raw = timed(lambda: raw_frame(store, raw10, a, b, settings), 1)
        print(f"  cost tariffs over the {label}: {tariffs_for(a, b)[2]}")
        for name, (public, pure) in span_reports(a, b).items():
            t_all, _ = timed(lambda: public(store, a, b, settings), args.repeat)
            with no_gc():
                t_sub, mine = timed(lambda: pure(load(store, a, b, settings, raw10)), args.repeat)
                t_pure, theirs = timed(lambda: pure(raw), 1)
            diff = same(to_jsonable(mine), to_jsonable(theirs))
            if diff:
                failures.append(f"{name} over the {label}: rollups and raw scan differ at {diff}")
            base_sub = t_raw + t_pure
            rows_out.append((name, label, t_all, t_sub, base_sub, base_sub * scale, not diff))
            print(f"  {name:<10} {label:<13} report {t_all:6.3f} s ({n_meters} m)  {t_sub:6.3f} s ({n_raw10} m)  raw scan "
                  f"{base_sub:7.1f} s ({n_raw10} m) -> {base_sub * scale:7.1f} s ({n_meters} m, x{scale:g})  "
                  f"ratio {base_sub * scale / t_all:7.0f}x  same answer: {'yes' if not diff else 'NO'}", flush=True)
    store.close()
    t_cycle = incremental_cycle(args.db, n_meters, 30)
    print()
    print(f"| report | span | report, {n_meters} meters | report, {n_raw10} raw meters | raw scan, {n_raw10} meters "
          f"(measured) | raw scan, {n_meters} meters (×{scale:g}) | raw ÷ report | same answer |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for name, label, t_all, t_sub, base, base_all, ok in rows_out:
        print(f"| {name} | {label} | {t_all:.3f} s | {t_sub:.3f} s | {base:.1f} s | {base_all:.0f} s | "
              f"{base_all / t_all:,.0f}× | {'yes' if ok else 'NO'} |")
    worst = max(r[2] for r in rows_out)
    print(f"\nslowest report over {n_meters} meters: {worst:.3f} s (goal ≤ 1 s: {'met' if worst <= 1 else 'NOT met'}); "
          f"one 10-s write of {n_meters} readings with every rollup kept current: {t_cycle * 1000:.1f} ms")
    for f in failures:
        print("FAIL:", f)
    if tmp:
        tmp.cleanup()
    return 0 if worst <= 1 and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
