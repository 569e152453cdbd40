"""What the web takes from the rest of wattlog, in one place: the report registry, settings, the live
state, config and site loading, tariffs, and the monthly report and workbook as bytes."""

from __future__ import annotations

from typing import Any

from ..analytics.settings import ReportSettings, parse_days, parse_hours
from ..config import Config, load_config
from ..errors import ConfigProblems, NoData, ReportError
from ..live import LiveState, MeterLive
from ..reports.registry import REPORTS, ReportSpec
from ..reports.result import to_jsonable
from ..site import sites_in

__all__ = ["Config", "ConfigProblems", "LiveState", "MeterLive", "NoData", "REPORTS", "ReportError", "ReportSettings",
           "ReportSpec", "load_config", "load_tariff", "monthly_document", "parse_days", "parse_hours",
           "settings_from_config", "sites_in", "to_jsonable", "workbook_bytes"]


def settings_from_config(cfg: Config) -> ReportSettings:
    """The config's [reports] settings, else the defaults, in the site's time zone."""
    return (cfg.report_settings or ReportSettings()).with_(timezone=cfg.timezone)


def load_tariff(name: Any, dirs: list[Any] | None = None) -> Any:
    """A tariff by name or path (a tariff the config already loaded is returned as it is)."""
    from ..tariffs.load import load_tariff as load
    from ..tariffs.model import Tariff

    return name if isinstance(name, Tariff) else load(name, dirs or [])


def monthly_document(store: Any, site: str, first: Any, settings: ReportSettings, tariff: Any, what_if: Any,
                     fmt: str) -> bytes:
    """The monthly report for the month starting at `first`, as HTML or PDF bytes (NoData if empty)."""
    from ..documents import html, pdf
    from ..documents.monthly import gather
    from ..documents.usage_sections import document

    doc = document(gather(store, site, first, settings, tariff, what_if))
    return pdf.render(doc) if fmt == "pdf" else html.render(doc).encode("utf-8")


def workbook_bytes(results: list[tuple[str, Any]], site: str, first: Any, last: Any, settings: ReportSettings,
                   main_meter: str | None, notes: list[str]) -> bytes:
    """The Excel workbook of report results, as the `wattlog workbook` command writes it."""
    import io
    from datetime import datetime

    from ..documents.workbook import Meta, build

    cost = next((r for n, r in results if n == "cost"), None)
    meta = Meta(site, first, last, settings.timezone, datetime.now(settings.tz),
                f"{cost.tariff_name} ({cost.tariff})" if cost else "", main_meter, notes)
    out = io.BytesIO()
    build(results, meta).save(out)
    return out.getvalue()
