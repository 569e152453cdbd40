"""Report results as plain tables (for Rich, CSV, spreadsheets) and as JSON-ready data."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any


@dataclass
class Table:
    """One table of a report: what the CLI prints, CSV writes and an exporter lays out."""

    name: str  # short id, e.g. "locations" (--table picks one for CSV)
    title: str
    columns: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, dates, times, sets and NaN made into what json.dumps takes (NaN -> null)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if not f.name.startswith("_")}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return [to_jsonable(v) for v in sorted(obj)]
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, time):
        return obj.strftime("%H:%M")
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, Decimal):
        return str(obj)  # money stays exact: "1234.56"
    return obj


def r(value: float | None, digits: int = 3) -> float | None:
    """Rounded for tables (JSON keeps full precision)."""
    return None if value is None or value != value else round(value, digits)


def pct(part: float, whole: float) -> float | None:
    return part / whole * 100 if whole else None
