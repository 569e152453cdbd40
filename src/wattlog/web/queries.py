"""Read-only queries the API needs beyond the Store's: the latest reading per meter, history at a
resolution chosen for the span (raw, 1 min, or a rollup table), and gaps. Primary-key lookups only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..quantities import QUANTITIES
from ..store.buckets import aware, from_us, naive_utc, to_us
from ..store.schema import ROLLUPS, meters, readings, rollup_15m
from ..store.translate import translate

RESOLUTIONS = ("raw", "1m", "15m", "1h", "1d")
STEP = {"1m": 60, "15m": 900, "1h": 3600, "1d": 86400}  # nominal seconds (local days vary with DST)
# The longest span each resolution may cover: a year never returns millions of points.
MAX_SPAN = {"raw": timedelta(days=2), "1m": timedelta(days=14), "15m": timedelta(days=400),
            "1h": timedelta(days=1200), "1d": timedelta(days=36600)}
AUTO = [(timedelta(hours=6), "raw"), (timedelta(days=2), "1m"), (timedelta(days=21), "15m"),
        (timedelta(days=120), "1h")]

PHASE_V = ("voltage_l1", "voltage_l2", "voltage_l3")
PHASE_A = ("current_l1", "current_l2", "current_l3")


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


# Each series: its unit, how a raw reading gives one value, and which rollup columns give avg/min/max.
SERIES: dict[str, dict[str, Any]] = {
    "power": {"unit": "kW", "label": "real power", "scale": 0.001,
              "raw": lambda r: r["total_real_power"],
              "rollup": {"avg": "power_avg", "min": "power_min", "max": "power_max"}},
    "voltage": {"unit": "V", "label": "phase voltage (mean of L1-L3)", "scale": 1.0,
                "raw": lambda r: _mean([r[k] for k in PHASE_V if r[k] is not None]),
                "rollup": {"avg": "voltage_avg", "min": "voltage_min", "max": "voltage_max"}},
    "current": {"unit": "A", "label": "highest phase current", "scale": 1.0,
                "raw": lambda r: max((r[k] for k in PHASE_A if r[k] is not None), default=None),
                "rollup": {"max": "current_max"}},
    "pf": {"unit": "", "label": "power factor", "scale": 1.0,
           "raw": lambda r: None if r["total_power_factor"] is None else abs(r["total_power_factor"]),
           "rollup": {"avg": "pf_avg", "min": "pf_min"}},
    "frequency": {"unit": "Hz", "label": "frequency", "scale": 1.0,
                  "raw": lambda r: r["frequency"],
                  "rollup": {"min": "freq_min", "max": "freq_max"}},
    "energy": {"unit": "kWh", "label": "energy per interval", "scale": 1.0, "raw": None,
               "rollup": {"sum": "energy_kwh"}},
}


@contextmanager
def connect(store: Any) -> Iterator[Any]:
    """A read connection; database errors leave as the store's StoreError (one line, with the fix)."""
    try:
        with store.engine.connect() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise translate(exc, store.url) from exc


def choose_resolution(span: timedelta, series: str) -> str:
    for limit, res in AUTO:
        if span <= limit:
            return "15m" if series == "energy" and res in ("raw", "1m") else res
    return "1d"


def meter_id(conn: Any, site: str, name: str) -> int | None:
    return conn.execute(select(meters.c.id).where(meters.c.site == site, meters.c.name == name)).scalar()


def latest(store: Any, names: list[str]) -> dict[str, dict[str, Any]]:
    """The newest stored reading of each meter: {"timestamp" (aware UTC), values, flags}."""
    out: dict[str, dict[str, Any]] = {}
    cols = [readings.c[q] for q in QUANTITIES]
    with connect(store) as conn:
        ids = {r.name: r.id for r in conn.execute(select(meters.c.id, meters.c.name).where(meters.c.site == store.site))}
        for name in names:
            if name not in ids:
                continue
            row = conn.execute(select(readings.c.ts, readings.c.flags, *cols).where(readings.c.meter_id == ids[name])
                               .order_by(readings.c.ts.desc()).limit(1)).first()
            if row is None:
                continue
            m = row._mapping
            out[name] = {"timestamp": aware(row.ts), "values": {q: m[q] for q in QUANTITIES if m[q] is not None},
                         "flags": row.flags}
    return out


