"""Charts for print: horizontal bars, columns, lines and an hour grid, with axes, units and a legend."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from .draw import Canvas
from .fmt import num

WIDTH = 680.0  # 180 mm at 96 px per inch: the A4 text width
INK, GRID, BAR, TOP, MUTED = "#222222", "#c8c8c8", "#5b7896", "#1d3550", "#b9c4cf"
# Light to dark with falling luminance (ColorBrewer YlOrRd): the order survives black-and-white print.
RAMP = ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"]


def text_width(s: str, size: float) -> float:
    return len(s) * size * 0.56


def fit(s: str, width: float, size: float) -> str:
    """`s` shortened with an ellipsis to about `width` px (the table beside the chart has the full name)."""
    if text_width(s, size) <= width:
        return s
    return s[:max(1, int(width / (size * 0.56)) - 1)].rstrip() + "…"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (lo <= 0 <= hi for bar charts)."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if step * m >= raw)
    first = math.floor(lo / step) * step
    return [first + i * step for i in range(int(math.ceil((hi - first) / step - 1e-9)) + 1)]


def _digits(ticks: list[float]) -> int:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1
    return 0 if step >= 1 else 1 if step >= 0.1 else 2


def hbars(items: Sequence[tuple[str, float, str]], unit: str, title: str,
          label: Callable[[float], str] | None = None) -> Canvas:
    """One bar per (name, value, style); style top | normal | muted. The value is written at the bar's end."""
    label = label or (lambda v: f"{num(v)} {unit}")
    names = [n for n, _, _ in items]
    left = min(220.0, max([text_width(n, 11) for n in names] + [40.0]) + 12)
    right = max([text_width(label(v), 10.5) for _, v, _ in items] + [40.0]) + 10
    row, top = 24.0, 26.0
    c = Canvas(WIDTH, top + row * len(items) + 26, title)
    values = [v for _, v, _ in items]
    ticks = nice_ticks(min(0.0, *values) if values else 0.0, max([0.0, *values]))
    lo, hi = ticks[0], ticks[-1]
    x0, x1 = left, WIDTH - right
    sx = (x1 - x0) / (hi - lo)
    zero = x0 + (0 - lo) * sx
    bottom = top + row * len(items)
    for t in ticks:
        x = x0 + (t - lo) * sx
        c.line(x, top - 4, x, bottom, GRID, 0.75)
        c.text(x, bottom + 15, num(t, _digits(ticks)), 10, "middle", fill=INK)
    c.text(x0, 14, unit, 10.5, bold=True)
    for i, (name, v, style) in enumerate(items):
        y = top + i * row
        fill = {"top": TOP, "muted": MUTED}.get(style, BAR)
        a, b = sorted((zero, zero + v * sx))
        c.rect(a, y + 4, max(b - a, 0.5), row - 8, fill, INK if style == "muted" else None,
               data={"label": name, "value": round(v, 3)}, tip=f"{name}: {label(v)}")
        c.text(x0 - 6, y + row / 2 + 4, fit(name, left - 12, 11), 11, "end", bold=style == "top")
        c.text(max(b, zero) + 5, y + row / 2 + 4, label(v), 10.5)
    c.line(zero, top - 4, zero, bottom, INK, 1)
    return c


def columns(labels: Sequence[str], values: Sequence[float | None], unit: str, title: str,
            highlight: int | None = None, height: float = 230) -> Canvas:
    """Vertical columns, the value above each; `highlight` marks one (e.g. this month)."""
    c = Canvas(WIDTH, height, title)
    known = [v for v in values if v is not None]
    ticks = nice_ticks(0.0, max(known + [0.0]) * 1.08)
    left, top, bottom = 58.0, 30.0, height - 30
    _yaxis(c, ticks, left, top, bottom, unit)
    n = max(len(labels), 1)
    slot = (WIDTH - left - 10) / n
    sy = (bottom - top) / (ticks[-1] - ticks[0])
    for i, (name, v) in enumerate(zip(labels, values)):
        x = left + i * slot + slot * 0.18
        c.text(x + slot * 0.32, bottom + 16, name, 10, "middle")
        if v is None:
            c.text(x + slot * 0.32, bottom - 4, "no data", 9, "middle", fill="#666666")
            continue
        h = v * sy
        c.rect(x, bottom - h, slot * 0.64, h, TOP if i == highlight else BAR, None,
               data={"label": name, "value": round(v, 3)}, tip=f"{name}: {num(v)} {unit}")
        c.text(x + slot * 0.32, bottom - h - 4, num(v), 9.5, "middle", bold=i == highlight)
    c.line(left, bottom, WIDTH - 10, bottom, INK, 1)
    return c


