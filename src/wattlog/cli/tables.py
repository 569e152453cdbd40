"""Report tables for a person at a terminal: numbers right-aligned with fixed decimals per column
and never cut, text left and folded; a table too wide for the terminal is stacked (one block per
row); a heatmap is a glyph grid. Piped output is never cut (the width is the content's)."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from ..reports.result import Table

DASH = "—"
SHADES = " ·░▒▓█"  # empty hour, then five steps up to the map's largest value
# Decimals by the unit a column's name ends with; other columns get theirs from their size.
UNIT_DECIMALS = {"%": 1, "kwh": 1, "kw": 1, "kva": 1, "kvarh": 1, "kvah": 1, "w": 0, "v": 1, "a": 2,
                 "hz": 2, "pf": 3, "rm": 2, "sen": 0, "h": 1, "hours": 1}


def console() -> Console:
    """A console that never cuts piped output: off a terminal it is as wide as its widest line."""
    if sys.stdout.isatty():
        return Console()
    return Console(width=100_000, no_color=True, highlight=False, soft_wrap=True)


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def decimals(name: str, values: list[Any]) -> int:
    """One number of decimals for a whole column: from its unit, more for small values."""
    numbers = [abs(float(v)) for v in values if is_number(v)]
    if numbers and all(isinstance(v, int) for v in values if is_number(v)):
        return 0
    if numbers and all(isinstance(v, Decimal) for v in values if is_number(v)):
        return 2  # money, to the sen
    unit = name.lower().replace("(", " ").replace(")", " ").split()[-1] if name.split() else ""
    d = UNIT_DECIMALS.get(unit)
    if d is None:
        d = 1 if numbers and max(numbers) >= 100 else 2
    if numbers and 0 < max(numbers) < 1 and d < 3:
        d = 3  # a short run's 0.08 kWh must not read 0.1
    return d


def cell(v: Any, digits: int) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return DASH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if is_number(v):
        text = f"{v:,.{digits}f}"
        return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text
    return str(v)


def columns_of(t: Table) -> list[tuple[str, bool, list[str]]]:
    """(name, numeric, cells) per column."""
    out = []
    for i, name in enumerate(t.columns):
        values = [row[i] for row in t.rows]
        numeric = any(is_number(v) for v in values) and all(is_number(v) or v is None for v in values)
        d = decimals(name, values) if numeric else 0
        out.append((name, numeric, [cell(v, d) for v in values]))
    return out


def print_table(con: Console, t: Table) -> None:
    if t.name.startswith("heatmap:"):
        print_grid(con, t)
        return
    cols = columns_of(t)
    # Numbers are never cut: if they alone cannot fit beside the narrowest text, stack the rows.
    need = sum(max([len(c) for c in cells] + [min(len(name), 8)]) + 3 for name, numeric, cells in cols if numeric)
    # a text column may fold down to 10 characters (less if its longest cell or header is shorter)
    text_min = sum(min(10, max([len(c) for c in cells] + [len(name)])) + 3 for name, numeric, cells in cols
                   if not numeric)
    if need + text_min + 1 > con.width:
        print_stacked(con, t, cols)
    else:
        rt = RichTable(title=t.title, title_justify="left")
        for name, numeric, cells in cols:
            if numeric:
                rt.add_column(name, justify="right", no_wrap=True, min_width=max(len(c) for c in cells or [""]))
            else:
                rt.add_column(name, justify="left", overflow="fold")
        for r in range(len(t.rows)):
            rt.add_row(*(cells[r] for _, _, cells in cols))
        con.print(rt)
    for note in t.notes:
        con.print(Text(f"• {note}", style="dim"))


def print_stacked(con: Console, t: Table, cols: list[tuple[str, bool, list[str]]]) -> None:
    """One block per row, 'column  value' lines: the layout that fits any width."""
    con.print(Text(t.title, style="italic"))
    label = max(len(name) for name, _, _ in cols)
    width = max([len(c) for _, numeric, cells in cols if numeric for c in cells] + [1])
    for r in range(len(t.rows)):
        con.print(Text("─" * min(con.width, label + width + 2), style="dim"))
        for name, numeric, cells in cols:
            value = cells[r].rjust(width) if numeric else cells[r]
            con.print(Text(f"{name.ljust(label)}  {value}"), overflow="fold")


def print_grid(con: Console, t: Table) -> None:
    """A heatmap as one glyph per hour: 24 columns of two characters fit 80 columns. The rows are plain
    text written in one piece: a year of dates is thousands of lines, which Rich took seconds to print."""
    values = [float(v) for row in t.rows for v in row[1:] if is_number(v)]
    top = max(values, default=0.0)
    con.print(Text(t.title, style="italic"))
    label = max([len(str(row[0])) for row in t.rows] + [len(t.columns[0])])
    lines = [" " * label + " " + "".join(h[:2].rjust(2) if i % 3 == 0 else "  " for i, h in enumerate(t.columns[1:]))]
    blank, low, steps = SHADES[0] * 2, SHADES[1] * 2, [SHADES[1 + k] * 2 for k in range(5)]
    for row in t.rows:
        glyphs = []
        for v in row[1:]:
            if not is_number(v):
                glyphs.append(blank)
            elif float(v) <= 0:
                glyphs.append(low)
            else:
                glyphs.append(steps[0 if top <= 0 else min(4, int(float(v) / top * 5))])
        lines.append(f"{str(row[0]).ljust(label)} " + "".join(glyphs))
    con.file.write("\n".join(lines) + "\n")
    steps_text = ", ".join(f"{SHADES[i]} < {top * i / 5:,.2f}" for i in range(1, 5))
    con.print(Text(f"blank: no data, {steps_text}, {SHADES[5]} up to {top:,.2f} (kWh)", style="dim"), overflow="fold")
