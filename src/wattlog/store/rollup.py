"""Rollup arithmetic, without a database: raw rows -> 15-minute rows -> hourly and daily rows.

Every result is a function of the set of readings only (never of arrival order), so rollups kept
up to date batch by batch equal a rebuild from scratch, whatever order the data came in.
"""

from __future__ import annotations

from itertools import groupby, pairwise
from typing import Any, Callable, Sequence

from .buckets import QUARTER, SECOND, from_us
from .schema import ROLLUP_COLUMNS

# The raw columns the rollups need, in the order of the tuples compute_15m takes (ts first, as us).
RAW = ("total_real_power", "total_reactive_power", "total_apparent_power", "total_power_factor",
       "voltage_l1", "voltage_l2", "voltage_l3", "voltage_l12", "voltage_l23", "voltage_l31",
       "current_l1", "current_l2", "current_l3", "frequency", "total_real_energy")
P, Q, S, PF, V1, V2, V3, V12, V23, V31, I1, I2, I3, F, E = range(1, 16)
WS_PER_KWH = 3_600_000.0
Row = Sequence[Any]  # (ts_us, *RAW)


class _Acc:
    """One 15-minute bucket being summed up."""

    __slots__ = ("samples", "covered", "gap", "e", "q", "s", "c_first", "c_first_ts", "c_last", "c_last_ts",
                 "c_kwh", "p_min", "p_max", "v_sum", "v_n", "v_min", "v_max", "ll_min", "ll_max", "unb",
                 "pf_min", "f_min", "f_max", "i_max")

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, None)
        self.samples, self.covered, self.gap, self.v_sum, self.v_n = 0, 0.0, 0.0, 0.0, 0

    def add(self, name: str, value: float) -> None:
        old = getattr(self, name)
        setattr(self, name, value if old is None else old + value)

    def row(self) -> dict[str, Any]:
        e = None if self.e is None else self.e / WS_PER_KWH
        s = None if self.s is None else self.s / WS_PER_KWH
        return {
            "samples": self.samples, "covered_s": self.covered, "gap_s": self.gap, "energy_kwh": e,
            "reactive_kvarh": None if self.q is None else self.q / WS_PER_KWH, "apparent_kvah": s,
            "counter_first": self.c_first, "counter_first_ts": self.c_first_ts,
            "counter_last": self.c_last, "counter_last_ts": self.c_last_ts, "counter_kwh": self.c_kwh,
            "power_avg": _avg_power(e, self.covered), "power_min": self.p_min, "power_max": self.p_max,
            "voltage_avg": self.v_sum / self.v_n if self.v_n else None, "voltage_min": self.v_min,
            "voltage_max": self.v_max, "voltage_samples": self.v_n, "voltage_ll_min": self.ll_min,
            "voltage_ll_max": self.ll_max, "unbalance_max": self.unb, "pf_avg": _pf(e, s),
            "pf_min": self.pf_min, "freq_min": self.f_min, "freq_max": self.f_max, "current_max": self.i_max,
        }


def _avg_power(kwh: float | None, covered_s: float) -> float | None:
    return None if kwh is None or covered_s <= 0 else kwh * WS_PER_KWH / covered_s


def _pf(kwh: float | None, kvah: float | None) -> float | None:
    if kwh is None or not kvah or kvah <= 0:
        return None
    return min(1.0, abs(kwh) / kvah)


def apparent(row: Row) -> float | None:
    """S as read; else |P| / |PF| (the proof of concept logged P and PF but not S)."""
    if row[S] is not None:
        return row[S]
    if row[P] is not None and row[PF]:
        return abs(row[P] / row[PF])
    return None