def lines(xlabels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None], tuple[float, float] | None]],
          unit: str, title: str, every: int = 1, height: float = 230) -> Canvas:
    """One line per (name, values, dash); a gap where a value is None; x labelled every `every` points."""
    c = Canvas(WIDTH, height, title)
    known = [v for _, vs, _ in series for v in vs if v is not None]
    ticks = nice_ticks(min([0.0, *known]), max([0.0, *known]) * 1.08)
    left, top, bottom, right = 58.0, 34.0, height - 30, WIDTH - 14
    _yaxis(c, ticks, left, top, bottom, unit)
    n = max(len(xlabels), 2)
    sx = (right - left) / n
    sy = (bottom - top) / (ticks[-1] - ticks[0])
    for i, name in enumerate(xlabels):
        if i % every == 0:  # a slot's label at its start; its value at its middle
            x = left + i * sx
            c.line(x, bottom, x, bottom + 4, INK, 0.75)
            c.text(x, bottom + 16, name, 10, "middle")
    lx = right
    for name, values, dash in reversed(series):  # legend, right-aligned at the top
        if all(v is None for v in values):
            name += " (no data)"
        lx -= text_width(name, 10.5) + 44
        c.line(lx, 14, lx + 28, 14, INK, 2, dash)
        c.text(lx + 34, 18, name, 10.5)
    for name, values, dash in series:
        run: list[tuple[float, float]] = []
        for i, v in enumerate([*values, None]):
            if v is None:
                c.poly(run, INK, 2, dash, data={"name": name, "max": round(max(x for x in values if x is not None), 3)}
                       if run else None)
                run = []
            else:
                run.append((left + i * sx + sx / 2, bottom - (v - ticks[0]) * sy))
    c.line(left, bottom, right, bottom, INK, 1)
    return c


def _yaxis(c: Canvas, ticks: list[float], left: float, top: float, bottom: float, unit: str) -> None:
    sy = (bottom - top) / (ticks[-1] - ticks[0])
    for t in ticks:
        y = bottom - (t - ticks[0]) * sy
        c.line(left, y, WIDTH - 10, y, GRID, 0.75)
        c.text(left - 6, y + 4, num(t, _digits(ticks)), 10, "end")
    c.text(left - 6, top - 14, unit, 10.5, "end", bold=True)


def ramp(t: float) -> str:
    """Colour for t in [0, 1]: the nearest step of RAMP (steps print more distinctly than a blend)."""
    return RAMP[min(len(RAMP) - 1, max(0, int(t * len(RAMP))))]


def heatgrid(rows: Sequence[str], cols: Sequence[str], values: Sequence[Sequence[float | None]], unit: str,
             title: str, vmax: float | None = None) -> Canvas:
    """Rows × columns of cells shaded by value (a legend of the steps below); no data: a crossed white cell."""
    left, top, cell_h = 44.0, 22.0, 20.0
    cell_w = (WIDTH - left - 8) / max(len(cols), 1)
    height = top + cell_h * len(rows) + 62
    c = Canvas(WIDTH, height, title)
    known = [v for row in values for v in row if v is not None]
    hi = vmax if vmax is not None else max(known, default=0.0)
    for j, name in enumerate(cols):
        c.text(left + j * cell_w + cell_w / 2, top - 6, name, 9.5, "middle")
    for i, (rname, row) in enumerate(zip(rows, values)):
        y = top + i * cell_h
        c.text(left - 6, y + cell_h / 2 + 4, rname, 10.5, "end")
        for j, v in enumerate(row):
            x = left + j * cell_w
            if v is None:
                c.rect(x, y, cell_w, cell_h, "#ffffff", GRID)
                c.line(x + 3, y + 3, x + cell_w - 3, y + cell_h - 3, "#999999", 0.75)
                continue
            c.rect(x, y, cell_w, cell_h, ramp(v / hi if hi > 0 else 0.0), "#ffffff",
                   data={"row": rname, "col": cols[j], "value": round(v, 3)},
                   tip=f"{rname} {cols[j]}: {num(v, 2)} {unit}")
    y = top + cell_h * len(rows) + 14
    c.text(left, y + 12, unit, 10, bold=True)
    lx = left + text_width(unit, 10) + 12
    step = hi / len(RAMP) if hi > 0 else 0.0
    for k, colour in enumerate(RAMP):
        x = lx + k * 58
        c.rect(x, y, 58, 14, colour, INK)
        c.text(x, y + 27, num(k * step, 2 if hi < 10 else 1), 9, "middle")
    c.text(lx + len(RAMP) * 58, y + 27, num(hi, 2 if hi < 10 else 1), 9, "middle")
    nx = lx + len(RAMP) * 58 + 30
    c.rect(nx, y, 20, 14, "#ffffff", GRID)
    c.line(nx + 3, y + 3, nx + 17, y + 11, "#999999", 0.75)
    c.text(nx + 26, y + 11, "no complete hour", 9.5)
    return c
