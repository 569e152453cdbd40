"""The monthly report's first sections: summary, where the energy goes, when, the daily curve, maximum demand."""

from __future__ import annotations

from ..analytics.settings import DAY_NAMES
from ..tariffs.emissions import factor_for
from . import charts
from .cost_sections import (
    afterhours_section,
    cost_section,
    notes_section,
    quality_section,
)
from .doc import Chart, Document, Figures, Grid, Heading, Section, Text
from .fmt import DASH, kw, kwh, money, month_name, num, pct, period, stamp
from .monthly import MonthData


def document(d: MonthData) -> Document:
    """The whole monthly report of one site."""
    tariff = f"{d.cost.tariff_name} ({d.cost.tariff})" if d.cost else "none configured"
    meta = [("Site", d.site), ("Period", period(d.first, d.end)), ("Time zone", d.settings.timezone),
            ("Generated", stamp(d.generated)), ("Tariff", tariff),
            ("Main meter", d.settings.main_meter or "none (the site is the sum of all meters)")]
    sections = [summary(d), ranking_section(d), heatmap_section(d), profile_section(d), demand_section(d),
                afterhours_section(d), quality_section(d), *([events_section(d)] if d.events else []),  # issue 13
                cost_section(d), notes_section(d)]
    return Document(f"Electricity report: {d.site}", month_name(d.first), meta, sections)


def coverage(d: MonthData) -> str:
    days = (d.end - d.first).days
    return (f"Incomplete month: data on {d.days_with_data} of {days} days, from {d.data_from.day} "
            f"{d.data_from:%b %H:%M} to {d.data_to.day} {d.data_to:%b %H:%M}. Totals cover the measured time only.")


def summary(d: MonthData) -> Section:
    s = Section("summary", "Summary")
    rank, m = d.ranking, d.this_month
    figures = [("Energy used", kwh(rank.total_kwh, 0), "main meter" if d.settings.main_meter else "all meters")]
    if d.cost:
        figures.append(("Estimated bill", money(d.cost.total, _unit(d)), "" if d.cost.complete else "incomplete data"))
    else:
        figures.append(("Estimated bill", DASH, "no tariff configured"))
    if m and m.peak:
        figures.append(("Maximum demand", kw(m.peak.kw), f"{m.peak.start:%a %d %b %H:%M}"
                        + ("" if m.peak.complete else ", incomplete block")))
    after = sum(a.after_kwh for a in d.afterhours.rows)
    total = sum(a.total_kwh for a in d.afterhours.rows)
    figures.append(("Outside working hours", pct(after / total * 100 if total else None, 0), kwh(after, 0)))
    base = [a.base_kw for a in d.afterhours.rows if a.base_kw is not None]
    figures.append(("Night base load", kw(sum(base)) if base else DASH, "sum over locations"))
    f = factor_for(d.settings.timezone, d.first)  # Scope 2, location-based, the factor's year beside it
    if f is not None:
        figures.append(("Emissions (Scope 2)", f"{rank.total_kwh * f.kg_per_kwh / 1000:,.2f} t CO2e",
                        f"grid factor {f.kg_per_kwh:g} kg/kWh, {f.year}"))
    s.add(Figures(figures))
    if d.partial:
        s.add(Text(coverage(d), "warn"))
    gaps = [n for n in rank.header.notes if "without data" in n]
    if gaps:
        s.add(Text(f"Some meters have gaps in their data this month ({len(gaps)} meter(s)); energy during a gap is "
                   "not filled in, so totals are lower bounds. See 'Data quality'.", "warn"))
    if d.cost_problem:
        s.add(Text(d.cost_problem, "warn"))
    s.add(*[Text(x) for x in findings(d)])
    return s


def findings(d: MonthData) -> list[str]:
    """Plain sentences for a manager: who used most, when the peak was, how much ran after hours."""
    out = []
    locs = [r for r in d.ranking.rows if r.kind == "location"]
    if locs and d.ranking.total_kwh:
        top = locs[0]
        out.append(f"{top.location} used the most energy: {kwh(top.kwh, 0)}, {pct(top.share_pct, 0)} of the site.")
    rest = next((r for r in d.ranking.rows if r.kind == "unmetered"), None)
    if rest is not None:
        out.append(f"Energy not measured by any sub-meter (the unmetered remainder): {kwh(rest.kwh, 0)} "
                   f"({pct(rest.share_pct, 0)}).")
    m = d.this_month
    if m and m.peak and m.coincident:
        lead = m.coincident[0]
        out.append(f"The month's maximum demand, {kw(m.peak.kw)}, was set on {m.peak.start:%A %d %B at %H:%M}; "
                   f"{lead.location} drew {kw(lead.kw)} of it ({pct(lead.share_pct, 0)}).")
    worst = max(d.afterhours.rows, key=lambda a: a.after_kwh, default=None)
    if worst and worst.after_kwh > 0:
        out.append(f"{worst.location} used {kwh(worst.after_kwh, 0)} outside working hours "
                   f"({pct(worst.after_pct, 0)} of its energy).")
    return out


def _unit(d: MonthData) -> str:
    return d.cost.bills[0].major_unit if d.cost and d.cost.bills else (d.cost.currency if d.cost else "")


