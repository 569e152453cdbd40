"""Validation of tariff files: unknown keys rejected; every error names the file, the key and the fix."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import TariffError
from ..validate import Checker as BaseChecker
from .model import CONFIDENCE, STAGES, Calendar, Meta, Tariff

TOP = {"tariff", "name", "utility", "country", "currency", "major_unit", "minor_unit", "minor_per_major",
       "timezone", "source", "retrieved", "confidence", "verified", "note", "holidays", "versions"}
META = {"source", "confidence", "placeholder", "note"}
CALENDAR = META | {"calendar", "name", "dates"}
HOLIDAY = {"date", "name", "verified", "note"}
TARIFF_ID = re.compile(r"^[a-z][a-z0-9_-]*$")
HOLIDAY_EXAMPLE = 'dates = [{ date = 2025-01-01, name = "New Year" }]'

Reader = Callable[[Path], dict[str, Any]]


def builtin_dir() -> Path:
    """The shipped tariff files and holiday calendars."""
    return Path(str(resources.files("wattlog") / "tariffs" / "data"))


class Checker(BaseChecker):
    """Field checks for one tariff file: the first problem raises a TariffError with file, key and fix."""

    def __init__(self, path: str, read: Reader) -> None:
        super().__init__(path, error=TariffError)
        self.read = read
        self.units: dict[str, Decimal] = {}  # money unit as written ("RM", "sen") -> major units

    def table(self, value: Any, key: str, example: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {value!r}", example)
        return value

    def tables(self, value: Any, key: str, example: str) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, "expected an array of tables", example)
        return value

    def text(self, t: dict[str, Any], key: str, where: str) -> str:
        value = t.get(key)
        if not isinstance(value, str) or not value:
            problem = "missing" if value is None else f"expected a string, got {value!r}"
            raise self.fail(where + key, problem, f'add {key} = "..."')
        return value

    def number(self, value: Any, key: str, example: str) -> Decimal:
        """An exact Decimal from a TOML integer, float (its shortest text, e.g. 31.32) or string."""
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.fail(key, f"expected a number, got {value!r}", example)
        try:
            out = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        except InvalidOperation:
            raise self.fail(key, f"not a number: {value!r}", example) from None
        if not out.is_finite() or (isinstance(value, float) and not math.isfinite(value)):
            raise self.fail(key, f"expected a finite number, got {value!r}", example)
        return out

    def integer(self, t: dict[str, Any], key: str, where: str, default: int, allowed: tuple[int, ...]) -> int:
        value = t.get(key, default)
        if isinstance(value, bool) or value not in allowed:
            raise self.fail(where + key, f"invalid {value!r}", f"use one of {', '.join(map(str, allowed))}")
        return int(value)

    def names(self, value: Any, key: str, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not value:
            raise self.fail(key, "expected a non-empty list of names",
                            f'e.g. {key.rsplit(".", 1)[-1]} = ["{allowed[0]}"]')
        for v in value:
            if v not in allowed:
                raise self.fail(key, f"{v!r} is not {what}", f"use one of {', '.join(allowed)}")
        return tuple(value)

    def applies_to(self, value: Any, key: str, stage: int, earlier: list[str]) -> tuple[str, ...]:
        """Kinds of the stages before `stage`, or names of components calculated before this one."""
        allowed = tuple(k for s in STAGES[:stage] for k in s) + tuple(earlier)
        return self.names(value, key, allowed, "a kind or component calculated before this one")

    def meta(self, t: dict[str, Any], where: str, inherit: Meta) -> Meta:
        confidence = t.get("confidence", inherit.confidence)
        if confidence not in CONFIDENCE:
            raise self.fail(where + "confidence", f"unknown confidence {confidence!r}",
                            f"use one of {', '.join(CONFIDENCE)} (docs/tariffs.md explains each)")
        placeholder = t.get("placeholder", False)
        if not isinstance(placeholder, bool):
            raise self.fail(where + "placeholder", "expected true or false", "placeholder = true marks a stand-in")
        if placeholder and confidence != "unverified":
            raise self.fail(where + "confidence", "a placeholder cannot be " + confidence,
                            'write confidence = "unverified" beside placeholder = true')
        for k in ("source", "note"):
            if not isinstance(t.get(k, ""), str):
                raise self.fail(where + k, "expected a string", f'{k} = "..."')
        return Meta(confidence, placeholder or inherit.placeholder, t.get("source", inherit.source), t.get("note", ""))

    def unit(self, value: Any, key: str, bases: tuple[str, ...]) -> tuple[str, str, Decimal]:
        """("sen/kWh", "kWh", 0.01): the unit as written, its basis and its factor to major units."""
        money, _, basis = value.partition("/") if isinstance(value, str) else ("", "", "")
        if money not in self.units or basis not in bases:
            options = [f"{m}/{b}" for m in self.units for b in bases]
            raise self.fail(key, f"invalid unit {value!r}", f"use one of {', '.join(options)}")
        return value, basis, self.units[money]

    def day(self, value: Any, key: str, example: str) -> date:
        if not isinstance(value, date) or hasattr(value, "hour"):
            raise self.fail(key, f"expected a date, got {value!r}", example)
        return value

    def calendar(self, value: Any, base: Path, meta: Meta) -> Calendar:
        """The holidays: a shipped calendar's name, a .toml path beside the tariff, or a [holidays] table."""
        if value is None:
            return Calendar("", {}, frozenset(), meta)
        check, where = self, "holidays"
        if isinstance(value, str):
            shipped = builtin_dir() / "holidays" / f"{value}.toml"
            candidates = [base / value] if value.endswith(".toml") else [base / "holidays" / f"{value}.toml", shipped]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                raise self.fail(where, f"holiday calendar {value!r} not found",
                                f"looked in {', '.join(map(str, candidates))}")
            check, value, where = Checker(str(found), self.read), self.read(found), ""
        c = check.table(value, where, f"[holidays] {HOLIDAY_EXAMPLE}")
        pre = f"{where}." if where else ""
        check.keys(c, CALENDAR, pre)
        dates: dict[date, str] = {}
        unverified = set()
        for i, h in enumerate(check.tables(c.get("dates", []), pre + "dates", HOLIDAY_EXAMPLE)):
            key = f"{pre}dates[{i}]."
            check.keys(h, HOLIDAY, key)
            d = check.day(h.get("date"), key + "date", "date = 2025-01-01 (no quotes)")
            if d in dates:
                raise check.fail(key + "date", f"{d} is listed twice", "keep one entry")
            dates[d] = str(h.get("name", ""))
            if h.get("verified", False) is not True:  # a date is unverified until the file says otherwise
                unverified.add(d)
        name = str(c.get("calendar", c.get("name", "")))
        return Calendar(name, dates, frozenset(unverified), check.meta(c, pre, meta))


