"""The monthly report as an A4 PDF with fpdf2 (pure Python): the same document as the HTML, charts drawn natively."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF, FontFace

from .doc import Chart, Document, Figures, Grid, Heading, Section, Text
from .draw import Canvas, rgb

# DejaVu Sans covers the dashes, minus, × and ÷ and Latin/Greek/Cyrillic names; Debian, Raspberry Pi OS, Fedora ship it.
FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
             Path("/usr/share/fonts/TTF"), Path("/usr/local/share/fonts")]
LATIN = str.maketrans({"—": "-", "–": "-", "−": "-", "×": "x", "÷": "/", "≤": "<=", "≥": ">=", "…": "...",
                       "’": "'", "‘": "'", "“": '"', "”": '"', "→": "->", "±": "+/-"})
LEFT, TOP, WIDTH = 15.0, 14.0, 180.0  # mm; A4 is 210 wide
PX = WIDTH / 680.0  # mm per canvas pixel: charts are 680 px wide
WARN = "#a40000"


def font_files() -> tuple[Path, Path] | None:
    for d in FONT_DIRS:
        regular, bold = d / "DejaVuSans.ttf", d / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


class Writer(FPDF):
    def __init__(self, doc: Document, fonts: tuple[Path, Path] | None) -> None:
        super().__init__(format="A4", unit="mm")
        self.doc = doc
        if fonts:
            self.add_font("body", "", str(fonts[0]))
            self.add_font("body", "B", str(fonts[1]))
            self.family, self.unicode = "body", True
        else:  # the core font: Latin-1 only, so dashes and signs are spelled in ASCII
            self.family, self.unicode = "helvetica", False
        self.set_margins(LEFT, TOP, LEFT)
        self.set_auto_page_break(True, 16)
        self.set_title(f"{doc.title}, {doc.subtitle}")
        self.set_creator("wattlog")

    def t(self, s: str) -> str:
        return s if self.unicode else s.translate(LATIN).encode("latin-1", "replace").decode("latin-1")

    def use(self, size: float, bold: bool = False, colour: str = "#1a1a1a") -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*rgb(colour))

    def footer(self) -> None:
        self.set_y(-11)
        self.use(7.5, colour="#555555")
        self.cell(0, 5, self.t(f"{self.doc.title}, {self.doc.subtitle}"), align="L")
        self.set_x(LEFT)
        self.cell(0, 5, f"page {self.page_no()} of {{nb}}", align="R")


def render(doc: Document) -> bytes:
    """The document as PDF bytes."""
    pdf = Writer(doc, font_files())
    pdf.add_page()
    pdf.use(19, True)
    pdf.multi_cell(WIDTH, 9, pdf.t(doc.title), new_x="LMARGIN", new_y="NEXT")
    pdf.use(13)
    pdf.cell(WIDTH, 8, pdf.t(doc.subtitle), new_x="LMARGIN", new_y="NEXT")
    for k, v in doc.meta:
        pdf.use(9, True)
        pdf.cell(28, 5, pdf.t(k))
        pdf.use(9)
        pdf.multi_cell(WIDTH - 28, 5, pdf.t(v), align="L", new_x="LMARGIN", new_y="NEXT")
    for s in doc.sections:
        _section(pdf, s)
    return bytes(pdf.output())


def _section(pdf: Writer, s: Section) -> None:
    if s.new_page or pdf.will_page_break(40):
        pdf.add_page()
    else:
        pdf.ln(5)
    pdf.use(14, True)
    pdf.cell(WIDTH, 8, pdf.t(s.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(26, 26, 26)
    pdf.set_line_width(0.5)
    pdf.line(LEFT, pdf.get_y(), LEFT + WIDTH, pdf.get_y())
    pdf.ln(2)
    for b in s.blocks:
        if isinstance(b, Figures):
            _figures(pdf, b)
        elif isinstance(b, Text):
            _text(pdf, b)
        elif isinstance(b, Heading):
            if pdf.will_page_break(60):  # keep a heading with the chart under it
                pdf.add_page()
            pdf.ln(2)
            pdf.use(11, True)
            pdf.cell(WIDTH, 6, pdf.t(b.text), new_x="LMARGIN", new_y="NEXT")
        elif isinstance(b, Grid):
            _grid(pdf, b)
        elif isinstance(b, Chart):
            _chart(pdf, b)


def _figures(pdf: Writer, f: Figures) -> None:
    gap, n = 3.0, len(f.items)
    w, h = (WIDTH - gap * (n - 1)) / n, 19.0
    if pdf.will_page_break(h + 3):
        pdf.add_page()
    y = pdf.get_y() + 1
    pdf.set_draw_color(26, 26, 26)
    pdf.set_line_width(0.3)
    for i, (label, value, small) in enumerate(f.items):
        x = LEFT + i * (w + gap)
        pdf.rect(x, y, w, h)
        pdf.use(6.5)
        pdf.text(x + 2, y + 4.5, pdf.t(label.upper()))
        size = 13.0
        pdf.use(size, True)
        while pdf.get_string_width(pdf.t(value)) > w - 4 and size > 7:
            size -= 0.5
            pdf.use(size, True)
        pdf.text(x + 2, y + 11.5, pdf.t(value))
        pdf.use(6.5, colour="#444444")
        pdf.text(x + 2, y + 16.5, pdf.t(small)[:60])
    pdf.set_y(y + h + 3)


def _text(pdf: Writer, t: Text) -> None:
    size = {"small": 7.5}.get(t.kind, 9.0)
    pdf.use(size, t.kind == "warn", WARN if t.kind == "warn" else "#333333" if t.kind == "small" else "#1a1a1a")
    text = pdf.t(("Note: " if t.kind == "warn" else "") + t.text)
    pad = 3.0 if t.kind == "warn" else 0.0
    height = pdf.multi_cell(WIDTH - pad, size * 0.5, text, align="L", dry_run=True, output="HEIGHT")
    if pdf.will_page_break(height + 2):
        pdf.add_page()
    y = pdf.get_y() + 0.8
    pdf.set_xy(LEFT + pad, y)
    pdf.multi_cell(WIDTH - pad, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
    if t.kind == "warn":
        pdf.set_fill_color(*rgb(WARN))
        pdf.rect(LEFT, y, 1.4, height, style="F")
    pdf.ln(1)


def _grid(pdf: Writer, g: Grid) -> None:
    size = 8.0 if len(g.columns) <= 6 else 7.0
    widths = [_width(pdf, size, [c, *(r[i] for k, r in enumerate(g.rows) if k in g.strong)], True)
              for i, c in enumerate(g.columns)]  # headings and total rows are bold: wider
    widths = [max(w, _width(pdf, size, [r[i] for k, r in enumerate(g.rows) if k not in g.strong], False))
              for i, w in enumerate(widths)]
    if sum(widths) > WIDTH or len(g.columns) > 5:  # too wide: shrink; many columns: use the whole width
        widths = [w * WIDTH / sum(widths) for w in widths]
    if pdf.will_page_break(size * 0.5 * 3 + 4):
        pdf.add_page()
    pdf.use(size)
    pdf.set_draw_color(150, 150, 150)
    pdf.set_line_width(0.2)
    pdf.set_fill_color(255, 255, 255)  # fpdf2 tables fill with the current colour: a chart's would leak in
    bold = FontFace(emphasis="BOLD")
    with pdf.table(col_widths=widths, width=sum(widths), align="LEFT", line_height=size * 0.5 + 0.4,
                   text_align=["RIGHT" if r else "LEFT" for r in g.right], borders_layout="HORIZONTAL_LINES",
                   headings_style=FontFace(emphasis="BOLD", fill_color=(232, 232, 232)), padding=(0.6, 1.0),
                   repeat_headings=1) as table:
        head = table.row()
        for c in g.columns:
            head.cell(pdf.t(c))
        for k, row in enumerate(g.rows):
            r = table.row()
            for v in row:
                r.cell(pdf.t(v), style=bold if k in g.strong else None)
    if g.caption:
        _text(pdf, Text(g.caption, "small"))
    pdf.ln(2)


def _width(pdf: Writer, size: float, texts: list[str], bold: bool) -> float:
    """The widest text in mm plus the cell's padding, so nothing wraps that need not."""
    pdf.use(size, bold)
    return max([pdf.get_string_width(pdf.t(v)) for v in texts] + [0.0]) + 4.5


