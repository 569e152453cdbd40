"""The Store: raw readings and rollups in one SQLAlchemy database, written idempotently."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StoreError
from ..quantities import QUANTITIES
from ..reading import Reading
from . import facts
from . import migrate as schema_version
from . import statements as st
from .buckets import QUARTER, LocalBuckets, aware, floor15, from_us, naive_utc, to_us
from .engine import TIMEOUT, check_driver, make_engine, normalise
from .quarters import Quarters, pack
from .refresh import (
    HORIZON,
    Rules,
    affected,
    clusters,
    merge,
    recompute_coarse,
    refresh,
    refresh_many,
)
from .rows import RowWriter
from .schema import ROLLUP_COLUMNS, ROLLUP_TIMES, ROLLUPS, meters, rollup_1d, rollup_15m
from .translate import translate

Touched = dict[int, list[tuple[int, int]]]  # meter id -> runs (first, last) of new readings' times (us)
REBUILD_SLICE = 7 * 86_400 * 1_000_000  # a long rebuild commits week by week: the logger keeps writing


class Store:
    """Readings of one site's meters, with 15-minute, hourly, daily and monthly rollups kept current."""

    def __init__(self, url: str, *, site: str = "wattlog", tz: str = "Asia/Kuala_Lumpur",
                 gap_seconds: float = 60.0, timeout: float = TIMEOUT) -> None:
        self.url = normalise(url)
        self.shown = self.url.render_as_string(hide_password=True)
        problem = check_driver(self.url)
        if problem:
            raise StoreError(problem[0], url=self.shown, fix=problem[1])
        try:
            self.tz = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise StoreError(f"unknown time zone {tz!r}", fix='use an IANA name like "Asia/Kuala_Lumpur"') from None
        if not 0 < gap_seconds < HORIZON / 1e6:
            raise ValueError(f"gap_seconds must be between 0 and a day, not {gap_seconds}")
        self.site = site
        self.rules = Rules(gap=round(gap_seconds * 1e6), buckets=LocalBuckets(tz))
        self.dialect = self.url.get_backend_name()
        self._insert_dialect = self.dialect  # tests set "mssql" to run the portable insert path here
        self._writer: RowWriter | None = None
        self.engine = make_engine(self.url, timeout)

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[Connection]:
        """One transaction; every database error leaves as a StoreError, after a full rollback."""
        try:
            with self.engine.connect() as conn:
                if write and self.dialect == "sqlite":
                    conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            raise translate(exc, self.url) from exc

    def _meters(self, conn: Connection) -> dict[str, Any]:
        return {row.name: row for row in conn.execute(st.meters_of(), {"site": self.site})}

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema and meters ---------------------------------------------------------------------

    def migrate(self) -> None:
        """Create or upgrade the schema; a database newer than this code raises StoreError.

        Day rows written before revision 0002 get their packed quarters, and their months, from
        rollup_15m here (idempotent: an interrupted fill is finished by the next call). Rollups
        that deferred writes left pending (a crash while catching up) are recomputed too.
        """
        with self._tx(write=True) as conn:
            schema_version.upgrade(conn)
            facts.record(conn, self.site, self.tz.key)  # a new site: its zone is kept with its data
            todo = [(r[0], to_us(r[1])) for r in conn.execute(st.unpacked_days())]
            # to each meter's newest day (left unpacked on purpose), so its month is filled too
            newest = {m: to_us(t) for m, t in conn.execute(st.newest_days(), {"ms": [t[0] for t in todo]})}
        for meter_id, first in todo:
            end = self.rules.buckets.span("1d", newest[meter_id], newest[meter_id] + 1)[1]
            for a in range(first, end, REBUILD_SLICE):
                with self._tx(write=True) as conn:
                    recompute_coarse(conn, {meter_id: [(a, min(a + REBUILD_SLICE, end))]}, self.rules)
        self.refresh_pending()

    def ensure_meter(self, name: str, model: str = "rx380", location: str | None = None,
                     tags: dict[str, str] | None = None) -> int:
        """The meter's id, registering it or updating its model, location and tags."""
        with self._tx(write=True) as conn:
            return self._ensure(conn, name, model, location, tags, update=True)

    def _ensure(self, conn: Connection, name: str, model: str, location: str | None,
                tags: dict[str, str] | None, update: bool) -> int:
        values = {"model": model, "location": location, "tags": json.dumps(tags, sort_keys=True) if tags else None}
        row = self._meters(conn).get(name)
        if row is None:
            result = conn.execute(st.add_meter(), {"site": self.site, "name": name, **values})
            return int(result.inserted_primary_key[0])
        if update and any(getattr(row, k) != v for k, v in values.items()):
            conn.execute(st.change_meter(row.id).values(**values))
        return int(row.id)

    def sites(self) -> list[str]:
        """Every site with meters in this database (several Pis may write to one central store);
        empty for a database wattlog has not set up yet."""
        try:
            with self._tx() as conn:
                return sorted({r[0] for r in conn.execute(select(meters.c.site).distinct())})
        except StoreError as exc:
            if "no wattlog tables" in exc.problem:
                return []
            raise

    def recorded_zone(self) -> str | None:
        """The site's time zone as recorded in the database (revision 0004), None if not recorded."""
        try:
            with self._tx() as conn:
                return facts.zone_of(conn, self.site)
        except StoreError:  # a new database, or one older than 0004 that no logger has started yet
            return None

    def move_to_zone(self) -> None:
        """Record this store's zone as the site's and rebuild all its rollups in it (the old zone's
        days and months are removed first). Refused when raw readings were pruned: they are gone."""
        with self._tx(write=True) as conn:
            known = list(self._meters(conn).values())
            pruned = [m.name for m in known if m.pruned_before is not None]
            if pruned:
                raise StoreError(f"raw readings of {', '.join(pruned)} were pruned: their rollups cannot be "
                                 "rebuilt in another time zone", url=self.shown, fix="keep the recorded zone")
            for table in ROLLUPS.values():
                conn.execute(table.delete().where(table.c.meter_id.in_([m.id for m in known])))
            facts.change(conn, self.site, self.tz.key)
        self.rebuild_rollups()

    def meters(self) -> list[dict[str, Any]]:
        with self._tx() as conn:
            return [{"id": r.id, "site": r.site, "name": r.name, "model": r.model, "location": r.location,
                     "tags": json.loads(r.tags) if r.tags else {},
                     "pruned_before": aware(r.pruned_before) if r.pruned_before else None}
                    for r in self._meters(conn).values()]

    # -- writing -------------------------------------------------------------------------------

    def write(self, readings: list[Reading], defer: bool = False) -> int:
        """Insert readings and update their rollups in one transaction; returns rows newly inserted.

        A reading already stored (same meter and timestamp) is skipped, so a batch can be retried
        after any failure. Unknown meters are registered on the fly.

        defer=True (catching up on a backlog): the rollups are not recomputed now. The ranges they
        need are recorded in rollup_pending in the same transaction as the readings, and
        refresh_pending() recomputes them, once for many batches. Until then reports lag behind
        in those ranges (also after a crash: migrate() or the next refresh_pending() repairs it).
        A normal write meanwhile keeps its own ranges current and leaves the pending ones pending.
        """
        return self._write(readings, rollups=True, defer=defer)[0]

    def _write(self, readings: list[Reading], rollups: bool, defer: bool = False) -> tuple[int, Touched]:
        if not readings:
            return 0, {}
        with self._tx(write=True) as conn:
            by_meter: dict[str, dict[datetime, Reading]] = {}
            for r in readings:
                by_meter.setdefault(r.meter, {}).setdefault(naive_utc(r.timestamp), r)  # first one wins
            touched: Touched = {}
            pending: list[dict[str, Any]] = []
            inserted = 0
            known = self._meters(conn)
            for name, batch in by_meter.items():
                row = known.get(name)
                meter_id = row.id if row else self._ensure(conn, name, next(iter(batch.values())).model,
                                                           None, None, update=False)
                new = self._insert(conn, meter_id, batch)
                if new:
                    inserted += len(new)
                    touched[meter_id] = runs = clusters(new, self.rules)
                    if rollups:
                        ranges = affected(conn, meter_id, runs, self.rules)
                        if defer:
                            pending.extend({"meter_id": meter_id, "lo": from_us(lo), "hi": from_us(hi)}
                                           for lo, hi in ranges)
                            continue
                        frozen = _frozen(row.pruned_before if row else None)
                        for lo, hi in ranges:
                            refresh(conn, meter_id, lo, hi, self.rules, frozen)
            if pending:
                conn.execute(st.add_pending(), pending)
            return inserted, touched

    def _insert(self, conn: Connection, meter_id: int, batch: dict[datetime, Reading]) -> list[int]:
        """Insert the readings not stored yet; their timestamps (us), sorted."""
        times = sorted(batch)
        us = [to_us(t) for t in times]
        existing: set[datetime] = set()
        for first, last in clusters(us, self.rules):
            existing.update(r[0] for r in conn.execute(st.existing_ts(), {"m": meter_id, "lo": from_us(first),
                                                                          "hi": from_us(last)}))
        if existing:  # a replay: only what is missing
            keep = [i for i, t in enumerate(times) if t not in existing]
            times, us = [times[i] for i in keep], [us[i] for i in keep]
        if times:
            if self._writer is None or self._writer.statement is not st.add_readings(self._insert_dialect):
                self._writer = RowWriter(conn.dialect, self._insert_dialect)
            self._writer.insert(conn, meter_id, [(t, batch[t]) for t in times])
        return us

    def _mark_pending(self, touched: Touched) -> None:
        """Record the rollup ranges that readings at `touched` (stored already) change, for refresh_pending()."""
        with self._tx(write=True) as conn:
            rows = [{"meter_id": meter_id, "lo": from_us(lo), "hi": from_us(hi)}
                    for meter_id, runs in touched.items() for lo, hi in affected(conn, meter_id, merge(runs), self.rules)]
            if rows:
                conn.execute(st.add_pending(), rows)

    def refresh_pending(self, budget: float | None = None) -> bool:
        """Recompute the rollups deferred writes left pending; True when nothing is left pending.

        Each meter's ranges are merged first (one transaction). Then they are recomputed local
        day by local day, every meter's part of a day in one transaction, which also shrinks or
        removes their pending rows: a crash, or `budget` seconds spent, leaves exactly what is
        still to do.
        """
        deadline = None if budget is None else time.monotonic() + budget
        with self._tx() as conn:  # the usual case, nothing pending: no write lock
            if conn.execute(st.pending_of(), {"site": self.site}).first() is None:
                return True
        todo = [list(item) for item in self._merge_pending()]  # [id, meter id, lo, hi]
        day_end = lambda us: self.rules.buckets.span("1d", us, us + 1)[1]  # noqa: E731
        while todo:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            end = min(day_end(item[2]) for item in todo)  # the first local day with work
            today = [item for item in todo if item[2] < end]
            spans: dict[int, list[tuple[int, int]]] = {}
            for _, meter_id, lo, hi in today:
                spans.setdefault(meter_id, []).append((lo, min(hi, end)))
            with self._tx(write=True) as conn:
                frozen = {m.id: _frozen(m.pruned_before) for m in self._meters(conn).values()}
                refresh_many(conn, spans, self.rules, frozen)
                done = [item[0] for item in today if item[3] <= end]
                for i in range(0, len(done), 500):
                    conn.execute(st.drop_pending(), {"ids": done[i:i + 500]})
                shrunk = [{"pid": item[0], "done": from_us(end)} for item in today if item[3] > end]
                if shrunk:
                    conn.execute(st.shrink_pending(), shrunk)
            for item in today:
                item[2] = min(item[3], end)
            todo = [item for item in todo if item[2] < item[3]]
        return True

    def _merge_pending(self) -> list[tuple[int, int, int, int]]:
        """(id, meter id, lo, hi) of this site's pending ranges, each meter's merged into disjoint rows."""
        out: list[tuple[int, int, int, int]] = []
        with self._tx(write=True) as conn:
            rows = conn.execute(st.pending_of(), {"site": self.site}).all()
            for meter_id, group in groupby(rows, key=lambda r: r.meter_id):
                mine = list(group)
                merged = merge([(to_us(r.lo), to_us(r.hi)) for r in mine])
                if len(merged) == len(mine):  # disjoint already (sorted by lo): keep the rows
                    out.extend((r.id, meter_id, to_us(r.lo), to_us(r.hi)) for r in mine)
                    continue
                ids = [r.id for r in mine]
                for i in range(0, len(ids), 500):
                    conn.execute(st.drop_pending(), {"ids": ids[i:i + 500]})
                for lo, hi in merged:
                    result = conn.execute(st.add_pending(), {"meter_id": meter_id, "lo": from_us(lo), "hi": from_us(hi)})
                    out.append((int(result.inserted_primary_key[0]), meter_id, lo, hi))
        return out

    def _rebuild_range(self, meter_id: int, lo: int, hi: int) -> None:
        for a in range(lo, hi, REBUILD_SLICE):
            with self._tx(write=True) as conn:
                pruned = conn.execute(st.meter_by_id(), {"m": meter_id}).one().pruned_before
                refresh(conn, meter_id, a, min(a + REBUILD_SLICE, hi), self.rules, _frozen(pruned))

    def rebuild_rollups(self, meter: str | None = None, start: datetime | None = None,
                        end: datetime | None = None) -> None:
        """Recompute rollups of [start, end) (default: all raw data) from raw readings.

        Buckets whose raw readings may have been pruned keep their rows; new ones are added.
        """
        with self._tx() as conn:
            known = self._meters(conn)
            if meter is not None and meter not in known:
                raise StoreError(f"no meter {meter!r} at site {self.site!r}", url=self.shown,
                                 fix=f"use one of {', '.join(sorted(known)) or '(none yet)'}")
            targets = [known[meter]] if meter else list(known.values())
            bounds = {m.id: conn.execute(st.raw_bounds(), {"m": m.id}).one() for m in targets}
        for m in targets:
            first, last = bounds[m.id]
            if first is None:
                continue
            lo = floor15(to_us(naive_utc(start) if start else first))
            hi_us = to_us(naive_utc(end)) - 1 if end else to_us(last)
            if hi_us >= lo:
                self._rebuild_range(m.id, lo, floor15(hi_us) + QUARTER)

    def prune(self, raw_days: float = 90, now: datetime | None = None) -> int:
        """Delete raw readings older than raw_days; rollups stay as they are. Returns rows deleted."""
        cutoff = naive_utc(now or datetime.now(timezone.utc)) - timedelta(days=raw_days)
        deleted = 0
        with self._tx(write=True) as conn:
            targets = list(self._meters(conn).values())
            for m in targets:
                if m.pruned_before is None or m.pruned_before < cutoff:
                    # First mark, then delete: a rollup rebuilt meanwhile never sees half the raw rows.
                    conn.execute(st.set_pruned(), {"m": m.id, "cutoff": cutoff})
        for m in targets:
            while True:
                with self._tx(write=True) as conn:  # one day per transaction: a small WAL, short locks
                    oldest = conn.execute(st.oldest(), {"m": m.id}).scalar()
                    if oldest is None or oldest >= cutoff:
                        break
                    upto = min(oldest + timedelta(days=1), cutoff)
                    deleted += conn.execute(st.prune(), {"m": m.id, "lo": oldest, "hi": upto}).rowcount
        return deleted

    # -- reading -------------------------------------------------------------------------------

    def times(self, meter: str, start: datetime, end: datetime) -> list[datetime]:
        """Timestamps (naive UTC) of `meter`'s raw readings in [start, end]; empty for an unknown meter."""
        with self._tx() as conn:
            row = self._meters(conn).get(meter)
            if row is None:
                return []
            return [r[0] for r in conn.execute(st.existing_ts(), {"m": row.id, "lo": naive_utc(start),
                                                                 "hi": naive_utc(end)})]

    def readings(self, meter: str | None = None, start: datetime | None = None,
                 end: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Raw readings in [start, end), meter by meter (by name), in time order, streamed.

        Each is {"meter", "timestamp" (aware UTC), every canonical quantity (None when not read),
        a model's own quantities, "flags": {quantity: "missing: why" | "implausible: why"}}.
        """
        lo, hi = (naive_utc(start) if start else None), (naive_utc(end) if end else None)
        with self._tx() as conn:
            targets = [m for name, m in sorted(self._meters(conn).items()) if meter in (None, name)]
            for m in targets:
                for r in conn.execute(st.raw_rows(m.id, lo, hi).execution_options(yield_per=2000)):
                    out: dict[str, Any] = {"meter": m.name, "timestamp": aware(r.ts)}
                    out.update((q, r._mapping[q]) for q in QUANTITIES)
                    if r.extra:
                        out.update(json.loads(r.extra))
                    out["flags"] = json.loads(r.flags) if r.flags else {}
                    yield out

    def rollups(self, period: str, meter: str | None = None, start: datetime | None = None,
                end: datetime | None = None) -> list[dict[str, Any]]:
        """Rollup rows with start in [start, end): {"meter", "start", "end" (aware, site time zone),
        the columns of schema.ROLLUP_DOC (counter_*_ts aware UTC)}. Periods: 15m, 1h, 1d, 1mo."""
        if period not in ROLLUPS:
            raise ValueError(f"unknown period {period!r}: use one of {', '.join(ROLLUPS)}")
        lo, hi = (naive_utc(start) if start else None), (naive_utc(end) if end else None)
        out: list[dict[str, Any]] = []
        with self._tx() as conn:
            targets = [m for name, m in sorted(self._meters(conn).items()) if meter in (None, name)]
            for m in targets:
                for r in conn.execute(st.rollups_of(ROLLUPS[period], m.id, lo, hi)):
                    s = to_us(r.start)
                    row: dict[str, Any] = {"meter": m.name, "start": aware(r.start, self.tz),
                                           "end": aware(from_us(self.rules.buckets.span(period, s, s + 1)[1]), self.tz)}
                    for c in ROLLUP_COLUMNS:
                        v = r._mapping[c]
                        row[c] = aware(v) if c in ROLLUP_TIMES and v is not None else v
                    out.append(row)
        return out

    def packed_days(self, meter: str | None = None, start: datetime | None = None, end: datetime | None = None,
                    columns: tuple[str, ...] = ROLLUP_COLUMNS) -> list[dict[str, Any]]:
        """Day rows with start in [start, end), each with its 15-minute values packed:
        {"meter", "start", "end" (aware, site time zone), `columns`, "quarters": quarters.Quarters}.

        What year-long reports read instead of 35,040 rollup_15m rows per meter and year.
        """
        lo, hi = (naive_utc(start) if start else None), (naive_utc(end) if end else None)
        unknown = set(columns) - set(ROLLUP_COLUMNS)
        if unknown:
            raise ValueError(f"not rollup columns: {', '.join(sorted(unknown))}")
        wanted = [c for c in ROLLUP_COLUMNS if c in columns]
        times = [c for c in wanted if c in ROLLUP_TIMES]
        out: list[dict[str, Any]] = []
        local: dict[datetime, tuple[datetime, datetime]] = {}
        with self._tx() as conn:
            targets = [m for name, m in sorted(self._meters(conn).items()) if meter in (None, name)]
            for m in targets:
                query = st.rollups_of(rollup_1d, m.id, lo, hi).with_only_columns(
                    rollup_1d.c.start, *(rollup_1d.c[c] for c in wanted), rollup_1d.c.quarters)
                for r in conn.execute(query):
                    row: dict[str, Any] = dict(zip(wanted, r[1:-1]))
                    for c in times:
                        if row[c] is not None:
                            row[c] = aware(row[c])
                    q = Quarters(bytes(r[-1])) if r[-1] is not None else self._pack_day(conn, m.id, to_us(r[0]))
                    bounds = local.get(r[0])
                    if bounds is None:  # meters share their days: convert each day once
                        s = to_us(r[0])
                        e = s + q.n * QUARTER if q else self.rules.buckets.span("1d", s, s + 1)[1]  # n: its length
                        bounds = local[r[0]] = (aware(r[0], self.tz), aware(from_us(e), self.tz))
                    row["meter"] = m.name
                    row["start"], row["end"] = bounds
                    row["quarters"] = q
                    out.append(row)
        return out

    def _pack_day(self, conn: Connection, meter_id: int, day: int) -> Quarters:
        """A day stored without its packed quarters (the newest, still changing: refresh.py) packed now."""
        end = self.rules.buckets.span("1d", day, day + 1)[1]
        rows = [dict(r._mapping) for r in conn.execute(st.rollups_of(rollup_15m, meter_id, from_us(day), from_us(end)))]
        for r in rows:
            r["_us"] = to_us(r["start"])
        return Quarters(pack(rows, day, end))

    def extent(self) -> dict[str, tuple[datetime, datetime]]:
        """Per meter name, from the start of its first 15-minute rollup to the end of its last one
        with energy (aware, site time zone): where its energy is either known or a gap. A last
        reading alone in its bucket adds no energy and does not extend it. Meters without
        rollups are left out. Two primary-key lookups per meter."""
        out: dict[str, tuple[datetime, datetime]] = {}
        with self._tx() as conn:
            for name, m in sorted(self._meters(conn).items()):
                first = conn.execute(st.first_bucket(rollup_15m), {"m": m.id}).scalar()
                if first is None:
                    continue
                last = conn.execute(st.last_energy(rollup_15m), {"m": m.id}).scalar() or first
                out[name] = (aware(first, self.tz), aware(from_us(to_us(last) + QUARTER), self.tz))
        return out


def _frozen(pruned_before: datetime | None) -> int | None:
    """Rollups starting before this depend on raw readings that may be gone."""
    return None if pruned_before is None else to_us(pruned_before) + HORIZON
