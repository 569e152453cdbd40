"""Profile: the average daily load curve per location, working days against weekends and holidays."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from ..analytics.calendar import day_kind
from ..analytics.frame import ENERGY, Frame, load, no_gc
from ..analytics.settings import ReportSettings
from ..errors import ReportError
from .header import Header, by_location, header
from .result import Table, r

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported only when a report runs
    from ..store import Store

KINDS = ("working", "non-working")  # non-working: days off (e.g. Saturday, Sunday) and holidays


@dataclass
class Profile:
    location: str
    slots: list[str]  # local "HH:MM" of each slot
    kw: dict[str, list[float | None]]  # kind -> average kW per slot (None: no complete slot)
    days: dict[str, int]  # kind -> dates with data


@dataclass
class ProfileReport:
    header: Header
    resolution: int  # minutes per slot: 15 or 60
    profiles: list[Profile]
    notes: list[str] = field(default_factory=list)

    def tables(self) -> list[Table]:
        cols = ["location", "slot", *(f"{k} kW" for k in KINDS)]
        rows = [[p.location, s, *(r(p.kw[k][i], 2) for k in KINDS)] for p in self.profiles
                for i, s in enumerate(p.slots)]
        days = "; ".join(f"{p.location}: {p.days['working']} working, {p.days['non-working']} non-working days"
                         for p in self.profiles)
        return [Table("profile", f"average load (kW) per {self.resolution} min, local time", cols, rows,
                      [days, *self.header.notes, *self.notes])]


def profile(store: Store, start: date, end: date, settings: ReportSettings | None = None,
            location: str | None = None, resolution: int = 60) -> ProfileReport:
    """Average kW per slot of the local day, over working days and over non-working days."""
    settings = settings or ReportSettings(timezone=store.tz.key)
    with no_gc():
        return profile_of(load(store, start, end, settings, fields=ENERGY), location, resolution)


def profile_of(frame: Frame, location: str | None = None, resolution: int = 60) -> ProfileReport:
    if resolution not in (15, 30, 60):
        raise ReportError(f"a profile cannot have {resolution}-minute slots", "use --resolution 15, 30 or 60")
    n = 1440 // resolution
    hours = resolution / 60
    out = []
    for loc, days in by_location(frame, location).items():
        sums = {k: [0.0] * n for k in KINDS}
        counts = {k: [0] * n for k in KINDS}
        seen = {k: 0 for k in KINDS}
        for d in days:
            kind = "working" if day_kind(d.grid.day, frame.settings) == "workday" else "non-working"
            if d.clean:  # every slot complete: sums by slicing
                per = resolution // 15
                v = d.kwh
                acc = sums[kind]
                for s in range(n):
                    acc[s] += sum(v[s * per:(s + 1) * per])
                    counts[kind][s] += 1
                seen[kind] += 1
                continue
            slot_kwh = [0.0] * n
            slot_q = [0] * n
            bad = [False] * n
            for m, v, g, p in zip(d.grid.minutes, d.kwh, d.gap, d.present):
                s = m // resolution
                slot_kwh[s] += v
                slot_q[s] += 1
                bad[s] = bad[s] or g > 0 or not p
            per_slot = resolution // 15
            any_data = False
            for s in range(n):
                if slot_q[s] == per_slot and not bad[s]:  # complete slots only (a DST day's extra hour is left out)
                    sums[kind][s] += slot_kwh[s]
                    counts[kind][s] += 1
                    any_data = True
            seen[kind] += any_data
        kw = {k: [sums[k][s] / counts[k][s] / hours if counts[k][s] else None for s in range(n)] for k in KINDS}
        slots = [f"{s * resolution // 60:02d}:{s * resolution % 60:02d}" for s in range(n)]
        out.append(Profile(loc, slots, kw, seen))
    return ProfileReport(header("profile", frame), resolution, out)
