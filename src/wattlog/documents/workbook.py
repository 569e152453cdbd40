"""Report results as an Excel workbook: a cover sheet, one sheet per table, real numbers with formats, charts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..reports.result import Table
from .fmt import period, stamp
from .xlcharts import decorate

FIRST_ROW = 5  # row 1 title, row 2 site and period, row 4 the column headers (frozen above row 5)
BOLD, TITLE, NOTE = Font(bold=True), Font(bold=True, size=14), Font(italic=True, color="444444")
HEAD_FILL = PatternFill("solid", fgColor="E8E8E8")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")


@dataclass
class Meta:
    """What the cover sheet and every sheet's second row say."""

    site: str
    start: date
    end: date  # exclusive
    timezone: str
    generated: datetime
    tariff: str = ""  # "" when no report priced anything
    main_meter: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. a report left out and why


def build(results: list[tuple[str, Any]], meta: Meta) -> Workbook:
    """One workbook for (report name, result) pairs: an 'About' sheet, then one sheet per table."""
    wb = Workbook()
    cover = wb.active
    cover.title = "About"
    used: set[str] = {"About"}
    listed: list[tuple[str, str]] = []
    for name, result in results:
        for table in result.tables():
            title = sheet_name(name, table.name, len(results) > 1, used)
            ws = wb.create_sheet(title)
            write_table(ws, table, meta, money_unit(result), name)
            listed.append((title, f"{name}: {table.title}"))
    write_cover(cover, meta, [n for n, _ in results], listed)
    return wb


def money_unit(result: Any) -> str:
    """The currency sign money cells are shown with (RM, THB), from a cost report's bills."""
    bills = getattr(result, "bills", None) or []
    return bills[0].major_unit if bills else getattr(result, "currency", "")


def sheet_name(report: str, table: str, prefix: bool, used: set[str]) -> str:
    """A valid, unique sheet name (≤ 31 characters, none of []:*?/\\)."""
    base = table if not prefix or table == report or table.startswith(f"{report}:") else f"{report} {table}"
    base = re.sub(r"[\[\]:*?/\\]", " ", base).strip()[:31] or report
    name, i = base, 2
    while name.lower() in {u.lower() for u in used}:
        suffix = f" {i}"
        name, i = base[:31 - len(suffix)] + suffix, i + 1
    used.add(name)
    return name


def write_cover(ws: Worksheet, meta: Meta, reports: list[str], sheets: list[tuple[str, str]]) -> None:
    ws["A1"] = f"wattlog: {', '.join(reports)}"
    ws["A1"].font = TITLE
    rows = [("Site", meta.site), ("Period", f"{period(meta.start, meta.end)} ({meta.start} to {meta.end}, end "
                                           "exclusive)"), ("Time zone", meta.timezone),
            ("Generated", stamp(meta.generated)), ("Tariff", meta.tariff or "none"),
            ("Main meter", meta.main_meter or "none (the site is the sum of all meters)")]
    for i, (k, v) in enumerate(rows, start=3):
        ws.cell(i, 1, k).font = BOLD
        ws.cell(i, 2, v)
    r = len(rows) + 4
    ws.cell(r, 1, "Sheets").font = BOLD
    for i, (title, what) in enumerate(sheets, start=r + 1):
        c = ws.cell(i, 1, title)
        c.hyperlink = f"#'{title}'!A1"  # inside the workbook
        c.font = Font(color="1F4E79", underline="single")
        ws.cell(i, 2, what)
    r += len(sheets) + 2
    for note in meta.notes:
        ws.cell(r, 1, "Note").font = BOLD
        ws.cell(r, 2, note)
        r += 1
    ws.cell(r + 1, 1, "Energy is from the site's own meters; gaps are never filled in (see each sheet's notes). "
                      "Money is an estimate from the tariff file, exact to the sen.").font = NOTE
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 90