def _integrate(seq: list[tuple[int, float]], lo_b: int, hi_b: int, gap: int, horizon: int,
               accs: Callable[[int], _Acc], field: str, track: bool) -> None:
    """Trapezoids between consecutive (t, value) points, cut at every bucket boundary in [lo_b, hi_b).

    `seq` is sorted by time, so the buckets come in order: each bucket's parts are summed in a
    local variable, in the same order (and so to the same float) as a dict of running sums would.
    """
    area: dict[int, float] = {}
    covered: dict[int, float] = {}
    cur, a_sum, c_sum = -1, 0.0, 0.0  # the bucket being summed: its area and covered seconds
    for (t0, v0), (t1, v1) in pairwise(seq):
        if t1 <= lo_b or t0 >= hi_b:
            continue
        dt = t1 - t0
        if dt > horizon:
            continue
        inside = dt <= gap
        if inside:
            bucket = t0 - t0 % QUARTER
            if t0 >= lo_b and t1 <= bucket + QUARTER and t1 <= hi_b:  # the usual case: one bucket
                if bucket != cur:
                    if cur >= 0:
                        area[cur], covered[cur] = a_sum, c_sum
                    cur, a_sum, c_sum = bucket, 0.0, 0.0
                secs = dt / SECOND
                a_sum += (v0 + v1) / 2 * secs
                c_sum += secs
                continue
        elif not track:
            continue
        t, hi = max(t0, lo_b), min(t1, hi_b)
        while t < hi:
            bucket = t - t % QUARTER
            end = min(bucket + QUARTER, hi)
            secs = (end - t) / SECOND
            if inside:
                if t == t0 and end == t1:
                    part = (v0 + v1) / 2 * secs
                else:
                    slope = (v1 - v0) / dt
                    part = (2 * v0 + slope * (t - t0 + end - t0)) / 2 * secs
                if bucket != cur:
                    if cur >= 0:
                        area[cur], covered[cur] = a_sum, c_sum
                    cur, a_sum, c_sum = bucket, 0.0, 0.0
                a_sum += part
                c_sum += secs
            else:
                accs(bucket).gap += secs
            t = end
    if cur >= 0:
        area[cur], covered[cur] = a_sum, c_sum
    for bucket, value in area.items():
        acc = accs(bucket)
        acc.add(field, value)
        if track:
            acc.covered += covered[bucket]


def compute_15m(rows: list[Row], lo_b: int, hi_b: int, gap: int, horizon: int,
                prev_p: tuple[int, float] | None, next_p: tuple[int, float] | None) -> dict[int, dict[str, Any]]:
    """15-minute rows {start_us: columns} for buckets in [lo_b, hi_b) that hold data or gaps.

    `rows` are raw rows sorted by time covering at least [lo_b - gap, hi_b + gap]; prev_p and
    next_p are the nearest readings with total_real_power before lo_b and from hi_b on (within
    `horizon`), so gaps reaching outside the window are measured too.
    """
    accs: dict[int, _Acc] = {}

    def acc(bucket: int) -> _Acc:
        a = accs.get(bucket)
        if a is None:
            a = accs[bucket] = _Acc()
        return a

    inside = [r for r in rows if lo_b <= r[0] < hi_b]
    p_seq = [(r[0], r[P]) for r in inside if r[P] is not None]
    p_seq = ([prev_p] if prev_p else []) + p_seq + ([next_p] if next_p else [])
    _integrate(p_seq, lo_b, hi_b, gap, horizon, acc, "e", True)
    _integrate([(r[0], r[Q]) for r in rows if r[Q] is not None], lo_b, hi_b, gap, horizon, acc, "q", False)
    s_seq = [(r[0], s) for r in rows if (s := r[S] if r[S] is not None else apparent(r)) is not None]
    _integrate(s_seq, lo_b, hi_b, gap, horizon, acc, "s", False)
    # The counter's increases, each in the bucket of its later reading: summed bucket by bucket
    # (the buckets come in order), as `acc.add` one by one would.
    cur, total = -1, 0.0
    increases: dict[int, float] = {}
    for (t0, c0), (t1, c1) in pairwise([(r[0], r[E]) for r in rows if r[E] is not None]):
        if lo_b <= t1 < hi_b and t1 - t0 <= gap:
            bucket = t1 - t1 % QUARTER
            if bucket != cur:
                if cur >= 0:
                    increases[cur] = total
                cur, total = bucket, 0.0
            total += max(0.0, c1 - c0)  # a drop is a reset: never negative
    if cur >= 0:
        increases[cur] = total
    for bucket, value in increases.items():
        acc(bucket).add("c_kwh", value)
    for bucket, group in groupby(inside, key=lambda r: r[0] - r[0] % QUARTER):
        _readings(acc(bucket), list(group))
    return {b: a.row() for b, a in sorted(accs.items()) if a.samples or a.covered or a.gap}


