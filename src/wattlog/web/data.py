"""Every wattlog internal the web uses that is moving on main (issue 7), imported here and only here.

When the layout changes (analytics -> reports/tariffs, sinks/live -> live, exports -> documents,
commands -> cli/), fix the imports in this one file.
"""

from __future__ import annotations

from typing import Any

from ..analytics.errors import NoData, ReportError
from ..analytics.registry import REPORTS, ReportSpec
from ..analytics.settings import ReportSettings, parse_days, parse_hours
from ..analytics.tables import to_jsonable
from ..commands.common import sites_in
from ..commands.report import settings_from_config
from ..config import Config, ConfigProblems, load_config
from ..sinks.live import LiveState, MeterLive

__all__ = ["Config", "ConfigProblems", "LiveState", "MeterLive", "NoData", "REPORTS", "ReportError", "ReportSettings",
           "ReportSpec", "load_config", "load_tariff", "monthly_document", "parse_days", "parse_hours",
           "settings_from_config", "sites_in", "to_jsonable", "workbook_bytes"]


def load_tariff(name: str, dirs: list[Any] | None = None) -> Any:
    from ..analytics.tariff import load_tariff as load

    return load(name, dirs or [])


def monthly_document(store: Any, site: str, first: Any, settings: ReportSettings, tariff: Any, what_if: Any,
                     fmt: str) -> bytes:
    """The monthly report for the month starting at `first`, as HTML or PDF bytes (NoData if empty)."""
    from ..exports import html, pdf
    from ..exports.monthly import gather
    from ..exports.sections import document

    doc = document(gather(store, site, first, settings, tariff, what_if))
    return pdf.render(doc) if fmt == "pdf" else html.render(doc).encode("utf-8")


def workbook_bytes(results: list[tuple[str, Any]], site: str, first: Any, last: Any, settings: ReportSettings,
                   main_meter: str | None, notes: list[str]) -> bytes:
    """The Excel workbook of report results, as the `wattlog workbook` command writes it."""
    import io
    from datetime import datetime

    from ..exports.workbook import Meta, build

    cost = next((r for n, r in results if n == "cost"), None)
    meta = Meta(site, first, last, settings.timezone, datetime.now(settings.tz),
                f"{cost.tariff_name} ({cost.tariff})" if cost else "", main_meter, notes)
    out = io.BytesIO()
    build(results, meta).save(out)
    return out.getvalue()
