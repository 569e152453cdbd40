"""The durable store: raw readings and 15-minute/hourly/daily rollups in SQLite, PostgreSQL or SQL Server.

The names below load on first use, so importing a light module of this package (quarters, buckets)
does not pull in SQLAlchemy and Alembic: `wattlog --help` stays quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ..errors import StoreError, StoreUnavailable

_LAZY = {"Store": ".store", "export_rows": ".export", "ImportResult": ".importer", "SkippedRow": ".importer",
         "import_poc_csv": ".importer"}

__all__ = ["ImportResult", "SkippedRow", "Store", "StoreError", "StoreUnavailable", "export_rows",
           "import_poc_csv"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
