"""Export raw readings as CSV (the proof of concept's column names) or as one streamed JSON array."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from ..quantities import QUANTITIES
from .store import Store

# The proof of concept's columns first (users' spreadsheets are built on them), then the rest.
POC_COLUMNS = ["voltage_l12", "voltage_l23", "voltage_l31", "voltage_l1", "voltage_l2", "voltage_l3",
               "current_l1", "current_l2", "current_l3", "total_real_power", "total_power_factor", "frequency"]
CSV_COLUMNS = ["timestamp", "meter", *POC_COLUMNS, *(q for q in QUANTITIES if q not in POC_COLUMNS), "flags"]


def csv_row(r: dict[str, Any], zone: ZoneInfo) -> list[str]:
    """One reading of Store.readings() as a CSV row (the archive writes the same rows)."""
    return [r["timestamp"].astimezone(zone).isoformat(), r["meter"],
            *("" if r[q] is None else repr(r[q]) for q in CSV_COLUMNS[2:-1]),
            json.dumps(r["flags"], sort_keys=True) if r["flags"] else ""]


def export_rows(store: Store, meter: str | None = None, start: datetime | None = None,
                end: datetime | None = None, fmt: str = "csv", out: TextIO | None = None,
                tz: str | None = None) -> int:
    """Write readings in [start, end) to `out`, timestamps in ISO 8601 with the offset of `tz`
    (default: the site's). Returns the number of readings written; memory stays flat.

    CSV: a header, empty cells for values not read, `flags` as JSON text (empty when all ok);
    a model's own quantities are left out (only JSON has them). JSON: one array of objects
    {"meter", "timestamp", every canonical quantity (null when not read), a model's own ones,
    "flags" (only when a quantity was not ok)}.
    """
    if fmt not in ("csv", "json"):
        raise ValueError(f"unknown format {fmt!r}: use csv or json")
    if out is None:
        raise ValueError("give a text stream to write to (out=...)")
    zone = ZoneInfo(tz) if tz else store.tz
    rows = store.readings(meter, start, end)
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for r in rows:
            writer.writerow(csv_row(r, zone))
            count += 1
        return count
    out.write("[")
    for r in rows:
        obj: dict[str, Any] = {"meter": r["meter"], "timestamp": r["timestamp"].astimezone(zone).isoformat()}
        obj.update((k, v) for k, v in r.items() if k not in ("meter", "timestamp", "flags"))
        if r["flags"]:
            obj["flags"] = r["flags"]
        out.write(("\n" if count == 0 else ",\n") + json.dumps(obj, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count
