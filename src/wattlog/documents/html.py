"""The monthly report as one self-contained HTML file: inline CSS and SVG, no script, A4 print styles."""

from __future__ import annotations

from html import escape

from .doc import Chart, Document, Figures, Grid, Heading, Section, Text

CSS = """
:root { --ink: #1a1a1a; --line: #bbb; --warn: #a40000; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink); margin: 0 auto;
  max-width: 210mm; padding: 12mm 15mm; font-size: 10pt; line-height: 1.4; background: #fff; }
h1 { font-size: 20pt; margin: 0 0 2mm; }
.subtitle { font-size: 14pt; margin: 0 0 4mm; color: #333; }
h2 { font-size: 14pt; border-bottom: 2px solid var(--ink); padding-bottom: 1mm; margin: 8mm 0 3mm; }
h3 { font-size: 11pt; margin: 5mm 0 1mm; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 0.5mm 5mm; margin: 0 0 4mm; }
dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; }
.figures { display: grid; grid-template-columns: repeat(3, 1fr); gap: 3mm; margin: 3mm 0; }
.figure { border: 1px solid var(--ink); padding: 2mm 3mm; }
.figure .label { font-size: 8.5pt; text-transform: uppercase; letter-spacing: 0.03em; }
.figure .value { font-size: 14pt; font-weight: bold; }
.figure .small { font-size: 8.5pt; color: #444; }
p { margin: 1.5mm 0; }
p.warn { border: 1px solid var(--warn); border-left: 5px solid var(--warn); padding: 1.5mm 3mm; font-weight: bold;
  background: #fff3f1; }
p.warn::before { content: "Note: "; }
p.small { font-size: 8.5pt; color: #333; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 3mm; font-size: 9pt; }
caption { caption-side: bottom; text-align: left; font-size: 8.5pt; color: #333; padding-top: 1mm; }
th, td { border-bottom: 1px solid var(--line); padding: 0.8mm 1.5mm; vertical-align: top; }
th { border-bottom: 1.5px solid var(--ink); text-align: left; font-weight: bold; }
td.n, th.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.strong td { font-weight: bold; border-top: 1.5px solid var(--ink); }
figure { margin: 2mm 0 4mm; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 8.5pt; color: #333; }
footer { margin-top: 8mm; font-size: 8pt; color: #555; border-top: 1px solid var(--line); padding-top: 2mm; }
@page { size: A4; margin: 12mm 14mm 14mm; }
@media print {
  body { padding: 0; max-width: none; font-size: 9.5pt; }
  section.new-page { break-before: page; }
  section.new-page > h2 { margin-top: 0; }
  figure, .figures, tr, p.warn { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  p.warn, .figure, tr.strong td { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def render(doc: Document) -> str:
    """The document as an HTML5 page; everything inline, so it can be mailed or printed as it is."""
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{escape(doc.title)}, {escape(doc.subtitle)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
           "<header>", f"<h1>{escape(doc.title)}</h1>", f'<p class="subtitle">{escape(doc.subtitle)}</p>',
           '<dl class="meta">']
    out += [f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in doc.meta]
    out += ["</dl>", "</header>"]
    out += [_section(s) for s in doc.sections]
    out += [f"<footer>wattlog, {escape(doc.title)}, {escape(doc.subtitle)}. Estimates from the site's own meters; "
            "gaps in the data are never filled in.</footer>", "</body>", "</html>", ""]
    return "\n".join(out)


def _section(s: Section) -> str:
    cls = ' class="new-page"' if s.new_page else ""
    parts = [f'<section id="{escape(s.key)}"{cls}>', f"<h2>{escape(s.title)}</h2>"]
    for b in s.blocks:
        if isinstance(b, Figures):
            parts.append('<div class="figures">' + "".join(
                f'<div class="figure"><div class="label">{escape(label)}</div><div class="value">{escape(value)}'
                f'</div><div class="small">{escape(small)}</div></div>' for label, value, small in b.items) + "</div>")
        elif isinstance(b, Text):
            cls = f' class="{b.kind}"' if b.kind != "text" else ""
            parts.append(f"<p{cls}>{escape(b.text)}</p>")
        elif isinstance(b, Heading):
            parts.append(f"<h3>{escape(b.text)}</h3>")
        elif isinstance(b, Grid):
            parts.append(_table(b))
        elif isinstance(b, Chart):
            caption = f"<figcaption>{escape(b.caption)}</figcaption>" if b.caption else ""
            parts.append(f"<figure>{b.canvas.svg()}{caption}</figure>")
    parts.append("</section>")
    return "\n".join(parts)


def _table(g: Grid) -> str:
    def cls(i: int) -> str:
        return ' class="n"' if g.right[i] else ""

    head = "".join(f"<th{cls(i)}>{escape(c)}</th>" for i, c in enumerate(g.columns))
    body = "".join(
        ('<tr class="strong">' if k in g.strong else "<tr>") + "".join(
            f"<td{cls(i)}>{escape(v)}</td>" for i, v in enumerate(row)) + "</tr>" for k, row in enumerate(g.rows))
    caption = f"<caption>{escape(g.caption)}</caption>" if g.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