def _chart(pdf: Writer, c: Chart) -> None:
    h = c.canvas.height * PX
    if pdf.will_page_break(h + 8):
        pdf.add_page()
    draw(pdf, c.canvas, LEFT, pdf.get_y() + 1)
    pdf.set_y(pdf.get_y() + h + 2)
    if c.caption:
        _text(pdf, Text(c.caption, "small"))
    pdf.ln(2)


def draw(pdf: Writer, canvas: Canvas, x0: float, y0: float) -> None:
    """Canvas pixels onto the page at (x0, y0) mm: the same picture as its SVG."""
    def X(v: float) -> float:
        return x0 + v * PX

    def Y(v: float) -> float:
        return y0 + v * PX

    for item in canvas.items:
        a = item.args
        if item.kind == "rect":
            style = "D" if a["fill"] == "none" else "DF" if a["stroke"] else "F"
            if a["fill"] != "none":
                pdf.set_fill_color(*rgb(a["fill"]))
            if a["stroke"]:
                pdf.set_draw_color(*rgb(a["stroke"]))
                pdf.set_line_width(0.75 * PX)
            pdf.rect(X(a["x"]), Y(a["y"]), a["w"] * PX, a["h"] * PX, style=style)
        elif item.kind in ("line", "poly"):
            pdf.set_draw_color(*rgb(a["stroke"]))
            pdf.set_line_width(a["width"] * PX)
            if a["dash"]:
                pdf.set_dash_pattern(a["dash"][0] * PX, a["dash"][1] * PX)
            if item.kind == "line":
                pdf.line(X(a["x1"]), Y(a["y1"]), X(a["x2"]), Y(a["y2"]))
            else:
                pdf.polyline([(X(px), Y(py)) for px, py in a["points"]], style="D")
            if a["dash"]:
                pdf.set_dash_pattern()
        else:
            pdf.use(a["size"] * 0.75, a["bold"], a["fill"])  # CSS px -> pt
            s = pdf.t(a["s"])
            w = pdf.get_string_width(s)
            shift = {"middle": w / 2, "end": w}.get(a["anchor"], 0.0)
            pdf.text(X(a["x"]) - shift, Y(a["y"]), s)
