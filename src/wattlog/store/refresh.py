"""Keeping rollups current: which buckets new readings affect, and recomputing them by key range.

15-minute rows come from raw readings; hours and days (with the day's packed quarter-hours) from
15-minute rows; months from days: every level in the same transaction as the readings.

A 15-minute bucket [a, b) depends only on readings in [a - gap, b + gap] and on the nearest
readings with power before a and from b on, up to HORIZON away (a gap is measured between them).
So new readings affect the buckets from the previous powered reading (or t - gap) to the next one
(or t + gap); recomputing exactly those gives the same rows as a rebuild, in any arrival order.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy import Connection

from . import statements as st
from .buckets import QUARTER, SECOND, LocalBuckets, floor15, from_us, to_us
from .quarters import pack
from .rollup import combine, compute_15m
from .rows import raw_window
from .schema import ROLLUPS, rollup_1d, rollup_1mo, rollup_15m

HORIZON = 86_400 * SECOND  # a longer silence is an outage: its buckets get no rows, not gap_s
CHUNK = 96 * QUARTER  # one day of 15-minute buckets per pass over raw rows


@dataclass(frozen=True)
class Rules:
    gap: int  # microseconds: a longer interval between readings is not integrated
    buckets: LocalBuckets
    horizon: int = HORIZON


def clusters(times: list[int], rules: Rules) -> list[tuple[int, int]]:
    """(first, last) of runs of sorted times, split where they are too far apart to share buckets."""
    out: list[tuple[int, int]] = []
    split = 2 * rules.gap + 2 * QUARTER
    for t in times:
        if out and t - out[-1][1] <= split:
            out[-1] = (out[-1][0], t)
        else:
            out.append((t, t))
    return out


def _span(meter_id: int, lo: int, hi: int) -> dict[str, Any]:
    return {"m": meter_id, "lo": from_us(lo), "hi": from_us(hi)}


def _powered(conn: Connection, query: Any, params: dict[str, Any]) -> tuple[int, float] | None:
    row = conn.execute(query, params).first()
    return (to_us(row[0]), row[1]) if row else None


def add_run(runs: list[tuple[int, int]], t: int, rules: Rules) -> None:
    """Extend the last run by time `t` or start a new one (cheap bookkeeping for big imports)."""
    if runs and 0 <= t - runs[-1][1] <= 2 * rules.gap + 2 * QUARTER:
        runs[-1] = (runs[-1][0], t)
    elif not (runs and runs[-1][0] <= t <= runs[-1][1]):
        runs.append((t, t))


def affected(conn: Connection, meter_id: int, runs: list[tuple[int, int]], rules: Rules) -> list[tuple[int, int]]:
    """Merged 15-minute-aligned ranges [lo, hi) whose rollups new readings in `runs` (first, last) change."""
    ranges: list[tuple[int, int]] = []
    for first, last in runs:
        prev = _powered(conn, st.power_before(), _span(meter_id, first - rules.horizon, first))
        nxt = _powered(conn, st.power_from(), _span(meter_id, last + 1, last + rules.horizon))
        lo = floor15(min(prev[0] if prev else first, first - rules.gap))
        hi = floor15(max(nxt[0] if nxt else last, last + rules.gap)) + QUARTER
        ranges.append((lo, hi))
    return merge(ranges)


def merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ranges [lo, hi) sorted, with overlapping or touching ones joined."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def recompute_15m(conn: Connection, meter_id: int, lo: int, hi: int, rules: Rules, frozen: int | None) -> None:
    """Rebuild rollup_15m rows in [lo, hi) from raw rows; rows before `frozen` are only ever added."""
    for a in range(lo, hi, CHUNK):
        b = min(a + CHUNK, hi)
        rows = raw_window(conn, meter_id, a - rules.gap, b + rules.gap)
        prev = _powered(conn, st.power_before(), _span(meter_id, a - rules.horizon, a))
        nxt = _powered(conn, st.power_from(), _span(meter_id, b, b + rules.horizon))
        computed = compute_15m(rows, a, b, rules.gap, rules.horizon, prev, nxt)
        keep: set[int] = set()
        if frozen is not None and a < frozen:
            # Raw readings these rows were built from may be pruned: never rebuild them from what is left.
            keep = {to_us(r[0]) for r in conn.execute(st.rollup_keys(rollup_15m), _span(meter_id, a, min(b, frozen)))}
            a_del = max(a, frozen)
        else:
            a_del = a
        if a_del < b:
            conn.execute(st.drop_rollups(rollup_15m), _span(meter_id, a_del, b))
        _insert(conn, "15m", meter_id, [(s, row) for s, row in computed.items() if s not in keep])


def recompute_coarse(conn: Connection, meter_id: int, lo: int, hi: int, rules: Rules) -> None:
    """Rebuild the local hours and days overlapping [lo, hi) from rollup_15m, then their months."""
    day_start, day_end = rules.buckets.span("1d", lo, hi)  # local days hold whole local hours
    fine = [dict(r._mapping) for r in conn.execute(st.rollup_rows(rollup_15m), _span(meter_id, day_start, day_end))]
    for r in fine:
        r["_us"] = to_us(r["start"])
    for period in ("1h", "1d"):
        floor = rules.buckets.floor(period)
        start, end = rules.buckets.span(period, lo, hi)
        rows: list[tuple[int, dict[str, Any]]] = []
        for key, group in groupby((r for r in fine if start <= r["_us"] < end), key=lambda r: floor(r["_us"])):
            members = list(group)
            row = combine(members)
            if period == "1d":  # the day's quarter-hours packed, for year-long reports (quarters.py)
                row["quarters"] = pack(members, key, rules.buckets.span("1d", key, key + 1)[1])
            rows.append((key, row))
        conn.execute(st.drop_rollups(ROLLUPS[period]), _span(meter_id, start, end))
        _insert(conn, period, meter_id, rows)
    recompute_months(conn, meter_id, lo, hi, rules)


def recompute_months(conn: Connection, meter_id: int, lo: int, hi: int, rules: Rules) -> None:
    """Rebuild the local calendar months overlapping [lo, hi) from rollup_1d (at most 31 rows each)."""
    start, end = rules.buckets.span("1mo", lo, hi)
    days = [dict(r._mapping) for r in conn.execute(st.rollup_values(rollup_1d), _span(meter_id, start, end))]
    month = rules.buckets.month
    rows = [(key, combine(list(group))) for key, group in groupby(days, key=lambda r: month(to_us(r["start"])))]
    conn.execute(st.drop_rollups(rollup_1mo), _span(meter_id, start, end))
    _insert(conn, "1mo", meter_id, rows)


def _insert(conn: Connection, period: str, meter_id: int, rows: list[tuple[int, dict[str, Any]]]) -> None:
    if rows:
        conn.execute(st.add_rollups(ROLLUPS[period]),
                     [{"meter_id": meter_id, "start": from_us(s), **row} for s, row in rows])


def refresh(conn: Connection, meter_id: int, lo: int, hi: int, rules: Rules, frozen: int | None) -> None:
    """Recompute every rollup of one meter for the 15-minute range [lo, hi)."""
    recompute_15m(conn, meter_id, lo, hi, rules, frozen)
    recompute_coarse(conn, meter_id, lo, hi, rules)
