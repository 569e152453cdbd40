"""Heatmap: kWh by local hour of day × date (or × weekday, averaged) per location: the "when"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from ..analytics.frame import ENERGY, Frame, LocationDay, load, no_gc
from ..analytics.settings import DAY_NAMES, ReportSettings
from ..errors import ReportError
from .header import Header, by_location, header
from .result import Table, r

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported only when a report runs
    from ..store import Store

HOURS = list(range(24))


@dataclass
class Heatmap:
    """One location: rows (dates or weekdays) × 24 local hours."""

    location: str
    rows: list[str]  # ISO dates, or mon … sun
    kwh: list[list[float | None]]  # None: no data in that hour (or no such hour: DST)
    complete: list[list[bool]]  # False where a gap makes the hour's kWh a lower bound
    days: list[int]  # by weekday: how many dates each average is over


@dataclass
class HeatmapReport:
    header: Header
    by: str  # date | weekday
    maps: list[Heatmap]
    notes: list[str] = field(default_factory=list)

    def tables(self) -> list[Table]:
        out = []
        for m in self.maps:
            unit = "kWh" if self.by == "date" else "average kWh"
            rows = [[label, *(r(v, 2) for v in vals)] for label, vals in zip(m.rows, m.kwh)]
            out.append(Table(f"heatmap:{m.location}", f"{m.location}: {unit} by hour of day",
                             [self.by, *(f"{h:02d}" for h in HOURS)], rows))
        tidy = [[m.location, label, h, r(v, 4), ok] for m in self.maps for label, vals, oks in
                zip(m.rows, m.kwh, m.complete) for h, v, ok in zip(HOURS, vals, oks) if v is not None]
        # the tidy table first: CSV and spreadsheets pivot it as they like
        return [Table("cells", "kWh by location, row and hour", ["location", self.by, "hour", "kwh", "complete"],
                      tidy, self.header.notes + self.notes), *out]


def hourly(day: LocationDay) -> tuple[list[float | None], list[bool]]:
    """kWh of each local hour of a location-day (None where no quarter of it is in the data)."""
    if day.clean:
        v = day.kwh
        return [v[i] + v[i + 1] + v[i + 2] + v[i + 3] for i in range(0, 96, 4)], [True] * 24
    kwh: list[float | None] = [None] * 24
    ok = [True] * 24
    for m, v, g, p in zip(day.grid.minutes, day.kwh, day.gap, day.present):
        if not p:
            continue
        h = m // 60
        kwh[h] = v if kwh[h] is None else kwh[h] + v  # type: ignore[operator]
        if g > 0:
            ok[h] = False
    return kwh, [o and k is not None for o, k in zip(ok, kwh)]


def heatmap(store: Store, start: date, end: date, settings: ReportSettings | None = None,
            location: str | None = None, by: str = "date") -> HeatmapReport:
    """kWh per local hour × date, or × weekday averaged over that weekday's complete hours."""
    settings = settings or ReportSettings(timezone=store.tz.key)
    with no_gc():
        return heatmap_of(load(store, start, end, settings, fields=ENERGY), location, by)


def heatmap_of(frame: Frame, location: str | None = None, by: str = "date") -> HeatmapReport:
    if by not in ("date", "weekday"):
        raise ReportError(f"a heatmap cannot be by {by!r}", "use --by date or --by weekday")
    maps = []
    for loc, days in by_location(frame, location).items():
        if by == "date":
            cells = [hourly(d) for d in days]
            maps.append(Heatmap(loc, [d.grid.day.isoformat() for d in days], [c[0] for c in cells],
                                [c[1] for c in cells], [1] * len(days)))
            continue
        sums = [[0.0] * 24 for _ in range(7)]
        counts = [[0] * 24 for _ in range(7)]
        dates = [0] * 7
        for d in days:
            wd = d.grid.weekday
            dates[wd] += 1
            kwh, ok = hourly(d)
            for h in HOURS:
                if ok[h]:  # averages over complete hours only: a gap would drag them down
                    sums[wd][h] += kwh[h]  # type: ignore[operator]
                    counts[wd][h] += 1
        avg = [[s / c if c else None for s, c in zip(srow, crow)] for srow, crow in zip(sums, counts)]
        maps.append(Heatmap(loc, list(DAY_NAMES), avg, [[c > 0 for c in crow] for crow in counts], dates))
    return HeatmapReport(header("heatmap", frame), by, maps)