def _column(rows: list[Row], *cols: int) -> list[float]:
    return [r[c] for r in rows for c in cols if r[c] is not None]


def _readings(a: _Acc, rows: list[Row]) -> None:
    """Statistics of the readings in one bucket (sorted by time): list passes, fast in CPython."""
    a.samples = len(rows)
    first = next((r for r in rows if r[E] is not None), None)  # the first and last counter reading
    if first is not None:
        last = next(r for r in reversed(rows) if r[E] is not None)
        a.c_first, a.c_last = first[E], last[E]
        a.c_first_ts, a.c_last_ts = from_us(first[0]), from_us(last[0])
        a.add("c_kwh", 0.0)
    a.p_min, a.p_max = _extremes(_column(rows, P))
    phases = _column(rows, V1, V2, V3)
    a.v_sum, a.v_n = sum(phases), len(phases)
    a.v_min, a.v_max = _extremes(phases)
    a.ll_min, a.ll_max = _extremes(_column(rows, V12, V23, V31))
    unbalance = [max(abs(r[V1] - m), abs(r[V2] - m), abs(r[V3] - m)) / m * 100.0
                 for r in rows if r[V1] is not None and r[V2] is not None and r[V3] is not None
                 and (m := (r[V1] + r[V2] + r[V3]) / 3) > 0]
    a.unb = max(unbalance) if unbalance else None
    pfs = [abs(v) for v in _column(rows, PF)]
    a.pf_min = min(pfs) if pfs else None
    a.f_min, a.f_max = _extremes(_column(rows, F))
    a.i_max = _extremes(_column(rows, I1, I2, I3))[1]


def _extremes(values: list[float]) -> tuple[float | None, float | None]:
    return (min(values), max(values)) if values else (None, None)


def combine(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One coarser row from finer rows sorted by start (15 min -> hour or day).

    Each column is one list pass (a list comprehension: much faster than a generator in CPython);
    sums add in row order, so the result is the same float whichever way the rows were built.
    """
    out: dict[str, Any] = {}
    for c in ("samples", "voltage_samples"):
        out[c] = sum([r[c] for r in rows])
    for c in ("covered_s", "gap_s", "energy_kwh", "reactive_kvarh", "apparent_kvah", "counter_kwh"):
        present = [v for r in rows if (v := r[c]) is not None]
        out[c] = sum(present) if present else None
    out["covered_s"], out["gap_s"] = out["covered_s"] or 0.0, out["gap_s"] or 0.0
    with_counter = [r for r in rows if r["counter_first"] is not None]
    first, last = (with_counter[0], with_counter[-1]) if with_counter else ({}, {})
    out["counter_first"], out["counter_first_ts"] = first.get("counter_first"), first.get("counter_first_ts")
    out["counter_last"], out["counter_last_ts"] = last.get("counter_last"), last.get("counter_last_ts")
    for c in ("power_min", "voltage_min", "voltage_ll_min", "pf_min", "freq_min"):
        present = [v for r in rows if (v := r[c]) is not None]
        out[c] = min(present) if present else None
    for c in ("power_max", "voltage_max", "voltage_ll_max", "unbalance_max", "freq_max", "current_max"):
        present = [v for r in rows if (v := r[c]) is not None]
        out[c] = max(present) if present else None
    n = out["voltage_samples"]
    out["voltage_avg"] = (sum([r["voltage_avg"] * r["voltage_samples"] for r in rows if r["voltage_samples"]]) / n
                          if n else None)
    out["power_avg"] = _avg_power(out["energy_kwh"], out["covered_s"])
    out["pf_avg"] = _pf(out["energy_kwh"], out["apparent_kvah"])
    return {c: out[c] for c in ROLLUP_COLUMNS}
