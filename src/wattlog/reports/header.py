"""What every report shares: locations from a frame, the site total, coverage notes, the result header."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date

from ..analytics.frame import COARSE, DISAGREE, RESET, SCALED, Frame, LocationDay

UNMETERED = "(unmetered)"  # the main meter's excess over its sub-meters: shown, never hidden


@dataclass
class Header:
    """Which report, over which local dates, and what the reader must know about the data."""

    report: str
    start: date  # first local date
    end: date  # day after the last (the range is [start, end))
    timezone: str
    main_meter: str | None
    notes: list[str] = field(default_factory=list)


def header(name: str, frame: Frame) -> Header:
    return Header(name, frame.start, frame.end, frame.settings.timezone, frame.main, notes(frame))


def by_location(frame: Frame, only: str | None = None) -> dict[str, list[LocationDay]]:
    """Location -> its meters summed per day (the main meter is the site, not a location)."""
    groups = frame.groups()
    if only is not None:
        groups = {k: v for k, v in groups.items() if k == only}
    return {loc: frame.location_days(meters, loc) for loc, meters in sorted(groups.items())}


def site_days(frame: Frame) -> tuple[str, list[LocationDay]]:
    """(what it is, days) of the whole site: the main meter where one is set, else every meter summed."""
    if frame.main:
        return f"main meter {frame.main}", frame.location_days([frame.main], "site")
    meters = [m for ms in frame.groups().values() for m in ms]
    return "sum of all meters", frame.location_days(meters, "site")


def unknown_hours(days: list[LocationDay]) -> float:
    return sum(sum(d.gap) for d in days if d.has_gap) / 3600


def notes(frame: Frame) -> list[str]:
    """Coverage and counter findings, one line each, in plain words."""
    out: list[str] = []
    checks = frame.checks()
    scaled = [c for c in checks if c.status == SCALED]
    if scaled:
        med = statistics.median((c.factor - 1) * 100 for c in scaled)
        out.append(f"{len(scaled)} meter-days scaled to their kWh counters (median correction {med:+.2f} %)")
    both = [c for c in checks if c.status == COARSE and c.integrated_kwh and c.counter_kwh is not None]
    if both:  # counters are the truth over a span, never a reason to reshape a quarter (issue 11)
        power, counter = sum(c.integrated_kwh or 0.0 for c in both), sum(c.counter_kwh or 0.0 for c in both)
        diff = f" ({(counter - power) / power * 100:+.2f} %)" if power else ""
        out.append(f"kWh counters where a day's counter delta is too coarse to scale by: {counter:,.0f} kWh against "
                   f"{power:,.1f} kWh from power{diff} over {len(both)} meter-day(s) (each day ±1 kWh); energy is from "
                   "power, not reshaped")
    for c in checks:
        if c.status == RESET:
            out.append(f"meter {c.meter}: its kWh counter went backwards on {c.day} (a reset or a new meter): "
                       "flagged; that day's energy is from power")
    by_meter: dict[str, list] = {}
    for c in checks:
        if c.status == DISAGREE:
            by_meter.setdefault(c.meter, []).append(c)
    for meter, bad in sorted(by_meter.items()):
        worst = max(bad, key=lambda c: abs(c.difference_pct or 0))
        out.append(f"meter {meter}: on {len(bad)} day(s) its kWh counter and its power disagree by more than "
                   f"{frame.settings.counter_tolerance:g} % (worst {worst.day}: counter {worst.counter_kwh:.0f} kWh, "
                   f"power {worst.integrated_kwh:.1f} kWh, {worst.difference_pct:+.1f} %): energy from power, "
                   "not scaled; check the CT ratio and what the meter measures")
    for meter, days in sorted(frame.meter_days.items()):
        hours = sum(sum(md.gap) for md in days) / 3600
        if hours > 0:
            out.append(f"meter {meter}: {hours:.2f} h without data in this range (gaps are not filled: "
                       "energy covers the measured time only)")
    return out