def write_table(ws: Worksheet, t: Table, meta: Meta, unit: str, report: str) -> None:
    ws["A1"] = t.title
    ws["A1"].font = TITLE
    ws["A2"] = (f"{meta.site} · {period(meta.start, meta.end)} · {meta.timezone} · generated {stamp(meta.generated)}"
                + (f" · tariff {meta.tariff}" if meta.tariff else ""))
    ws["A2"].font = NOTE
    formats = [column_format(c, [row[i] for row in t.rows], unit) for i, c in enumerate(t.columns)]
    for j, c in enumerate(t.columns, start=1):
        cell = ws.cell(FIRST_ROW - 1, j, c)
        cell.font, cell.fill = BOLD, HEAD_FILL
        numeric = formats[j - 1][1] in ("number", "percent", "money")
        cell.alignment = Alignment(horizontal="right" if numeric else "left", wrap_text=True)
    for i, row in enumerate(t.rows, start=FIRST_ROW):
        for j, v in enumerate(row, start=1):
            value = cell_value(v, formats[j - 1][1])
            if value is None:
                continue
            cell = ws.cell(i, j, value)
            if formats[j - 1][0]:
                cell.number_format = formats[j - 1][0]
    last = FIRST_ROW + len(t.rows) - 1
    ws.freeze_panes = ws.cell(FIRST_ROW, 2 if t.name.startswith("heatmap:") else 1)
    if t.rows:
        ws.auto_filter.ref = f"A{FIRST_ROW - 1}:{get_column_letter(len(t.columns))}{last}"
    r = max(last, FIRST_ROW) + 2
    for note in t.notes:
        ws.cell(r, 1, note).font = NOTE
        r += 1
    widths(ws, t, formats)
    decorate(ws, report, t, FIRST_ROW, last, r + 1)


def column_format(name: str, values: list[Any], unit: str) -> tuple[str | None, str]:
    """(Excel number format, kind) of a column from its name and values; kind: text, percent, money, number, date."""
    present = [v for v in values if v is not None and v != ""]
    low = name.lower()
    if present and all(isinstance(v, Decimal) for v in present):
        if low == "rate":
            return "0.00##", "number"
        if low == "quantity":
            return "#,##0.00", "number"
        return (f'"{unit}" #,##0.00' if unit else "#,##0.00"), "money"
    if present and all(isinstance(v, str) and DATETIME.match(v) for v in present):
        return "yyyy-mm-dd hh:mm", "datetime"
    if present and all(isinstance(v, str) and DATE.match(v) for v in present):
        return "yyyy-mm-dd", "date"
    if not present or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return None, "text"
    if "%" in name:
        return "0.0%", "percent"  # Excel's percent: the cell holds the fraction
    if all(isinstance(v, int) for v in present):
        return "#,##0", "number"
    if re.fullmatch(r"\d\d", name) or name == "kwh":
        return "0.00", "number"  # heatmap hours and the tidy kWh: small numbers
    if "kwh" in low or "kw" in low or low.startswith("v "):
        return "#,##0.0", "number"
    return "#,##0.00", "number"


def cell_value(v: Any, kind: str) -> Any:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return "yes" if v else "no"
    if kind == "percent":
        return round(v / 100, 12)  # no float noise (0.681, not 0.6809999999999999)
    if kind == "date":
        return date.fromisoformat(v)
    if kind == "datetime":
        return datetime.strptime(v, "%Y-%m-%d %H:%M")
    return v  # a Decimal is written as its exact decimal text


def widths(ws: Worksheet, t: Table, formats: list[tuple[str | None, str]]) -> None:
    for j, c in enumerate(t.columns, start=1):
        kind = formats[j - 1][1]
        longest = max([len(str(row[j - 1])) for row in t.rows[:500] if row[j - 1] is not None] + [0])
        extra = 5 if kind == "money" else 2 if kind in ("number", "percent") else 0
        width = max(min(len(c), 24), longest + extra, 16 if kind == "datetime" else 6) + 2
        ws.column_dimensions[get_column_letter(j)].width = min(width, 60)
