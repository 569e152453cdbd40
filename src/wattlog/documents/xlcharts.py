"""Native Excel charts and the heatmap colour scale for the workbook's sheets, chosen by report and table."""

from __future__ import annotations

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.series import SeriesLabel
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..reports.result import Table

SITE_ROWS = {"total", "site (main meter)"}


def decorate(ws: Worksheet, report: str, t: Table, first: int, last: int, below: int) -> None:
    """Add what helps reading this table: a chart under its notes (row `below`), or a colour scale on the
    heatmap's cells."""
    if last < first:
        return
    anchor = f"A{below}"  # under the notes, whose long lines would run beneath a chart beside the table
    if t.name.startswith("heatmap:"):
        cells = f"B{first}:{get_column_letter(len(t.columns))}{last}"
        ws.conditional_formatting.add(cells, ColorScaleRule(
            start_type="num", start_value=0, start_color="FFFFCC", mid_type="percentile", mid_value=50,
            mid_color="FD8D3C", end_type="max", end_color="B10026"))
        for j in range(2, len(t.columns) + 1):
            ws.column_dimensions[get_column_letter(j)].width = 7
    elif report == "ranking" and t.name == "locations":
        rows = [r for r in range(first, last + 1) if ws.cell(r, 1).value not in SITE_ROWS]
        if rows:
            ws.add_chart(_bars(ws, "kWh by location", "kWh", 2, rows[0], rows[-1]), anchor)
    elif report == "cost" and t.name == "locations":
        col = t.columns.index("total") + 1
        ws.add_chart(_bars(ws, "cost by location", "amount", col, first, last), anchor)
    elif report == "demand" and t.name == "peaks":
        ws.add_chart(_bars(ws, "maximum demand per month", "kW", 2, first, last, kind="col"), anchor)
    elif report == "afterhours":
        chart = _bars(ws, "kWh by period", "kWh", 3, first, last, until=6)
        chart.grouping, chart.overlap = "stacked", 100
        ws.add_chart(chart, anchor)
    elif report == "profile":
        _profiles(ws, t, first, last)


def _bars(ws: Worksheet, title: str, axis: str, col: int, first: int, last: int, until: int | None = None,
          kind: str = "bar") -> BarChart:
    chart = BarChart()
    chart.type, chart.title, chart.style = kind, title, 10
    chart.add_data(Reference(ws, min_col=col, max_col=until or col, min_row=first - 1, max_row=last),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    if kind == "bar":
        chart.x_axis.scaling.orientation = "maxMin"  # the first row (largest) at the top
    chart.y_axis.title = axis
    chart.x_axis.delete = chart.y_axis.delete = False  # recent Excel hides axes openpyxl leaves unset
    chart.legend = chart.legend if until else None
    chart.height, chart.width = 7.5, 16
    return chart


def _profiles(ws: Worksheet, t: Table, first: int, last: int) -> None:
    """One line chart per location (working and non-working kW over the day), stacked beside the table."""
    spans: list[tuple[str, int, int]] = []
    for r in range(first, last + 1):
        loc = ws.cell(r, 1).value
        if spans and spans[-1][0] == loc:
            spans[-1] = (loc, spans[-1][1], r)
        else:
            spans.append((loc, r, r))
    for k, (loc, a, b) in enumerate(spans[:8]):
        chart = LineChart()
        chart.title, chart.style, chart.height, chart.width = f"{loc}: average kW", 12, 7, 16
        for col in (3, 4):
            chart.add_data(Reference(ws, min_col=col, min_row=a, max_row=b), titles_from_data=False)
        for s, name in zip(chart.series, t.columns[2:4]):
            s.tx = SeriesLabel(v=name)
            s.smooth = False
        chart.series[1].graphicalProperties.line.dashStyle = "dash"
        chart.set_categories(Reference(ws, min_col=2, min_row=a, max_row=b))
        chart.y_axis.title = "kW"
        chart.x_axis.delete = chart.y_axis.delete = False
        ws.add_chart(chart, f"{get_column_letter(len(t.columns) + 2)}{first - 1 + k * 15}")
