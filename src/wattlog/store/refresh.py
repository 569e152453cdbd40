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


Spans = dict[int, list[tuple[int, int]]]  # meter id -> its disjoint 15-minute-aligned ranges [lo, hi)


def recompute_15m(conn: Connection, spans: Spans, rules: Rules, frozen: dict[int, int | None]) -> None:
    """Rebuild rollup_15m rows in the ranges from raw rows; rows before a meter's `frozen` are only ever added.

    Every meter's rows are computed first (from raw readings only), then replaced by one delete
    and one insert for all of them: a few statements however many meters catch up together.
    """
    drops: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for meter_id, ranges in spans.items():
        fz = frozen.get(meter_id)
        for lo, hi in ranges:
            for a in range(lo, hi, CHUNK):
                b = min(a + CHUNK, hi)
                raw = raw_window(conn, meter_id, a - rules.gap, b + rules.gap)
                prev = _powered(conn, st.power_before(), _span(meter_id, a - rules.horizon, a))
                nxt = _powered(conn, st.power_from(), _span(meter_id, b, b + rules.horizon))
                computed = compute_15m(raw, a, b, rules.gap, rules.horizon, prev, nxt)
                keep: set[int] = set()
                a_del = a
                if fz is not None and a < fz:
                    # Raw readings these rows were built from may be pruned: never rebuild them from what is left.
                    keep = {to_us(r[0]) for r in conn.execute(st.rollup_keys(rollup_15m), _span(meter_id, a, min(b, fz)))}
                    a_del = max(a, fz)
                if a_del < b:
                    drops.append(_span(meter_id, a_del, b))
                rows.extend({"meter_id": meter_id, "start": from_us(s), **row} for s, row in computed.items()
                            if s not in keep)
    if drops:
        conn.execute(st.drop_rollups(rollup_15m), drops)
    if rows:
        conn.execute(st.add_rollups(rollup_15m), rows)


def _fetch(conn: Connection, query: Any, spans: dict[int, list[tuple[int, int]]]) -> dict[int, list[dict[str, Any]]]:
    """Rows of `query` (rollup_rows_in or rollup_values_in) for the meters of `spans` from their first
    span's start to their last span's end, by meter, each with "_us", its start."""
    lo = min(r[0][0] for r in spans.values())
    hi = max(r[-1][1] for r in spans.values())
    out: dict[int, list[dict[str, Any]]] = {}
    for r in conn.execute(query, {"ms": sorted(spans), "lo": from_us(lo), "hi": from_us(hi)}):
        row = dict(r._mapping)
        row["_us"] = to_us(row["start"])
        out.setdefault(row["meter_id"], []).append(row)
    return out


def recompute_coarse(conn: Connection, spans: Spans, rules: Rules) -> None:
    """Rebuild the local hours and days overlapping each meter's ranges from rollup_15m, then their months.

    A meter's newest day is stored without its packed quarters: it changes with every write, and its
    6.5 KB of arrays rewritten each time were most of what the service wrote to the SD card (issue 14).
    The day is packed when a later day begins (it is recomputed then); until then Store.packed_days
    packs it on the fly from its rollup_15m rows. A rebuild leaves the same: every day packed but the newest.
    """
    days = {m: merge([rules.buckets.span("1d", lo, hi) for lo, hi in ranges]) for m, ranges in spans.items()}
    newest = {m: to_us(t) for m, t in conn.execute(st.newest_days(), {"ms": sorted(days)})}
    for m, ranges in days.items():
        was = newest.get(m)
        if was is None or any(lo <= was < hi for lo, hi in ranges):
            continue
        was_day = rules.buckets.span("1d", was, was + 1)
        if ranges[-1][1] > was_day[1]:  # a later day begins: the newest one so far is packed now
            days[m] = merge(ranges + [was_day])
    fine = _fetch(conn, st.rollup_rows_in(rollup_15m), days)  # local days hold whole local hours
    day_of = rules.buckets.floor("1d")
    for m, rows in fine.items():
        if rows:
            last = day_of(rows[-1]["_us"])
            newest[m] = max(newest.get(m, last), last)
    for period in ("1h", "1d"):
        floor = rules.buckets.floor(period)
        drops: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        for meter_id, ranges in spans.items():
            mine = fine.get(meter_id, [])
            targets = days[meter_id] if period == "1d" else merge([rules.buckets.span(period, lo, hi) for lo, hi in ranges])
            for start, end in targets:
                for key, group in groupby((r for r in mine if start <= r["_us"] < end), key=lambda r: floor(r["_us"])):
                    members = list(group)
                    row = combine(members)
                    if period == "1d":  # the day's quarter-hours packed, for year-long reports (quarters.py)
                        row["quarters"] = (None if key >= newest.get(meter_id, key) else
                                           pack(members, key, rules.buckets.span("1d", key, key + 1)[1]))
                    rows.append({"meter_id": meter_id, "start": from_us(key), **row})
                drops.append(_span(meter_id, start, end))
        conn.execute(st.drop_rollups(ROLLUPS[period]), drops)
        if rows:
            conn.execute(st.add_rollups(ROLLUPS[period]), rows)
    recompute_months(conn, days, rules)


def recompute_months(conn: Connection, spans: Spans, rules: Rules) -> None:
    """Rebuild the local calendar months overlapping each meter's ranges from rollup_1d (at most 31 rows each)."""
    months = {m: merge([rules.buckets.span("1mo", lo, hi) for lo, hi in ranges]) for m, ranges in spans.items()}
    days = _fetch(conn, st.rollup_values_in(rollup_1d), months)
    month = rules.buckets.month
    drops: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for meter_id, ranges in months.items():
        mine = days.get(meter_id, [])
        for start, end in ranges:
            for key, group in groupby((r for r in mine if start <= r["_us"] < end), key=lambda r: month(r["_us"])):
                rows.append({"meter_id": meter_id, "start": from_us(key), **combine(list(group))})
            drops.append(_span(meter_id, start, end))
    conn.execute(st.drop_rollups(rollup_1mo), drops)
    if rows:
        conn.execute(st.add_rollups(rollup_1mo), rows)


def refresh_many(conn: Connection, spans: Spans, rules: Rules, frozen: dict[int, int | None]) -> None:
    """Recompute every rollup of each meter's ranges (disjoint, 15-minute-aligned) in `spans`."""
    recompute_15m(conn, spans, rules, frozen)
    recompute_coarse(conn, spans, rules)


def refresh(conn: Connection, meter_id: int, lo: int, hi: int, rules: Rules, frozen: int | None) -> None:
    """Recompute every rollup of one meter for the 15-minute range [lo, hi)."""
    refresh_many(conn, {meter_id: [(lo, hi)]}, rules, {meter_id: frozen})
