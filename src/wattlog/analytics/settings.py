"""ReportSettings: the site's report parameters (working hours, holidays, main meter, demand window) and their validation."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class ReportSettings:
    """Everything a report needs to know about the site besides its data."""

    timezone: str = "Asia/Kuala_Lumpur"
    working_days: frozenset[int] = frozenset(range(5))  # Monday = 0
    working_hours: tuple[time, time] = (time(8), time(18))  # [start, end) local; end 00:00 = midnight
    holidays: frozenset[date] = frozenset()  # counted like non-working days (and weekend-like in profiles)
    main_meter: str | None = None  # the meter measuring the whole site: its excess is the unmetered remainder
    demand_window: int = 30  # minutes, clock-aligned blocks (Malaysia 30, Thailand 15)
    demand_top: int = 5  # blocks listed per month beside the maximum
    base_hours: tuple[time, time] = (time(0), time(5))  # night window searched for the base load
    nominal_phase_v: float = 230.0
    nominal_line_v: float = 400.0
    voltage_tolerance: tuple[float, float] = (-6.0, 10.0)  # % of nominal (Malaysia: -6 % / +10 %)
    unbalance_limit: float = 2.0  # % NEMA
    pf_line: float = 0.85  # penalty line (Malaysia, Thailand, Indonesia)
    nominal_hz: float = 50.0
    frequency_band: float = 1.0  # ± % of nominal
    min_counter_kwh: float = 500.0  # scale a day to its counter only from this delta (±1 kWh = ±0.2 %)
    counter_tolerance: float = 10.0  # % disagreement beyond which the counter is not trusted for scaling

    def __post_init__(self) -> None:
        problems = check(self)
        if problems:
            raise ConfigError(problems[0][1], key=problems[0][0], fix=problems[0][2])

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def phase_band(self) -> tuple[float, float]:
        return _band(self.nominal_phase_v, self.voltage_tolerance)

    @property
    def line_band(self) -> tuple[float, float]:
        return _band(self.nominal_line_v, self.voltage_tolerance)

    @property
    def hz_band(self) -> tuple[float, float]:
        d = self.nominal_hz * self.frequency_band / 100
        return self.nominal_hz - d, self.nominal_hz + d

    def with_(self, **changes: Any) -> ReportSettings:
        """A copy with some settings changed (None values are ignored: 'not given')."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "reports.", **base: Any) -> ReportSettings:
        """Settings from a config table such as [reports] (keys as below; times "HH:MM"; days
        "mon-fri" or a list; holidays ISO dates). Unknown keys and bad values raise ConfigError."""
        names = {f.name for f in fields(cls)} - {"timezone"}
        out: dict[str, Any] = dict(base)
        for key, value in data.items():
            if key not in names:
                raise ConfigError("unknown key", key=where + key, fix=f"allowed: {', '.join(sorted(names))}")
            try:
                out[key] = _parse(key, value)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"invalid value {value!r}: {exc}", key=where + key, fix=_HINTS.get(key, "")) from None
        return cls(**out)


_HINTS = {
    "working_days": 'working_days = "mon-fri" (or ["mon", "tue", ...])',
    "working_hours": 'working_hours = "08:00-18:00"',
    "base_hours": 'base_hours = "00:00-05:00"',
    "holidays": 'holidays = ["2026-08-31", "2026-09-16"]',
    "voltage_tolerance": "voltage_tolerance = [-6, 10] (percent of nominal)",
}


def _band(nominal: float, tol: tuple[float, float]) -> tuple[float, float]:
    return nominal * (100 + tol[0]) / 100, nominal * (100 + tol[1]) / 100


def parse_days(value: Any) -> frozenset[int]:
    """ "mon-fri", "mon,wed,sat", ["mon", "tue"] -> weekday numbers (Monday = 0)."""
    items = re.split(r"[,\s]+", value.strip().lower()) if isinstance(value, str) else [str(v).lower() for v in value]
    out: set[int] = set()
    for item in filter(None, items):
        a, _, b = item.partition("-")
        if a[:3] not in DAY_NAMES or (b and b[:3] not in DAY_NAMES):
            raise ValueError(f"unknown day {item!r}")
        i, j = DAY_NAMES.index(a[:3]), DAY_NAMES.index((b or a)[:3])
        out.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
    return frozenset(out)


def parse_hours(value: Any) -> tuple[time, time]:
    """ "08:00-18:00" (or a two-item list) -> (start, end); 24:00 is written as 00:00 or 24:00."""
    parts = value.split("-") if isinstance(value, str) else list(value)
    if len(parts) != 2:
        raise ValueError("expected start-end")
    a, b = (_time(str(p).strip()) for p in parts)
    return a, b


def _time(text: str) -> time:
    if text in ("24:00", "24"):
        return time(0)
    h, _, m = text.partition(":")
    return time(int(h), int(m or 0))


def _parse(key: str, value: Any) -> Any:
    if key == "working_days":
        return parse_days(value)
    if key in ("working_hours", "base_hours"):
        return parse_hours(value)
    if key == "holidays":
        return frozenset(v if isinstance(v, date) else date.fromisoformat(str(v)) for v in value)
    if key == "voltage_tolerance":
        lo, hi = value
        return float(lo), float(hi)
    if key == "main_meter":
        return str(value) if value else None
    if key in ("demand_window", "demand_top"):
        if isinstance(value, bool) or int(value) != value:
            raise ValueError("expected a whole number")
        return int(value)
    if isinstance(value, bool):
        raise ValueError("expected a number")
    return float(value)


def check(s: ReportSettings) -> list[tuple[str, str, str]]:
    """(key, problem, fix) for every inconsistent setting."""
    out: list[tuple[str, str, str]] = []
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        out.append(("timezone", f"unknown time zone {s.timezone!r}", 'use an IANA name like "Asia/Kuala_Lumpur"'))
    if s.demand_window <= 0 or s.demand_window % 15 or s.demand_window > 1440:
        out.append(("demand_window", f"{s.demand_window} minutes is not a multiple of 15", "use 15, 30 or 60"))
    for key in ("working_hours", "base_hours"):
        a, b = getattr(s, key)
        if a.minute % 15 or b.minute % 15 or a.second or b.second:
            out.append((key, "hours must fall on quarter hours", _HINTS[key]))
        elif b != time(0) and b <= a:
            out.append((key, f"{a:%H:%M}-{b:%H:%M} ends before it starts", _HINTS[key]))
    if not s.working_days <= set(range(7)):
        out.append(("working_days", "weekdays are 0 (Monday) to 6", _HINTS["working_days"]))
    if s.voltage_tolerance[0] >= 0 or s.voltage_tolerance[1] <= 0:
        out.append(("voltage_tolerance", "expected a negative and a positive percentage", _HINTS["voltage_tolerance"]))
    if not 0 < s.pf_line <= 1:
        out.append(("pf_line", f"{s.pf_line} is not a power factor", "e.g. pf_line = 0.85"))
    if s.demand_top < 0:
        out.append(("demand_top", "must be 0 or more", "e.g. demand_top = 5"))
    return out
