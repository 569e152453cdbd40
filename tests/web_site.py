"""Helpers for the web tests: the export tests' small site in SQLite, and the app over it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exports_site import SITE, make_site

from wattlog.store import Store
from wattlog.web import create_app
from wattlog.web.data import ReportSettings, load_tariff

TZ = "Asia/Kuala_Lumpur"
TARIFF = "my-tnb-lv-tou-2025"


def site_app(tmp: Path, **kwargs: Any) -> tuple[Any, Store, str]:
    """(app, store, url) over the export tests' site: office, plant, main; 5-8 Oct 2026 with a gap."""
    url = make_site(tmp / "site.db")
    store = Store(url, site=SITE, tz=TZ)
    kwargs.setdefault("tariff", load_tariff(TARIFF))
    app = create_app(store, settings=ReportSettings(timezone=TZ, main_meter="main"), **kwargs)
    return app, store, url
