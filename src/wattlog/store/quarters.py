"""The day's 15-minute values packed into one column of its rollup_1d row, for year-long reports.

A year of one meter is 35,040 rollup_15m rows but 365 day rows: reports that need every
quarter-hour of a long span (maximum demand, heatmaps, profiles) read the day rows and unpack
these arrays in C instead of fetching a million rows through Python. The arrays are built from
the same rollup_15m rows in the same transaction, so they always agree with them.

Layout (little-endian): version (u8), n quarters in the local day (u16: 92, 96 or 100 with DST),
then one array of n values per field of F64 (float64), then per field of F32 (float32).
NaN where the quarter has no rollup_15m row or the column is NULL.
"""

from __future__ import annotations

import struct
import sys
from array import array
from functools import lru_cache
from typing import Any, Sequence

from .buckets import QUARTER

VERSION = 1
HEADER = struct.Struct("<BH")
# Energy and time stay float64: they must sum to the day row exactly. Quality values are read
# to 0.1 V / 0.01 Hz: float32 keeps them to better than 1e-4.
F64 = ("energy_kwh", "reactive_kvarh", "apparent_kvah", "covered_s", "gap_s")
F32 = ("voltage_min", "voltage_max", "voltage_ll_min", "voltage_ll_max", "unbalance_max", "freq_min", "freq_max")
FIELDS = F64 + F32
NAN = float("nan")
_SWAP = sys.byteorder != "little"


def pack(rows: Sequence[dict[str, Any]], day_start_us: int, day_end_us: int) -> bytes:
    """The packed arrays of one local day from its rollup_15m rows (each with "_us", its start)."""
    n = (day_end_us - day_start_us) // QUARTER
    columns = {f: [NAN] * n for f in FIELDS}
    for r in rows:
        i = (r["_us"] - day_start_us) // QUARTER
        if 0 <= i < n:
            for f in FIELDS:
                v = r[f]
                if v is not None:
                    columns[f][i] = v
    parts = [HEADER.pack(VERSION, n)]
    for fields, code in ((F64, "d"), (F32, "f")):
        for f in fields:
            a = array(code, columns[f])
            if _SWAP:
                a.byteswap()
            parts.append(a.tobytes())
    return b"".join(parts)


@lru_cache(maxsize=4)
def _layout(n: int) -> dict[str, tuple[str, int, int]]:
    """field -> (array code, first byte, end byte) in a packed day of n quarters."""
    out, at = {}, HEADER.size
    for fields, code, size in ((F64, "d", 8), (F32, "f", 4)):
        for f in fields:
            out[f] = (code, at, at + size * n)
            at += size * n
    return out


class Quarters:
    """Unpacks one day's arrays field by field, each time it is asked (a report reads a field of a day
    once; a year of cached lists was most of a report's memory)."""

    __slots__ = ("n", "_data", "_at")

    def __init__(self, data: bytes) -> None:
        version, self.n = HEADER.unpack_from(data)
        if version != VERSION:
            raise ValueError(f"packed quarters version {version} is not {VERSION}: rebuild the rollups")
        self._data = memoryview(data)
        self._at = _layout(self.n)

    def __getitem__(self, field: str) -> list[float]:
        try:
            code, a, b = self._at[field]
        except KeyError:
            raise KeyError(f"{field}: not a packed field, or not kept by Quarters.keep") from None
        values = array(code)
        values.frombytes(self._data[a:b])
        if _SWAP:
            values.byteswap()
        return values.tolist()

    def keep(self, fields: Sequence[str]) -> Quarters:
        """A copy holding only these fields (the day's whole array is 6.5 kB; energy alone 0.8 kB)."""
        parts, at, pos = [], {}, 0
        for f in fields:
            code, a, b = self._at[f]
            parts.append(self._data[a:b])
            at[f] = (code, pos, pos + b - a)
            pos += b - a
        out = object.__new__(Quarters)
        out.n, out._data, out._at = self.n, memoryview(b"".join(parts)), at
        return out
