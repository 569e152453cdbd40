"""Which config section feeds which sink. A new sink is one module (with its SECTION) plus one line here."""

from __future__ import annotations

from typing import Any

from . import csvfiles, database, mqtt
from .base import Sink, SinkSection

SECTIONS: tuple[SinkSection, ...] = (database.SECTION, csvfiles.SECTION, mqtt.SECTION)


def build_sinks(cfg: Any) -> list[Sink]:
    """Every sink the site's config turns on, in SECTIONS order (the main database first)."""
    return [sink for s in SECTIONS if cfg.outputs.get(s.key) for sink in s.build(cfg.outputs[s.key], cfg)]