def history(store: Any, meter: str, series: str, start: datetime, end: datetime, resolution: str) -> dict[str, Any]:
    """Columnar points of one series: {"t": [naive-UTC datetimes], "naive": True, "avg"/"min"/"max"/"sum": [...]}. A None
    row marks a gap (a missing bucket, or raw readings further apart than the store's gap)."""
    spec = SERIES[series]
    lo, hi = naive_utc(start), naive_utc(end)
    with connect(store) as conn:
        mid = meter_id(conn, store.site, meter)
        if mid is None:
            return {"t": []}
        if resolution in ("raw", "1m"):
            return _raw(conn, store, mid, spec, lo, hi, resolution)
        return _rollup(conn, store, mid, spec, lo, hi, resolution)


def _raw(conn: Any, store: Any, mid: int, spec: dict[str, Any], lo: datetime, hi: datetime,
         resolution: str) -> dict[str, Any]:
    wanted = sorted({"total_real_power", "total_power_factor", "frequency", *PHASE_V, *PHASE_A})
    query = (select(readings.c.ts, *(readings.c[c] for c in wanted))
             .where(readings.c.meter_id == mid, readings.c.ts >= lo, readings.c.ts < hi).order_by(readings.c.ts))
    get, scale = spec["raw"], spec["scale"]
    gap = store.rules.gap / 1e6
    t: list[datetime] = []
    v: list[float | None] = []
    if resolution == "raw":
        prev: datetime | None = None
        for row in conn.execute(query):
            if prev is not None and (row.ts - prev).total_seconds() > gap:
                t.append(prev + timedelta(seconds=gap))  # a null point: the line breaks here
                v.append(None)
            value = get(row._mapping)
            t.append(row.ts)
            v.append(None if value is None else round(value * scale, 6))
            prev = row.ts
        return {"t": t, "avg": v, "naive": True}
    # 1 minute: avg / min / max of the raw values in each minute, every minute of the span present
    buckets: dict[datetime, list[float]] = {}
    for row in conn.execute(query):
        value = get(row._mapping)
        if value is not None:
            buckets.setdefault(row.ts.replace(second=0, microsecond=0), []).append(value * scale)
    if not buckets:
        return {"t": []}
    first, last = min(buckets), max(buckets)
    out: dict[str, Any] = {"t": [], "avg": [], "min": [], "max": [], "naive": True}
    m = first
    while m <= last:
        vals = buckets.get(m)
        out["t"].append(m)
        out["avg"].append(sum(vals) / len(vals) if vals else None)
        out["min"].append(min(vals) if vals else None)
        out["max"].append(max(vals) if vals else None)
        m += timedelta(minutes=1)
    return out


def _rollup(conn: Any, store: Any, mid: int, spec: dict[str, Any], lo: datetime, hi: datetime,
            period: str) -> dict[str, Any]:
    table = ROLLUPS[period]
    keys = list(spec["rollup"])
    query = (select(table.c.start, table.c.covered_s, table.c.samples, *(table.c[spec["rollup"][k]] for k in keys))
             .where(table.c.meter_id == mid, table.c.start >= lo, table.c.start < hi).order_by(table.c.start))
    scale = spec["scale"] if "sum" not in keys else 1.0
    t: list[datetime] = []
    cols: list[list[float | None]] = [[] for _ in keys]
    step = timedelta(seconds=STEP[period]) if period in ("15m", "1h") else None
    expected: datetime | None = None
    for row in conn.execute(query).all():  # plain tuples: a year of hours is 8,760 rows
        start = row[0]
        if expected is not None and start > expected:  # a missing bucket: break the line
            t.append(expected)
            for c in cols:
                c.append(None)
        t.append(start)
        empty = not row[2] and not row[1]
        for i, c in enumerate(cols):
            value = row[3 + i]
            c.append(None if value is None or empty else round(value * scale, 6))
        expected = start + step if step is not None else _end(store, period, start)
    return {"t": t, **dict(zip(keys, cols)), "naive": True}


