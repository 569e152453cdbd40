"""The cost report's parts as columns: each location's 15-minute kWh as one list on a shared timeline.

Allocating a bill needs each part's kWh summed per band, per demand block and per month, never an
interval on its own; a year of 32 meters as Interval objects was over a million of them (seconds),
as lists it is a few sums at C speed. The site's own series stays Intervals (billing.py prices it).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping
from datetime import datetime
from itertools import accumulate
from operator import add, or_, sub
from zoneinfo import ZoneInfo

from ..analytics.calendar import DayGrid, dates, day_grid
from ..analytics.frame import Frame, MeterDay, add_lists
from ..analytics.intervals import nan0
from ..analytics.series import Interval
from .model import Tariff, Version


class Columns:
    """Parts' kWh per quarter-hour on one timeline; kvarh made only when a kvar charge asks for it."""

    def __init__(self, starts: list[datetime], kwh: dict[str, list[float]],
                 kvarh: Callable[[str], list[float]], grids: list[DayGrid] | None = None) -> None:
        self.starts = starts  # aware, sorted by instant
        self.kwh = kwh
        self.grids = grids  # the days the timeline is made of, when it is whole days of one zone
        # Instants (wall times repeat at a DST change); a day's quarters are 900 s apart in UTC.
        self._keys = ([g.start.timestamp() + 900 * k for g in grids for k in range(g.n)] if grids
                      else [t.timestamp() for t in starts])
        self.offset = {g.day: i for g, i in zip(grids or [], accumulate([0, *(g.n for g in grids or [])]))}
        self._kvarh_of, self._kvarh = kvarh, {}  # type: ignore[var-annotated]
        self._bands: dict[tuple[str, int], list[str]] = {}  # band of every quarter, per tariff version
        self._index_cache: dict[tuple[str, int, int, int], dict[str, list[int]]] = {}  # a bill's quarters per band

    @classmethod
    def from_intervals(cls, parts: Mapping[str, list[Interval]]) -> Columns:
        starts = sorted({i.start.timestamp(): i.start for ivs in parts.values() for i in ivs}.items())
        pos = {k: n for n, (k, _) in enumerate(starts)}
        kwh = {p: [0.0] * len(starts) for p in parts}
        kvarh = {p: [0.0] * len(starts) for p in parts}
        for p, ivs in parts.items():
            for i in ivs:
                n = pos[i.start.timestamp()]
                kwh[p][n] += i.kwh
                kvarh[p][n] += i.kvarh
        return cls([t for _, t in starts], kwh, kvarh.__getitem__)

    @classmethod
    def from_frame(cls, frame: Frame, groups: Mapping[str, list[str]]) -> Columns:
        """Each group's meters summed on the timeline of the frame's days (absent quarters add 0)."""
        grids = [day_grid(frame.settings.tz, d) for d in dates(frame.start, frame.end)]
        cols = cls([t for g in grids for t in g.starts()], {}, lambda p: kvarh(groups[p]), grids)

        def column(meters: list[str], values: Callable[[MeterDay], list[float]]) -> list[float]:
            out = [0.0] * len(cols.starts)
            for m in meters:
                for md in frame.meter_days.get(m, []):
                    i = cols.offset.get(md.grid.day)
                    if i is None:
                        continue
                    v = values(md)
                    if md.present is not None:
                        v = [x if p else 0.0 for x, p in zip(v, md.present)]
                    j = i + md.grid.n
                    out[i:j] = map(add, out[i:j], v)
            return out

        def kvarh(meters: list[str]) -> list[float]:
            return column(meters, lambda md: nan0(md.quarters["reactive_kvarh"]) if md.quarters is not None
                          else [0.0] * md.grid.n)

        cols.kwh.update((p, column(ms, lambda md: md.kwh)) for p, ms in groups.items())
        return cols

    def add_remainder(self, name: str, site: str, parts: list[str], site_present: list[bool]) -> None:
        """Column `name` = column `site` minus the sum of `parts`, where the site has data (else 0)."""
        self.kwh[name] = _remainder(self.kwh[site], [self.kwh[p] for p in parts], site_present)
        of = self._kvarh_of
        self._kvarh_of = lambda p: (_remainder(self.kvarh(site), [self.kvarh(q) for q in parts], site_present)
                                    if p == name else of(p))

    def kvarh(self, part: str) -> list[float]:
        if part not in self._kvarh:
            self._kvarh[part] = self._kvarh_of(part)
        return self._kvarh[part]

    def span(self, lo: datetime, hi: datetime) -> tuple[int, int]:
        """Index range of the quarters starting in [lo, hi)."""
        return bisect_left(self._keys, lo.timestamp()), bisect_left(self._keys, hi.timestamp())

    def total(self, part: str, lo: datetime, hi: datetime) -> float:
        i, j = self.span(lo, hi)
        return sum(self.kwh[part][i:j])

    def by_band(self, part: str, i: int, j: int, tariff: Tariff, v: Version) -> dict[str, float]:
        """kWh of quarters [i, j) per band of version `v`, each summed in time order (as billing does)."""
        kwh = self.kwh[part].__getitem__
        return {b: sum(map(kwh, idx)) for b, idx in self._band_index(tariff, v, i, j).items()}

    def _band_index(self, tariff: Tariff, v: Version, i: int, j: int) -> dict[str, list[int]]:
        key = (tariff.id, id(v), i, j)
        if key not in self._index_cache:
            bands = self.bands(tariff, v)
            idx: dict[str, list[int]] = {b: [] for b in v.bands}
            for k in range(i, j):
                idx[bands[k]].append(k)
            self._index_cache[key] = idx
        return self._index_cache[key]

    def bands(self, tariff: Tariff, v: Version) -> list[str]:
        """The band of every quarter under version `v`, in the tariff's local time."""
        key = (tariff.id, id(v))
        if key not in self._bands:
            tz = ZoneInfo(tariff.timezone)
            out: list[str] = []
            if self.grids and self.grids[0].start.tzinfo is tz:  # whole local days: by minute of the day
                for g in self.grids:
                    grid = v.grid[tariff.day_type(g.day)]
                    out.extend(grid[m // 15] for m in g.minutes)
            else:
                for t in self.starts:
                    lt = t.astimezone(tz)
                    out.append(v.band_at(tariff.day_type(lt.date()), lt))
            self._bands[key] = out
        return self._bands[key]


def _remainder(site: list[float], parts: list[list[float]], present: list[bool]) -> list[float]:
    total = add_lists([[0.0] * len(site), *parts])
    return [d if ok else 0.0 for d, ok in zip(map(sub, site, total), present)]


def summed_intervals(frame: Frame, meters: list[str], lo: datetime, hi: datetime) -> list[Interval]:
    """The given meters summed per quarter-hour as Intervals in [lo, hi) (covered: the least of the
    meters with data; gap: the most), made day by day from lists rather than meter by meter."""
    by_day: dict[object, list[MeterDay]] = {}
    for m in meters:
        for md in frame.meter_days.get(m, []):
            by_day.setdefault(md.grid.day, []).append(md)
    out: list[Interval] = []
    for day in sorted(by_day):  # type: ignore[type-var]
        mds = by_day[day]
        g = mds[0].grid
        n = g.n
        kwh, kvarh, kvah, gap = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
        cov, present = [_INF] * n, [False] * n
        for md in mds:
            q = md.quarters
            cols = [md.kwh, *((nan0(q[c]) for c in ("reactive_kvarh", "apparent_kvah", "covered_s")) if q is not None
                              else ([0.0] * n,) * 3), md.gap]
            if md.present is not None:  # quarters before the meter's first data do not count at all
                pr = md.present
                cols = [[x if p else z for x, p in zip(c, pr)] for c, z in zip(cols, (0.0, 0.0, 0.0, _INF, 0.0))]
                present = list(map(or_, present, pr))
            else:
                present = [True] * n
            kwh, kvarh, kvah = (list(map(add, a, b)) for a, b in zip((kwh, kvarh, kvah), cols))
            cov, gap = list(map(min, cov, cols[3])), list(map(max, gap, cols[4]))
        for t, ok, k, r, a, c, gp in zip(g.starts(), present, kwh, kvarh, kvah, cov, gap):
            if ok and lo <= t < hi:
                out.append(Interval(t, k, r, a, c, gp))
    return out


_INF = float("inf")