def parse_tariff(data: dict[str, Any], path: str, read: Reader) -> Tariff:
    """Validate a parsed tariff file and build the Tariff."""
    from .versions import version

    p = Checker(path, read)
    p.keys(data, TOP, "")
    tid = data.get("tariff")
    if not isinstance(tid, str) or not TARIFF_ID.match(tid):
        raise p.fail("tariff", f"invalid or missing tariff id {tid!r}",
                     'add tariff = "my-tnb-mv-tou-2025" (lower case letters, digits, - and _)')
    major, minor = p.text(data, "major_unit", ""), p.text(data, "minor_unit", "")
    per = data.get("minor_per_major")
    if isinstance(per, bool) or per not in (1, 10, 100, 1000):
        raise p.fail("minor_per_major", f"invalid {per!r}", "minor_per_major = 100 (100 sen to the ringgit)")
    p.units = {major: Decimal(1), minor: Decimal(1) / Decimal(per)}
    if "confidence" not in data or not isinstance(data.get("verified"), bool):
        raise p.fail("verified" if "confidence" in data else "confidence", "missing",
                     'say how far the numbers are checked: confidence = "secondary", verified = false')
    meta = p.meta(data, "", Meta("official"))
    try:
        ZoneInfo(p.text(data, "timezone", ""))
    except (ValueError, KeyError, OSError):
        raise p.fail("timezone", f"unknown time zone {data['timezone']!r}",
                     'an IANA name, e.g. "Asia/Kuala_Lumpur"') from None
    entries = p.tables(data.get("versions"), "versions", "[[versions]] effective_from = 2025-07-01")
    versions = [version(p, p.table(v, f"versions[{i}]", "[[versions]]"), i, meta) for i, v in enumerate(entries)]
    if not versions:
        raise p.fail("versions", "no versions", "add [[versions]] with effective_from = ...")
    order = sorted(range(len(versions)), key=lambda i: versions[i].effective_from)
    for a, b in pairwise(order):
        va, vb = versions[a], versions[b]
        if va.effective_from == vb.effective_from or (va.effective_to and va.effective_to >= vb.effective_from):
            raise p.fail(f"versions[{b}].effective_from",
                         f"overlaps versions[{a}] ({va.effective_from}–{va.effective_to or 'open'})",
                         "each day is priced by one version: end the earlier one (effective_to) or start later")
    return Tariff(id=tid, name=p.text(data, "name", ""), utility=str(data.get("utility", "")),
                  currency=p.text(data, "currency", ""), major_unit=major, minor_unit=minor, minor_per_major=per,
                  timezone=data["timezone"], verified=data["verified"], meta=meta,
                  holidays=p.calendar(data.get("holidays"), Path(path).parent, meta),
                  versions=tuple(versions[i] for i in order), path=path)
