"""The monthly report's later sections: after hours and base load, power quality, the bill, data quality."""

from __future__ import annotations

from decimal import Decimal

from ..reports.cost import ALLOCATION_RULE, KINDS
from ..reports.header import UNMETERED
from . import charts
from .doc import Chart, Figures, Grid, Section, Text
from .fmt import DASH, kwh, money, num, pct
from .monthly import MonthData


def afterhours_section(d: MonthData) -> Section:
    s = Section("afterhours", "After hours and base load: the waste", new_page=True)
    st = d.settings
    hours = f"{st.working_hours[0]:%H:%M}–{st.working_hours[1]:%H:%M}"
    s.add(Text(f"Working time is {hours} on working days. Everything else (evenings and nights, days off, "
               "holidays) is after hours. The base load is the lowest one-hour average between "
               f"{st.base_hours[0]:%H:%M} and {st.base_hours[1]:%H:%M}, the median over the nights: what never "
               "switches off."))
    rows = d.afterhours.rows
    items = [(a.location, a.after_kwh, "top" if i == 0 else "normal") for i, a in enumerate(rows)]
    if items:
        s.add(Chart(charts.hbars(items, "kWh", "kWh outside working hours by location", lambda v: kwh(v, 0)),
                    "Energy used outside working hours, per location."))
    table = [[a.location, num(a.total_kwh), num(a.working_kwh), num(a.evening_kwh), num(a.days_off_kwh),
              num(a.holiday_kwh), pct(a.after_pct), num(a.base_kw, 2), pct(a.base_pct), str(a.nights)] for a in rows]
    s.add(Grid(["Location", "Total kWh", "Working", "Evenings", "Days off", "Holidays", "After hours",
                "Base kW", "Base share", "Nights"], table, [False] + [True] * 9,
               caption="kWh per period; 'base share' is the base load over every hour of the month as a share of the "
                       "total: the always-on part of the bill."))
    return s


def quality_section(d: MonthData) -> Section:
    s = Section("quality", "Power factor and power quality")
    q, st = d.quality, d.settings
    lo, hi = st.phase_band
    s.add(Text(f"Voltage should stay within {num(lo)}–{num(hi)} V (phase); the power factor at or above "
               f"{st.pf_line:g}, below which the utility may add a surcharge; unbalance below "
               f"{st.unbalance_limit:g} %."))
    rows, warn = [], []
    for x in q.rows:
        pf = next((m.pf for m in x.pf_months if m.month == d.month), None)
        rows.append([x.location, f"{num(x.phase_v[0])}–{num(x.phase_v[1])}", pct(x.voltage_out_pct, 2),
                     pct(x.unbalance_max, 2), num(pf, 3), pct(x.pf_low_pct, 1),
                     f"{num(x.freq[0], 2)}–{num(x.freq[1], 2)}", str(x.freq_out)])
        if pf is not None and pf < st.pf_line:
            warn.append(f"{x.location}: power factor {pf:.3f} is below {st.pf_line:g}: a surcharge may apply; "
                        "capacitor banks (power-factor correction) usually pay back fast.")
        if x.voltage_out_pct:
            warn.append(f"{x.location}: voltage outside the tolerance in {pct(x.voltage_out_pct, 2)} of the "
                        "15-minute periods.")
    s.add(Grid(["Location", "Voltage V", "Out of range", "Unbalance max", "Power factor", "PF below line",
                "Frequency Hz", "Hz out"], rows, [False] + [True] * 7,
               caption="Power factor = kWh ÷ kVAh over the month; 'PF below line': share of 15-minute periods below "
                       f"{st.pf_line:g}."))
    s.add(*[Text(w, "warn") for w in warn])
    return s


