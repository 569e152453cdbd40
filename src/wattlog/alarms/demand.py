"""The demand forecast: inside the running clock-aligned block (30 min TNB, 15 min MEA), the block's
projected average kW against the target, raised while there is still time to shed load.

projection = (kWh so far in the block + each meter's present kW × the time left) ÷ block length.
Energy is integrated from power (trapezoids between a meter's readings no further apart than the
gap); the target is `target_kw`, else this month's peak so far (the store's, raised by every block
seen live). The cost is the excess kW × the tariff's per-kW charges (what it adds to this month's bill).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..reading import Reading
from .rules import Alarm, Latch, Rule, fmt, hhmm


def part(t0: datetime, p0: float, t1: datetime, p1: float, lo: datetime, hi: datetime) -> float:
    """kWh of the straight line from (t0, p0) to (t1, p1) kW inside [lo, hi)."""
    a, b = max(t0, lo), min(t1, hi)
    span = (t1 - t0).total_seconds()
    if b <= a or span <= 0:
        return 0.0
    pa = p0 + (p1 - p0) * (a - t0).total_seconds() / span
    pb = p0 + (p1 - p0) * (b - t0).total_seconds() / span
    return (pa + pb) / 2 * (b - a).total_seconds() / 3600


class DemandWatch:
    def __init__(self, rule: Rule, tz: ZoneInfo, locations: dict[str, str], gap: float,
                 month_peak: Callable[[date], float | None] | None = None) -> None:
        self.rule, self.tz, self.locations, self.gap = rule, tz, locations, gap
        self.window = int(rule.params.get("window", 30))
        self.latch = Latch(rule, rule.scope, tz)
        self.month_peak = month_peak
        self.start: datetime | None = None  # the running block, UTC
        self.end: datetime | None = None
        self.end_s, self.s1, self.s2 = 0.0, 0.0, 0.0
        self.counts = True  # the running block can set the month's demand (tariff record_in bands)
        self.kwh = 0.0
        self.last: dict[str, tuple[datetime, float]] = {}
        self.first: datetime | None = None
        self.peaks: dict[tuple[int, int], float | None] = {}  # month -> highest block average seen or stored

    def _begin(self, start: datetime) -> None:
        self.start, self.end = start, start + timedelta(minutes=self.window)
        self.end_s = self.end.timestamp()
        self.counts = self._counts(start)
        # drop meters silent since before the block (bounded: once a block); the rest stay in the sums
        for m, (lt, kw) in list(self.last.items()):
            if (start - lt).total_seconds() > self.gap:
                del self.last[m]
        self.s1 = sum(kw for _, kw in self.last.values())
        self.s2 = sum(kw * lt.timestamp() for lt, kw in self.last.values())

    def _counts(self, start: datetime) -> bool:
        """Whether this block can set the demand: the tariff's record_in bands (once per block)."""
        bands, tariff = self.rule.params.get("record_in"), self.rule.params.get("tariff")
        if not bands or tariff is None:
            return True
        local = start.astimezone(self.tz)
        try:
            version = tariff.version_on(local.date())
        except Exception:  # noqa: BLE001 — no version in force: treat every block as counting
            return True
        return version.band_at(tariff.day_type(local.date()), local) in bands

    def _set_last(self, meter: str, t: datetime, kw: float) -> None:
        """Keep Σ kW and Σ kW·t of each meter's latest reading current in O(1) (the projection's sums)."""
        old = self.last.get(meter)
        if old is not None:
            self.s1 -= old[1]
            self.s2 -= old[1] * old[0].timestamp()
        self.last[meter] = (t, kw)
        self.s1 += kw
        self.s2 += kw * t.timestamp()

    def block_of(self, t: datetime) -> datetime:
        local = t.astimezone(self.tz)
        m = (local.hour * 60 + local.minute) // self.window * self.window
        return local.replace(hour=m // 60, minute=m % 60, second=0, microsecond=0).astimezone(t.tzinfo)

    def target(self) -> tuple[float | None, str]:
        if "target_kw" in self.rule.params:
            return float(self.rule.params["target_kw"]), "the site's target"
        local = self.start.astimezone(self.tz)
        month = (local.year, local.month)
        if month not in self.peaks:
            stored = self.month_peak(local.date().replace(day=1)) if self.month_peak else None
            self.peaks[month] = stored
        return self.peaks[month], "this month's peak so far"

    # -- blocks --------------------------------------------------------------------------------

    def _close(self, t: datetime) -> Alarm | None:
        """End the running block (and every empty one up to `t`); resolve its alarm."""
        out = None
        while self.start is not None and t >= self.end:
            end = self.end
            for m, (lt, kw) in self.last.items():  # each meter's last kW carried to the block's end
                if (end - lt).total_seconds() <= self.gap:
                    self.kwh += kw * (end - max(lt, self.start)).total_seconds() / 3600
            avg = self.kwh * 60 / self.window
            target, _ = self.target()
            if self.latch.active is not None:
                label = self._span()
                out = self.latch.step(end, avg, False, True, lambda a: (
                    f"Resolved: the {label} demand block at {self.rule.scope} ended at {fmt(avg, 'kW')} "
                    f"(target {fmt(target or 0, 'kW')})."))
                out.details["block_kw"] = round(avg, 3)
            if self.counts and self.first is not None and self.first <= self.start + timedelta(seconds=self.gap):
                local = self.start.astimezone(self.tz)
                month = (local.year, local.month)
                self.peaks[month] = max(avg, self.peaks.get(month) or 0.0)
            self.kwh = 0.0
            self._begin(end if t < end + timedelta(minutes=self.window) else self.block_of(t))
        return out

    def _span(self) -> str:
        return f"{hhmm(self.start, self.tz)}–{hhmm(self.end, self.tz)}"

    def tick(self, now: datetime) -> Alarm | None:
        return self._close(now) if self.start is not None else None

    def feed(self, r: Reading) -> Alarm | None:
        p = r.values.get("total_real_power")
        if p is None:
            return None
        t, kw = r.timestamp, p / 1000
        if self.start is None:
            self._begin(self.block_of(t))
            self.first = t
        prev = self.last.get(r.meter)
        if prev is not None and t >= self.end and 0 < (t - prev[0]).total_seconds() <= self.gap:
            self.kwh += part(prev[0], prev[1], t, kw, self.start, self.end)  # its share of the ending block
            self._set_last(r.meter, self.end, prev[1] + (kw - prev[1]) * (self.end - prev[0]) / (t - prev[0]))
            prev = self.last[r.meter]
        closed = self._close(t)
        prev = self.last.get(r.meter)
        if prev is not None and 0 < (t - prev[0]).total_seconds() <= self.gap:
            self.kwh += part(prev[0], prev[1], t, kw, self.start, self.end)
        self._set_last(r.meter, t, kw)
        return closed or self._judge(t)

    def _judge(self, t: datetime) -> Alarm | None:
        params = self.rule.params
        target, source = self.target()
        if target is None or not self.counts:
            return None
        left = self.end_s - t.timestamp()
        ahead = (self.end_s * self.s1 - self.s2) / 3600  # Σ each meter's kW × (block end - its last reading)
        projection = (self.kwh + ahead) * 60 / self.window
        elapsed = (t - self.start).total_seconds()
        firing = (projection > target and elapsed >= params.get("after_min", self.window / 6) * 60
                  and left >= params.get("min_left", 2) * 60)
        clearing = projection <= target * (1 - params.get("hysteresis_pct", 2) / 100)
        if self.latch.active is not None:
            self.latch.active.details["projection_kw"] = round(max(projection, self.latch.active.details.get(
                "projection_kw", 0)), 3)
        return self.latch.step(t, projection, firing, clearing, lambda a: self._words(a, projection, target, source, t),
                               lambda: self._details(projection, target, source, t, self.last))

    def _top(self, live: dict[str, tuple[datetime, float]]) -> list[tuple[str, float]]:
        by_loc: dict[str, float] = {}
        for m, (_, kw) in live.items():
            loc = self.locations.get(m, m)
            by_loc[loc] = by_loc.get(loc, 0.0) + kw
        return sorted(by_loc.items(), key=lambda x: -x[1])[:3]

    def _details(self, projection: float, target: float, source: str, t: datetime,
                 live: dict[str, tuple[datetime, float]]) -> dict:
        rate = float(self.rule.params.get("rate", 0.0))
        return {"projection_kw": round(projection, 3), "target_kw": round(target, 3), "target_source": source,
                "minutes_left": round((self.end - t).total_seconds() / 60, 1), "block_start": self.start.isoformat(),
                "block_end": self.end.isoformat(), "top": [[loc, round(kw, 2)] for loc, kw in self._top(live)],
                "rate_per_kw": rate, "currency": self.rule.params.get("currency", ""),
                "cost": round((projection - target) * rate, 2)}

    def _words(self, a: Alarm, projection: float, target: float, source: str, t: datetime) -> str:
        if a.state == "resolved":
            return (f"Resolved: the demand forecast at {self.rule.scope} is back to {fmt(projection, 'kW')} at "
                    f"{hhmm(t, self.tz)} (local time), below the target {fmt(target, 'kW')}.")
        d = a.details
        top = ", ".join(f"{loc} {fmt(kw, 'kW')}" for loc, kw in d["top"])
        text = (f"Demand forecast at {self.rule.scope}: the {self._span()} block (local time) is heading for "
                f"{fmt(projection, 'kW')}, above the target {fmt(target, 'kW')} ({source}). "
                f"{d['minutes_left']:.0f} min left: shed {fmt(projection - target, 'kW')} now. Drawing most: {top}.")
        if d["rate_per_kw"]:
            text += (f" Left as it is, it would add {d['currency']} {d['cost']:,.2f} to this month's demand charge "
                     f"({d['currency']} {d['rate_per_kw']:.2f}/kW).")
        return text
