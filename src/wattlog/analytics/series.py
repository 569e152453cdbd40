"""Shared types: 15-minute energy intervals and maximum demand over clock-aligned blocks.

`intervals.py` builds Interval lists from the store's rollups; the reports and the tariff engine
consume them. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

STEP = timedelta(minutes=15)


@dataclass(frozen=True)
class Interval:
    """Energy of one meter or location in one 15-minute interval, site-local time."""

    start: datetime  # aware, in the site's time zone
    kwh: float  # real energy (reconciled with the counter where its resolution allows)
    kvarh: float = 0.0
    kvah: float = 0.0
    covered_s: float = 900.0  # seconds of the interval the energy was measured over
    gap_s: float = 0.0  # seconds inside a gap: energy there is unknown, never filled in

    @property
    def end(self) -> datetime:
        return self.start + STEP


@dataclass(frozen=True)
class Demand:
    """The highest average kW over one block of the demand window."""

    kw: float
    start: datetime
    end: datetime
    kwh: float
    complete: bool  # False when a gap lies inside the block: the true maximum may be higher


def max_demand(intervals: Iterable[Interval], window_minutes: int = 30,
               counts: Callable[[datetime], bool] | None = None) -> Demand | None:
    """Maximum demand over blocks of `window_minutes` aligned to the clock (08:00–08:30, …),
    computed from energy (kWh in the block × 60 / window). `counts(block_start)` limits which
    blocks are recorded (e.g. the tariff's peak period); None records every block."""
    return highest(demand_blocks(intervals, window_minutes, counts))


TIE_KW = 1e-9  # blocks within this many kW are equal: the same kWh summed in another order differ by an ulp


def highest(blocks: Iterable[Demand]) -> Demand | None:
    """The block that sets the maximum demand: the highest kW, and of equal ones (within TIE_KW) the
    EARLIEST - the first time the month reached its maximum, as a meter's maximum-demand register keeps
    it (a later equal block does not replace it). The bill, the demand report and the cost allocation
    all use this one rule."""
    best: Demand | None = None
    for d in blocks:
        if best is None or d.kw > best.kw + TIE_KW:
            best = d
    return best


def demand_blocks(intervals: Iterable[Interval], window_minutes: int = 30,
                  counts: Callable[[datetime], bool] | None = None) -> list[Demand]:
    """Every clock-aligned block that holds intervals, in time order, with its average kW
    (the same blocks max_demand chooses from; for top-N lists and early warnings)."""
    if window_minutes % 15 or window_minutes <= 0:
        raise ValueError("the demand window must be a multiple of 15 minutes")
    per_block = window_minutes // 15
    # Keyed by (local date, block number): hashing aware datetimes asks the zone for every key.
    # Per block: its first interval's start, kWh so far, intervals, and whether all were gap-free.
    blocks: dict[tuple[int, int], list[Any]] = {}
    for iv in intervals:
        local = iv.start
        key = (local.toordinal(), (local.hour * 60 + local.minute) // window_minutes)
        b = blocks.get(key)
        if b is None:
            blocks[key] = [local, iv.kwh, 1, iv.gap_s == 0]
        else:
            b[1] += iv.kwh
            b[2] += 1
            b[3] = b[3] and iv.gap_s == 0
    out: list[Demand] = []
    step = timedelta(minutes=window_minutes)
    for (_, n), (local, kwh, count, clean) in sorted(blocks.items()):
        minute = n * window_minutes
        start = local.replace(hour=minute // 60, minute=minute % 60, second=0, microsecond=0)
        if counts is not None and not counts(start):
            continue
        out.append(Demand(kwh * 60 / window_minutes, start, start + step, kwh, count == per_block and clean))
    return out
