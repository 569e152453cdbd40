"""Power quality per location: voltage against tolerance, NEMA unbalance, power factor, frequency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from operator import add
from typing import TYPE_CHECKING

from ..analytics.frame import Frame, MeterDay, load, no_gc
from ..analytics.settings import ReportSettings
from ..store.quarters import F32
from .header import Header, header
from .result import Table, pct, r

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported only when a report runs
    from ..store import Store

EPS = 1e-3
NEMA_NOTE = ("unbalance is NEMA's (largest deviation from the mean of the three phase voltages ÷ the mean); "
             "IEC's negative/positive-sequence ratio needs phase angles, which the RX380 does not give")


FIELDS = ("energy_kwh", "apparent_kvah", *F32)  # the quarter fields read here

@dataclass
class MonthPF:
    month: str  # YYYY-MM
    pf: float | None  # energy-weighted: kWh / kVAh over the month


@dataclass
class Quality:
    location: str
    phase_v: tuple[float | None, float | None]  # lowest, highest phase voltage read
    line_v: tuple[float | None, float | None]
    buckets: int  # 15-minute buckets with voltage readings
    voltage_out_pct: float | None  # buckets with any phase (or line) voltage outside tolerance
    unbalance_max: float | None  # %, NEMA
    unbalance_over_pct: float | None  # buckets above the limit
    pf_months: list[MonthPF]
    pf_low_pct: float | None  # buckets with energy whose kWh/kVAh is below the penalty line
    freq: tuple[float | None, float | None]
    freq_out: int  # buckets with a frequency outside the band


@dataclass
class QualityReport:
    header: Header
    limits: dict[str, object]
    rows: list[Quality]
    notes: list[str] = field(default_factory=list)

    def tables(self) -> list[Table]:
        lim = self.limits
        rows = [[q.location, r(q.phase_v[0], 1), r(q.phase_v[1], 1), r(q.line_v[0], 1), r(q.line_v[1], 1),
                 r(q.voltage_out_pct, 2), r(q.unbalance_max, 2), r(q.unbalance_over_pct, 2),
                 " ".join(f"{m.month}:{m.pf:.3f}" for m in q.pf_months if m.pf is not None), r(q.pf_low_pct, 2),
                 r(q.freq[0], 2), r(q.freq[1], 2), q.freq_out] for q in self.rows]
        return [Table("quality", f"power quality (phase {lim['phase_v']} V, line {lim['line_v']} V, unbalance "
                      f"≤ {lim['unbalance_pct']} %, PF ≥ {lim['pf_line']}, {lim['hz']} Hz)",
                      ["location", "V min", "V max", "V LL min", "V LL max", "V out %", "unbalance max %",
                       "unbalance over %", "PF by month", "PF low %", "Hz min", "Hz max", "Hz out"], rows,
                      [*self.header.notes, *self.notes])]


def quality(store: Store, start: date, end: date, settings: ReportSettings | None = None,
            location: str | None = None) -> QualityReport:
    """Voltage, unbalance, power factor and frequency per location over [start, end)."""
    settings = settings or ReportSettings(timezone=store.tz.key)
    with no_gc():
        return quality_of(load(store, start, end, settings, fields=FIELDS), location)


def quality_of(frame: Frame, location: str | None = None) -> QualityReport:
    st = frame.settings
    limits = {"phase_v": [round(v, 1) for v in st.phase_band], "line_v": [round(v, 1) for v in st.line_band],
              "unbalance_pct": st.unbalance_limit, "pf_line": st.pf_line, "hz": [round(v, 2) for v in st.hz_band]}
    rows = []
    for loc, meters in sorted(frame.groups(include_main=True).items()):
        if location is not None and loc != location:
            continue
        rows.append(_location(loc, [md for m in meters for md in frame.meter_days[m]], st))
    return QualityReport(header("quality", frame), limits, rows, [NEMA_NOTE])


def _extreme(values: list[float | None], pick: type[min] | type[max]) -> float | None:  # type: ignore[valid-type]
    present = [v for v in values if v is not None]
    return pick(present) if present else None


def _location(loc: str, mds: list[MeterDay], st: ReportSettings) -> Quality:
    rows = [md.row for md in mds if md.row is not None]
    col = lambda c: [x[c] for x in rows]  # noqa: E731
    # Quarter values are float32 (quarters.py): widen the limits by far less than the meter's 0.1 V.
    plo, phi = st.phase_band[0] - EPS, st.phase_band[1] + EPS
    llo, lhi = st.line_band[0] - EPS, st.line_band[1] + EPS
    flo, fhi = st.hz_band[0] - EPS, st.hz_band[1] + EPS
    unb_limit = st.unbalance_limit + EPS
    line = st.pf_line
    by_day: dict[date, list[MeterDay]] = {}
    for md in mds:
        if md.quarters is not None:
            by_day.setdefault(md.grid.day, []).append(md)
    buckets = v_out = unb_over = f_out = pf_low = with_energy = 0
    for parts in by_day.values():
        n = parts[0].grid.n
        has_all = False  # some meter has phase voltages in every quarter (the usual day)
        has: set[int] = set()
        out: set[int] = set()
        over: set[int] = set()
        fbad: set[int] = set()
        e_sum: list[float] | None = None
        s_sum: list[float] | None = None
        for md in parts:
            q, x = md.quarters, md.row
            assert q is not None and x is not None
            vmin = q["voltage_min"]
            total = sum(vmin)
            if total == total:
                has_all = True
            elif not has_all:  # some quarter without phase voltages (a NaN): count quarter by quarter
                has.update(i for i, (a, b) in enumerate(zip(vmin, q["voltage_ll_min"])) if a == a or b == b)
            if not _inside(x["voltage_min"], x["voltage_max"], plo, phi) or not _inside(
                    x["voltage_ll_min"], x["voltage_ll_max"], llo, lhi):  # look at quarters only on such days
                out.update(i for i, (a, b, c, d) in enumerate(zip(vmin, q["voltage_max"], q["voltage_ll_min"],
                                                                  q["voltage_ll_max"]))
                           if a < plo or b > phi or c < llo or d > lhi)
            if (x["unbalance_max"] or 0) > unb_limit:
                over.update(i for i, u in enumerate(q["unbalance_max"]) if u > unb_limit)
            if not _inside(x["freq_min"], x["freq_max"], flo, fhi):
                fbad.update(i for i, (a, b) in enumerate(zip(q["freq_min"], q["freq_max"])) if a < flo or b > fhi)
            e, sv = q["energy_kwh"], q["apparent_kvah"]
            if (x["energy_kwh"] is None or x["apparent_kvah"] is None or md.has_gap
                    or x["covered_s"] < n * 900 - 1e-6):  # quarters without rows are NaN: count as nothing
                e = [0.0 if v != v else v for v in e]
                sv = [0.0 if v != v else v for v in sv]
            e_sum = e if e_sum is None else list(map(add, e_sum, e))
            s_sum = sv if s_sum is None else list(map(add, s_sum, sv))
        buckets += n if has_all else len(has)
        v_out += len(out)
        unb_over += len(over)
        f_out += len(fbad)
        if e_sum is not None and s_sum is not None:
            low = [abs(a) < line * b for a, b in zip(e_sum, s_sum) if b > 0 and a != 0]
            with_energy += len(low)
            pf_low += sum(low)
    months: dict[tuple[int, int], list[float]] = {}
    for x, md in ((md.row, md) for md in mds if md.row is not None):
        acc = months.setdefault((md.grid.day.year, md.grid.day.month), [0.0, 0.0])
        acc[0] += x["energy_kwh"] or 0.0
        acc[1] += x["apparent_kvah"] or 0.0
    pfs = [MonthPF(f"{y:04d}-{m:02d}", min(1.0, abs(e) / s) if s > 0 else None) for (y, m), (e, s) in sorted(months.items())]
    return Quality(loc, (_extreme(col("voltage_min"), min), _extreme(col("voltage_max"), max)),
                   (_extreme(col("voltage_ll_min"), min), _extreme(col("voltage_ll_max"), max)),
                   buckets, pct(v_out, buckets), _extreme(col("unbalance_max"), max), pct(unb_over, buckets),
                   pfs, pct(pf_low, with_energy), (_extreme(col("freq_min"), min), _extreme(col("freq_max"), max)),
                   f_out)


def _inside(lo: float | None, hi: float | None, a: float, b: float) -> bool:
    """Whether a day's extremes stay inside [a, b] (no readings: nothing outside)."""
    return (lo is None or lo >= a) and (hi is None or hi <= b)
