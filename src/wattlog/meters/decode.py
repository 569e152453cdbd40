"""Pure conversion between Modbus register words and numbers, for every type and word order."""

from __future__ import annotations

import math
import struct

# words per type
WORDS = {"u16": 1, "s16": 1, "u32": 2, "s32": 2, "u64": 4, "s64": 4, "float32": 2}
TYPES = tuple(WORDS)
WORD_ORDERS = ("high_first", "low_first")


def _ordered(words: list[int] | tuple[int, ...], word_order: str) -> list[int]:
    return list(words) if word_order == "high_first" else list(reversed(words))


def decode(words: list[int] | tuple[int, ...], type_: str, word_order: str = "high_first") -> float:
    """Raw value of `words` (register values 0..65535) as `type_`; NaN stays NaN."""
    n = WORDS[type_]
    if len(words) != n:
        raise ValueError(f"{type_} needs {n} words, got {len(words)}")
    raw = b"".join(w.to_bytes(2, "big") for w in _ordered(words, word_order))
    if type_ == "float32":
        return struct.unpack(">f", raw)[0]
    return int.from_bytes(raw, "big", signed=type_.startswith("s"))


def encode(value: float, type_: str, word_order: str = "high_first") -> list[int]:
    """Register words for a raw value (the inverse of decode); integers are rounded."""
    n = WORDS[type_]
    if type_ == "float32":
        raw = struct.pack(">f", value)
    else:
        signed = type_.startswith("s")
        bits = 16 * n
        v = int(round(value))
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        if not lo <= v <= hi:
            raise OverflowError(f"{value} does not fit {type_}")
        raw = v.to_bytes(2 * n, "big", signed=signed)
    words = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, 2 * n, 2)]
    return _ordered(words, word_order)


def is_nan(value: float) -> bool:
    return isinstance(value, float) and math.isnan(value)
