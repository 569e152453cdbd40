"""The alarm engine: each reading goes only to the watches of its meter (bounded work per reading);
`tick` finds silent meters and ends demand blocks. Pure: no I/O, no clock of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ..analytics.settings import ReportSettings
from ..reading import Reading
from .demand import DemandWatch
from .rules import LEVEL_KINDS, Alarm, Latch, Rule, fmt, hhmm, level_value


class LevelWatch:
    """A level rule on one meter: voltage, unbalance, power factor, current, frequency."""

    def __init__(self, rule: Rule, meter: str, tz: ZoneInfo) -> None:
        self.rule, self.latch, self.tz = rule, Latch(rule, meter, tz), tz

    def feed(self, r: Reading) -> Alarm | None:
        got = level_value(self.rule.kind, r)
        if got is None:
            return None
        value, where = got
        rule = self.rule
        if self.latch.active is None and not rule.fires(value):  # the usual case: nothing to build
            self.latch.since = None
            return None
        limit = " or ".join(f"{w} {fmt(x, rule.unit)}" for w, x in (("above", rule.above), ("below", rule.below))
                            if x is not None)

        def words(a: Alarm) -> str:
            on = f" on {where}" if where and where not in ("total", "NEMA") else ""
            if a.state == "raised":
                return (f"{rule.label} at {r.meter}: {fmt(value, rule.unit)}{on}, {limit}, since "
                        f"{hhmm(a.start, self.tz)} (local time).")
            return (f"Resolved: {rule.label.lower()} at {r.meter}, back to {fmt(value, rule.unit)} at "
                    f"{hhmm(r.timestamp, self.tz)}; worst {fmt(a.peak, rule.unit)}.")

        return self.latch.step(r.timestamp, value, rule.fires(value), rule.clears(value), words,
                               lambda: {"phase": where, "limit": limit})


class OfflineWatch:
    """No reading from a meter for `minutes`: raised by tick, resolved by its next reading."""

    def __init__(self, rule: Rule, meter: str, tz: ZoneInfo) -> None:
        self.rule, self.meter, self.tz = rule, meter, tz
        self.latch = Latch(rule, meter, tz)
        self.last: datetime | None = None

    def feed(self, r: Reading) -> Alarm | None:
        self.last = r.timestamp
        if self.latch.active is None:
            return None
        silent = (r.timestamp - self.latch.active.start).total_seconds() / 60
        return self.latch.step(r.timestamp, silent, False, True, lambda a: (
            f"Resolved: meter {self.meter} answers again at {hhmm(r.timestamp, self.tz)} (local time), "
            f"after {silent:.0f} min without readings."))

    def tick(self, now: datetime) -> Alarm | None:
        if self.last is None:
            self.last = now  # silence counts from the start of the service
        silent = (now - self.last).total_seconds() / 60
        if self.latch.active is not None or silent <= self.rule.params["minutes"]:
            return None
        self.latch.since = self.last  # the event starts at the last reading
        return self.latch.step(now, silent, True, False, lambda a: (
            f"Meter offline: no reading from {self.meter} since {hhmm(self.last, self.tz)} (local time), "
            f"{silent:.0f} min."))


class SumWatch:
    """The meters of a scope added up: after-hours kW above the base load, or today's kWh above a budget."""

    def __init__(self, rule: Rule, tz: ZoneInfo, settings: ReportSettings, gap: float) -> None:
        self.rule, self.tz, self.settings, self.gap = rule, tz, settings, gap
        self.latch = Latch(rule, rule.scope, tz)
        self.kw: dict[str, float] = {}
        self.last: dict[str, tuple[datetime, float]] = {}
        self.kwh, self.day = 0.0, None

    def working(self, t: datetime) -> bool:
        local = t.astimezone(self.tz)
        s = self.settings
        if local.weekday() not in s.working_days or local.date() in s.holidays:
            return False
        start, end = s.working_hours
        lt = local.time()
        return start <= lt and (end.hour == 0 and end.minute == 0 or lt < end)

    def feed(self, r: Reading) -> Alarm | None:
        p = r.values.get("total_real_power")
        if p is None:
            return None
        kw, t = p / 1000, r.timestamp
        self.kw[r.meter] = kw
        rule = self.rule
        if rule.kind == "after_hours":
            total = sum(self.kw.values())
            outside = not self.working(t)
            return self.latch.step(t, total, outside and rule.fires(total), not outside or rule.clears(total),
                                   lambda a: self._after_words(a, total, t))
        day = t.astimezone(self.tz).date()
        out = None
        if day != self.day:  # a new day: today's budget starts again
            if self.latch.active is not None:
                out = self.latch.step(t, self.kwh, False, True, lambda a: (
                    f"Resolved: the day ended with {fmt(a.peak, 'kWh')} at {rule.scope}."))
            self.kwh, self.day, self.last = 0.0, day, {}
        prev = self.last.get(r.meter)
        if prev is not None and 0 < (t - prev[0]).total_seconds() <= self.gap:
            self.kwh += (prev[1] + kw) / 2 * (t - prev[0]).total_seconds() / 3600
        self.last[r.meter] = (t, kw)
        return out or self.latch.step(t, self.kwh, rule.fires(self.kwh), False, lambda a: (
            f"Daily energy above budget at {rule.scope}: {fmt(self.kwh, 'kWh')} used today by "
            f"{hhmm(t, self.tz)} (local time), budget {fmt(rule.above or 0, 'kWh')}."))

    def _after_words(self, a: Alarm, total: float, t: datetime) -> str:
        base = self.rule.params.get("base_kw", 0.0)
        if a.state == "raised":
            return (f"Consumption after hours at {self.rule.scope}: {fmt(total, 'kW')} at {hhmm(t, self.tz)} "
                    f"(local time), base load {fmt(base, 'kW')}, alarm above {fmt(self.rule.above or 0, 'kW')}.")
        return f"Resolved: consumption after hours at {self.rule.scope}, {fmt(total, 'kW')} at {hhmm(t, self.tz)}."


