"""A tiny vector canvas (rectangles, lines, polylines, text) drawn as inline SVG or onto a PDF page."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any


@dataclass
class Item:
    kind: str  # rect | line | poly | text
    args: dict[str, Any]


@dataclass
class Canvas:
    """Coordinates in CSS pixels (96 per inch), origin top left; 680 px wide is 180 mm on A4."""

    width: float
    height: float
    title: str = ""  # what the chart shows: the SVG's <title> and aria-label
    items: list[Item] = field(default_factory=list)

    def rect(self, x: float, y: float, w: float, h: float, fill: str = "none", stroke: str | None = None,
             data: dict[str, Any] | None = None, tip: str = "") -> None:
        self.items.append(Item("rect", dict(x=x, y=y, w=w, h=h, fill=fill, stroke=stroke, data=data or {},
                                            tip=tip)))

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = "#000", width: float = 1,
             dash: tuple[float, float] | None = None) -> None:
        self.items.append(Item("line", dict(x1=x1, y1=y1, x2=x2, y2=y2, stroke=stroke, width=width, dash=dash)))

    def poly(self, points: list[tuple[float, float]], stroke: str = "#000", width: float = 1.5,
             dash: tuple[float, float] | None = None, data: dict[str, Any] | None = None) -> None:
        if len(points) > 1:
            self.items.append(Item("poly", dict(points=points, stroke=stroke, width=width, dash=dash,
                                                data=data or {})))

    def text(self, x: float, y: float, s: str, size: float = 11, anchor: str = "start", bold: bool = False,
             fill: str = "#000") -> None:
        """Text with its baseline at y; anchor start | middle | end."""
        self.items.append(Item("text", dict(x=x, y=y, s=s, size=size, anchor=anchor, bold=bold, fill=fill)))

    def svg(self) -> str:
        out = [f'<svg viewBox="0 0 {_n(self.width)} {_n(self.height)}" '
               f'width="{_n(self.width)}" height="{_n(self.height)}" role="img" '
               f'aria-label="{escape(self.title)}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
               f"<title>{escape(self.title)}</title>"]
        out += [_svg(i) for i in self.items]
        out.append("</svg>")
        return "\n".join(out)


def _n(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _data(data: dict[str, Any]) -> str:
    return "".join(f' data-{k}="{escape(str(v))}"' for k, v in data.items())


def _dash(dash: tuple[float, float] | None) -> str:
    return f' stroke-dasharray="{_n(dash[0])} {_n(dash[1])}"' if dash else ""


def _svg(i: Item) -> str:
    a = i.args
    if i.kind == "rect":
        stroke = f' stroke="{a["stroke"]}" stroke-width="0.75"' if a["stroke"] else ""
        tip = f"<title>{escape(a['tip'])}</title>" if a["tip"] else ""
        cls = ' class="bar"' if a["data"] else ""
        attrs = f'x="{_n(a["x"])}" y="{_n(a["y"])}" width="{_n(a["w"])}" height="{_n(a["h"])}"'
        return f'<rect{cls} {attrs} fill="{a["fill"]}"{stroke}{_data(a["data"])}>{tip}</rect>' if tip else \
            f'<rect{cls} {attrs} fill="{a["fill"]}"{stroke}{_data(a["data"])}/>'
    if i.kind == "line":
        return (f'<line x1="{_n(a["x1"])}" y1="{_n(a["y1"])}" x2="{_n(a["x2"])}" y2="{_n(a["y2"])}" '
                f'stroke="{a["stroke"]}" stroke-width="{_n(a["width"])}"{_dash(a["dash"])}/>')
    if i.kind == "poly":
        pts = " ".join(f"{_n(x)},{_n(y)}" for x, y in a["points"])
        return (f'<polyline class="series" points="{pts}" fill="none" stroke="{a["stroke"]}" '
                f'stroke-width="{_n(a["width"])}"{_dash(a["dash"])}{_data(a["data"])}/>')
    anchor = f' text-anchor="{a["anchor"]}"' if a["anchor"] != "start" else ""
    weight = ' font-weight="bold"' if a["bold"] else ""
    return (f'<text x="{_n(a["x"])}" y="{_n(a["y"])}" font-size="{_n(a["size"])}"{anchor}{weight} '
            f'fill="{a["fill"]}">{escape(a["s"])}</text>')


def rgb(colour: str) -> tuple[int, int, int]:
    """'#1f4e79' -> (31, 78, 121)."""
    c = colour.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