def ranking_section(d: MonthData) -> Section:
    s = Section("ranking", "Which location uses the most")
    rank = d.ranking
    items = [(r.location, r.kwh, "top" if i == 0 else "muted" if r.kind == "unmetered" else "normal")
             for i, r in enumerate(x for x in rank.rows if x.kind != "site")]
    if items:
        s.add(Chart(charts.hbars(items, "kWh", f"kWh by location, {month_name(d.first)}",
                                 lambda v: kwh(v, 0)),
                    "Energy per location this month, largest first. The light bar is the part of the main meter's "
                    "energy that no sub-meter measures." if d.settings.main_meter else
                    "Energy per location this month, largest first."))
    rows = [[r.location, num(r.kwh), pct(r.share_pct), num(r.unknown_h, 2) if r.unknown_h else "",
             ", ".join(r.meters) + (f" ({r.flag})" if r.flag else "")] for r in rank.rows]
    strong = {i for i, r in enumerate(rank.rows) if r.kind == "site"}
    s.add(Grid(["Location", "kWh", "Share", "Hours without data", "Meters"], rows,
               [False, True, True, True, False], strong))
    s.add(*[Text(n, "warn") for n in rank.notes])
    return s


def heatmap_section(d: MonthData) -> Section:
    s = Section("heatmap", "When: hour of day × weekday", new_page=True)
    s.add(Text("Each cell is the average energy used in that hour (kWh, the same number as the average kW) on "
               "that weekday this month, from complete hours only. Darker means more. Look for dark cells at night "
               "and at weekends: equipment left running."))
    for m in d.heatmap.maps:
        counts = ", ".join(f"{n.title()} {c}" for n, c in zip(DAY_NAMES, m.days))
        grid = charts.heatgrid([n.title() for n in m.rows], [f"{h:02d}" for h in range(24)], m.kwh, "kWh",
                               f"{m.location}: average kWh by hour and weekday")
        s.add(Heading(m.location), Chart(grid, f"Dates averaged per weekday: {counts}."))
    return s


def profile_section(d: MonthData) -> Section:
    s = Section("profile", "The average day: working days and other days", new_page=True)
    s.add(Text("Average power through the day (kW, 30-minute steps). Solid: working days; dashed: weekends, "
               "days off and holidays. The gap between the night level and zero is the base load."))
    for p in d.profile.profiles:
        series = [("working days", p.kw["working"], None), ("other days", p.kw["non-working"], (6.0, 4.0))]
        days = f"{p.days['working']} working days, {p.days['non-working']} other days with data."
        s.add(Heading(p.location), Chart(charts.lines(p.slots, series, "kW", f"{p.location}: average kW", every=4,
                                                      height=200), days))
    return s


def demand_section(d: MonthData) -> Section:
    s = Section("demand", "Maximum demand", new_page=True)
    rep, m = d.demand, d.this_month
    s.add(Text(f"The highest average power over a {rep.window}-minute block ({rep.source}). Utilities charge the "
               "maximum demand per kW; one careless start-up of big loads can set it for the whole month."))
    if m is None or m.peak is None:
        return s.add(Text("No maximum demand could be computed for this month.", "warn"))
    p = m.peak
    s.add(Figures([("Maximum demand", kw(p.kw), f"{p.start:%a %d %b} {p.start:%H:%M}–{p.end:%H:%M}"),
                   ("Energy in the block", kwh(p.kwh, 1), ""),
                   ("Blocks with gaps", num(m.incomplete_blocks, 0), "their true kW may be higher")]))
    if not p.complete:
        s.add(Text("The maximum block has a gap in its data: the true maximum may be higher.", "warn"))
    rows = [[x.location, num(x.kw), pct(x.share_pct)] for x in m.coincident]
    s.add(Grid(["Location", "kW in the peak block", "Share of the peak"], rows, [False, True, True],
               caption="Each location's average kW during the block that set the maximum (its share of the demand "
                       "charge)."))
    months = [x for x in rep.months if x.peak is not None]
    if months:
        labels = [f"{x.first:%b} '{x.first:%y}" for x in months]
        here = next((i for i, x in enumerate(months) if x.month == m.month), None)
        s.add(Chart(charts.columns(labels, [x.peak.kw for x in months], "kW",  # type: ignore[union-attr]
                                   "maximum demand per month", here),
                    "Maximum demand of each month with data in the last 12 months; this month darker."))
    top = [[str(i + 1), num(b.kw), f"{b.start:%a %d %b %H:%M}–{b.end:%H:%M}", "yes" if b.complete else "no (gap)"]
           for i, b in enumerate(m.top)]
    s.add(Grid(["#", "kW", "Block", "Complete"], top, [True, True, False, False], caption="The highest blocks."))
    return s


def events_section(d: MonthData) -> Section:
    """The month's alarm events (issue 13): what was raised, how long it lasted, its worst value, who was told."""
    s = Section("alarms", "Alarms")
    tz = d.settings.tz
    rows = [[f"{e['start'].astimezone(tz):%a %d %b %H:%M}",
             f"{e['end'].astimezone(tz):%d %b %H:%M}" if e["end"] else "still active",
             e["rule"], e["subject"], DASH if e["peak"] is None else f"{num(e['peak'])} {e['unit']}".strip(),
             ", ".join(sorted({n["channel"] for n in e["notified"]})) or "none"] for e in d.events]
    return s.add(Grid(["Start", "End", "Rule", "Where", "Worst", "Notified"], rows,
                      [False, False, False, False, True, False],
                      caption=f"{len(rows)} alarm event(s); `wattlog events` lists them with their messages."))