class Engine:
    """Feed readings (and tick every few seconds); get the alarms raised and resolved."""

    def __init__(self, rules: list[Rule], locations: dict[str, str], tz: ZoneInfo,
                 settings: ReportSettings | None = None, gap_seconds: float = 60.0,
                 month_peak: Callable[[date, Rule], float | None] | None = None) -> None:
        self.rules, self.tz = rules, tz
        settings = settings or ReportSettings(timezone=str(tz))
        self.by_meter: dict[str, list] = {}
        self.ticking: list = []
        for rule in rules:
            if rule.kind in LEVEL_KINDS or rule.kind == "offline":
                cls = LevelWatch if rule.kind in LEVEL_KINDS else OfflineWatch
                for m in rule.meters:
                    w = cls(rule, m, tz)
                    self.by_meter.setdefault(m, []).append(w)
                    if rule.kind == "offline":
                        self.ticking.append(w)
                continue
            peak = (lambda month, r=rule: month_peak(month, r)) if month_peak else None
            w = DemandWatch(rule, tz, locations, gap_seconds, peak) if rule.kind == "demand" \
                else SumWatch(rule, tz, settings, gap_seconds)
            for m in rule.meters:
                self.by_meter.setdefault(m, []).append(w)
            if rule.kind == "demand":
                self.ticking.append(w)

    def feed(self, reading: Reading) -> list[Alarm]:
        out = []
        for w in self.by_meter.get(reading.meter, ()):
            a = w.feed(reading)
            if a is not None:
                out.append(a)
        return out

    def tick(self, now: datetime) -> list[Alarm]:
        return [a for w in self.ticking if (a := w.tick(now)) is not None]

    def active(self) -> list[Alarm]:
        seen, out = set(), []
        for ws in self.by_meter.values():
            for w in ws:
                latch = getattr(w, "latch", None)
                if latch is not None and latch.active is not None and id(w) not in seen:
                    seen.add(id(w))
                    out.append(latch.active)
        return out
