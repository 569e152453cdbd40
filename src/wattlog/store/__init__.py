"""The durable store: raw readings and 15-minute/hourly/daily rollups in SQLite, PostgreSQL or SQL Server."""

from ..errors import StoreError, StoreUnavailable
from .export import export_rows
from .importer import ImportResult, SkippedRow, import_poc_csv
from .store import Store

__all__ = ["ImportResult", "SkippedRow", "Store", "StoreError", "StoreUnavailable", "export_rows",
           "import_poc_csv"]