def cost_section(d: MonthData) -> Section:
    s = Section("cost", "What it costs", new_page=True)
    c = d.cost
    if c is None:
        return s.add(Text(d.cost_problem, "warn"))
    unit = c.bills[0].major_unit if c.bills else c.currency
    s.add(Figures([("Estimated bill", money(c.total, unit), c.tariff),
                   ("Energy priced", kwh(sum(b.kwh for b in c.bills), 0), c.source),
                   ("Data", "complete" if c.complete else "INCOMPLETE",
                    "" if c.complete else "the bill is a lower bound")]))
    if not c.complete:
        s.add(Text("Some 15-minute intervals are missing or have gaps: the energy there is not filled in, so this "
                   "estimate is lower than the real bill.", "warn"))
    rows, strong = [], set()
    for b in c.bills:
        for comp in b.components:
            qty = money(comp.quantity, unit) if comp.unit == unit else f"{num(comp.quantity, 2)} {comp.unit}"
            rows.append([comp.label, qty, f"{comp.rate.normalize():f} {comp.rate_unit}", money(comp.amount, unit)])
        strong.add(len(rows))
        rows.append([f"Total {b.month}" + ("" if b.complete else " (incomplete)"), "", "", money(b.total, unit)])
    s.add(Grid(["Component", "Quantity", "Rate", "Amount"], rows, [False, True, True, True], strong,
               caption=f"The site's estimated bill under {c.tariff_name}."))
    items = [(x.location, float(x.total), "top" if i == 0 else "muted" if x.location == UNMETERED else "normal")
             for i, x in enumerate(c.locations)]
    if items:
        s.add(Chart(charts.hbars(items, unit, f"cost by location ({unit})", lambda v: money(Decimal(str(v)), unit)),
                    "Each location's share of the bill."))
    kinds = [k for k in KINDS if any(comp.kind == k for b in c.bills for comp in b.components)]
    table = [[x.location, num(x.kwh, 0), *[money(x.by_kind(c.bills).get(k, Decimal(0)), "").strip() for k in kinds],
              money(x.total, "").strip()] for x in c.locations]
    table.append(["Total", num(sum(x.kwh for x in c.locations), 0),
                  *[money(sum((x.by_kind(c.bills).get(k, Decimal(0)) for x in c.locations), Decimal(0)), "").strip()
                    for k in kinds], money(c.total, "").strip()])
    s.add(Grid(["Location", "kWh", *[k.replace("_", " ").capitalize() for k in kinds], f"Total {unit}"], table,
               [False] + [True] * (len(kinds) + 2), {len(table) - 1},
               caption=f"Cost per location and component ({unit})."), Text(ALLOCATION_RULE, "small"))
    if c.what_if:
        w = c.what_if
        s.add(Grid(["Component", c.tariff, w.tariff, "Difference"],
                   [[x.what.replace("_", " "), money(x.base, unit), money(x.alternative, unit),
                     money(x.difference, unit)] for x in w.rows], [False, True, True, True], {len(w.rows) - 1},
                   caption=f"What if: the same month under {w.tariff}."))
    notes = list(dict.fromkeys(n for b in c.bills for n in b.notes))
    if notes:
        s.add(Text("About these numbers: the tariff file says which of its rates are not verified against the "
                   "utility's official schedule. This is an estimate, not the utility's bill.", "warn"))
        s.add(*[Text(f"• {n}") for n in notes])
    return s


def notes_section(d: MonthData) -> Section:
    s = Section("notes", "Data quality and notes", new_page=True)
    s.add(Text(f"Data this month: from {d.data_from:%Y-%m-%d %H:%M} to {d.data_to:%Y-%m-%d %H:%M} "
               f"({d.settings.timezone}).", "warn" if d.partial else "text"))
    notes = list(dict.fromkeys([*d.ranking.header.notes, *d.ranking.notes, *d.afterhours.notes]))
    s.add(*[Text(n, "warn" if "without data" in n or "disagree" in n else "text") for n in notes])
    if not notes and not d.partial:
        s.add(Text("No gaps: every meter has data for the whole month."))
    unknown = [r for r in d.ranking.rows if r.unknown_h]
    if unknown:
        s.add(Grid(["Location", "Hours without data"], [[r.location, num(r.unknown_h, 2)] for r in unknown],
                   [False, True], caption="Energy in these hours is unknown and not filled in."))
    m = d.this_month
    if m and m.incomplete_blocks:
        s.add(Text(f"{m.incomplete_blocks} demand block(s) of {m.window} minutes have gaps; the maximum "
                   "demand could be higher than shown.", "warn"))
    st = d.settings
    days = ", ".join(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][i] for i in sorted(st.working_days))
    holidays = [h for h in sorted(st.holidays) if d.first <= h < d.end]
    s.add(Text(f"Settings: working days {days}; working hours {st.working_hours[0]:%H:%M}–{st.working_hours[1]:%H:%M}; "
               f"holidays this month: {', '.join(map(str, holidays)) or 'none set'}; demand: "
               f"{m.rule if m and m.rule else f'{st.demand_window}-minute blocks, every hour'}; "
               f"main meter: {st.main_meter or 'none'}.", "small"))
    s.add(*[Text(n, "small") for n in d.quality.notes])
    if d.cost is None:
        s.add(Text(d.cost_problem or DASH, "small"))
    return s

