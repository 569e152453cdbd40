"""The monthly report as a document model (sections of figures, text, tables, charts) for the HTML and PDF writers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from .draw import Canvas


@dataclass
class Figures:
    """Key figures in boxes: (label, value, small print)."""

    items: list[tuple[str, str, str]]


@dataclass
class Text:
    text: str
    kind: str = "text"  # text | warn (incomplete data, unverified numbers: never hidden) | small


@dataclass
class Grid:
    """A table of already formatted cells; `right` marks numeric columns; `strong` rows (totals) in bold."""

    columns: list[str]
    rows: list[list[str]]
    right: list[bool]
    strong: set[int] = field(default_factory=set)
    caption: str = ""


@dataclass
class Chart:
    canvas: Canvas
    caption: str = ""


@dataclass
class Heading:
    text: str  # a sub-heading inside a section (e.g. one location)


Block = Union[Figures, Text, Grid, Chart, Heading]


@dataclass
class Section:
    key: str  # html id, test hook
    title: str
    blocks: list[Block] = field(default_factory=list)
    new_page: bool = False  # start on a new page in print

    def add(self, *blocks: Block) -> "Section":
        self.blocks.extend(blocks)
        return self


@dataclass
class Document:
    title: str
    subtitle: str
    meta: list[tuple[str, str]]  # site, period, time zone, generated, tariff
    sections: list[Section]