def _end(store: Any, period: str, start: datetime) -> datetime:
    if period in ("15m", "1h"):
        return start + timedelta(seconds=STEP[period])
    s = to_us(start)
    return from_us(store.rules.buckets.span(period, s, s + 1)[1])


def gaps(store: Any, start: datetime, end: datetime, min_seconds: float = 60.0) -> list[dict[str, Any]]:
    """Stretches without data per meter in [start, end): from the 15-minute rollups' gap seconds,
    consecutive gapped quarters merged. {"meter", "start", "end" (aware UTC), "seconds"}."""
    lo, hi = naive_utc(start), naive_utc(end)
    out: list[dict[str, Any]] = []
    with connect(store) as conn:
        ids = {r.id: r.name for r in conn.execute(select(meters.c.id, meters.c.name).where(meters.c.site == store.site))}
        for mid, name in sorted(ids.items(), key=lambda kv: kv[1]):
            query = (select(rollup_15m.c.start, rollup_15m.c.gap_s)
                     .where(rollup_15m.c.meter_id == mid, rollup_15m.c.start >= lo, rollup_15m.c.start < hi,
                            rollup_15m.c.gap_s > 0).order_by(rollup_15m.c.start))
            run: dict[str, Any] | None = None
            for row in conn.execute(query):
                if run is not None and row.start <= run["end"]:
                    run["end"] = row.start + timedelta(minutes=15)
                    run["seconds"] += row.gap_s
                    continue
                if run is not None and run["seconds"] >= min_seconds:
                    out.append(run)
                run = {"meter": name, "start": row.start, "end": row.start + timedelta(minutes=15), "seconds": row.gap_s}
            if run is not None and run["seconds"] >= min_seconds:
                out.append(run)
    for g in out:
        g["start"], g["end"] = aware(g["start"]), aware(g["end"])
    return sorted(out, key=lambda g: g["start"], reverse=True)


def iso_local(times: list[datetime], tz: Any, naive: bool) -> list[str]:
    """ISO 8601 with the site's offset, to the second; `naive`: the times are naive UTC. The offset is
    looked up once per UTC hour (every zone's offset changes on a quarter hour at most)."""
    out: list[str] = []
    offsets: dict[datetime, timedelta] = {}
    for ts in times:
        utc = ts if naive else ts.astimezone(timezone.utc).replace(tzinfo=None)
        key = utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)
        off = offsets.get(key)
        if off is None:
            off = offsets[key] = key.replace(tzinfo=timezone.utc).astimezone(tz).utcoffset()
        local = (utc + off).replace(microsecond=0)
        minutes = int(off.total_seconds()) // 60
        sign = "+" if minutes >= 0 else "-"
        out.append(f"{local.isoformat()}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")
    return out


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def floor15(ts: datetime) -> datetime:
    """The UTC quarter hour holding `ts` (aware): requests within one quarter share a cache entry."""
    utc = ts.astimezone(timezone.utc)
    return utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)


class TtlCache:
    """A small least-recently-used cache whose entries go stale after `ttl` seconds. A stale entry is
    still served while one background thread recomputes it (at most `ttl` + one computation old), so a
    phone never waits on a year of rollups that another request is already reading."""

    def __init__(self, size: int = 64) -> None:
        import threading
        from collections import OrderedDict

        self.size = size
        self._items: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._busy: set[Any] = set()

    def get(self, key: Any, ttl: float, make: Any) -> Any:
        import threading
        import time

        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                if hit[0] <= time.monotonic() and key not in self._busy:
                    self._busy.add(key)
                    threading.Thread(target=self._refresh, args=(key, ttl, make), daemon=True).start()
                return hit[1]
        value = make()  # first request for this key: computed here
        self._put(key, ttl, value)
        return value

    def _refresh(self, key: Any, ttl: float, make: Any) -> None:
        try:
            self._put(key, ttl, make())
        except Exception:  # noqa: BLE001 — the stale entry stays; the next request tries again
            pass
        finally:
            with self._lock:
                self._busy.discard(key)

    def _put(self, key: Any, ttl: float, value: Any) -> None:
        import time

        with self._lock:
            self._items[key] = (time.monotonic() + ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
