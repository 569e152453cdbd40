"""Monthly adjustments as dated data of their own (AFA, ICPT by customer category, MEA's Ft).

A tariff file declares an adjustment (name, unit, bands); the values live in files under
tariffs/data/adjustments/ (and a site's tariff folders' adjustments/), one value a month with its
source and confidence, updatable without touching a tariff file. A site config ([tariff.adjust])
or the command line (--adjust afa:2025-10=-6.50) adds or replaces months. There is no hard cap:
a value beyond the file's `usual` range is priced and flagged on the bill.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..errors import TariffError
from .model import CONFIDENCE, MONTH, Meta, Tariff

FILE_KEYS = {"adjustment", "label", "unit", "tariffs", "usual", "note", "source", "confidence", "values"}
VALUE_KEYS = {"month", "months", "rate", "source", "confidence", "note"}
SPEC = re.compile(r"^([a-z][a-z0-9_]*):(\d{4}-\d{2})=([-+]?\d+(?:\.\d+)?)$")
SPEC_FIX = "write NAME:YYYY-MM=RATE in the adjustment's unit, e.g. --adjust afa:2025-10=-6.50"


@dataclass(frozen=True)
class Series:
    """One adjustment file: monthly values for the tariffs it names."""

    name: str
    label: str
    unit: str
    tariffs: tuple[str, ...]
    usual: Decimal | None  # beyond ±usual a value is flagged on the bill (never refused)
    values: dict[str, Decimal]
    meta: dict[str, Meta]  # month → where the value comes from
    note: str = ""
    path: str = ""


def _fail(path: str, key: str, problem: str, fix: str) -> TariffError:
    return TariffError(problem, file=path, key=key, fix=fix)


def _number(value: Any, path: str, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _fail(path, key, f"expected a number, got {value!r}", "rate = -6.50")
    try:
        out = Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        raise _fail(path, key, f"not a number: {value!r}", "rate = -6.50") from None
    if not out.is_finite():
        raise _fail(path, key, f"expected a finite number, got {value!r}", "rate = -6.50")
    return out


def parse_series(data: dict[str, Any], path: str) -> Series:
    """Validate one adjustment file; the first problem raises a TariffError with file, key and fix."""
    for k in data:
        if k not in FILE_KEYS:
            raise _fail(path, k, f"unknown key {k!r}", f"use one of {', '.join(sorted(FILE_KEYS))}")
    name, unit = data.get("adjustment"), data.get("unit")
    if not isinstance(name, str) or not re.match(r"^[a-z][a-z0-9_]*$", name):
        raise _fail(path, "adjustment", f"invalid or missing adjustment name {name!r}",
                    'adjustment = "afa" (the name the tariff files use)')
    if not isinstance(unit, str) or "/kWh" not in unit:
        raise _fail(path, "unit", f"invalid unit {unit!r}", 'unit = "sen/kWh" (as in the tariff files)')
    tariffs = data.get("tariffs")
    if not isinstance(tariffs, list) or not tariffs or not all(isinstance(t, str) for t in tariffs):
        raise _fail(path, "tariffs", "expected the list of tariff ids it applies to",
                    'tariffs = ["my-tnb-mv-tou-2025", "my-tnb-mv-general-2025"]')
    usual = _number(data["usual"], path, "usual") if "usual" in data else None
    base = Meta(str(data.get("confidence", "unverified")), False, str(data.get("source", "")))
    values: dict[str, Decimal] = {}
    meta: dict[str, Meta] = {}
    entries = data.get("values", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise _fail(path, "values", "expected [[values]] tables",
                    '[[values]] month = "2025-10", rate = -6.50, source = "..."')
    for i, e in enumerate(entries):
        key = f"values[{i}]"
        for k in e:
            if k not in VALUE_KEYS:
                raise _fail(path, f"{key}.{k}", f"unknown key {k!r}", f"use one of {', '.join(sorted(VALUE_KEYS))}")
        months = e.get("months", [e.get("month")])
        if not isinstance(months, list) or not months or not all(isinstance(m, str) and MONTH.match(m) for m in months):
            raise _fail(path, f"{key}.month", f"not a month: {e.get('month', e.get('months'))!r}",
                        'month = "2025-10", or months = ["2025-01", ..., "2025-06"] for a half-year')
        rate = _number(e.get("rate"), path, f"{key}.rate")
        confidence = e.get("confidence", base.confidence)
        if confidence not in CONFIDENCE:
            raise _fail(path, f"{key}.confidence", f"unknown confidence {confidence!r}",
                        f"use one of {', '.join(CONFIDENCE)}")
        source = str(e.get("source", base.source))
        if not source:
            raise _fail(path, f"{key}.source", "every value needs its source", 'source = "TNB, via The Star 2025-09-30"')
        for m in months:
            if m in values:
                raise _fail(path, f"{key}.month", f"{m} is given twice", "keep one value per month")
            values[m] = rate
            meta[m] = Meta(confidence, False, source, str(e.get("note", "")))
    return Series(name, str(data.get("label", name)), unit, tuple(tariffs), usual, values, meta,
                  str(data.get("note", "")), path)


def adjustment_dirs(extra_dirs: Iterable[Path] = ()) -> list[Path]:
    from .parse import builtin_dir

    return [builtin_dir() / "adjustments", *(Path(d) / "adjustments" for d in extra_dirs)]


def load_series(extra_dirs: Iterable[Path] = ()) -> list[Series]:
    """Every adjustment file: the shipped ones, then each tariff folder's adjustments/ (later wins per month)."""
    out = []
    for folder in adjustment_dirs(extra_dirs):
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise TariffError(f"not valid TOML: {exc}", file=str(path), fix="check quotes and brackets") from exc
            out.append(parse_series(data, str(path)))
    return out


def apply_series(tariff: Tariff, series: Iterable[Series]) -> Tariff:
    """The tariff with every file's values merged into the adjustments it declares (files win over the
    tariff file's own series; a later file wins over an earlier one)."""
    mine = [s for s in series if tariff.id in s.tariffs or "*" in s.tariffs]
    if not mine:
        return tariff
    versions = []
    for v in tariff.versions:
        adjustments = []
        for a in v.adjustments:
            values, metas, usual = dict(a.series), dict(a.sources), a.usual
            for s in mine:
                if s.name != a.name:
                    continue
                if s.unit != a.unit:
                    raise TariffError(f"{s.name} is in {s.unit} but {tariff.id} declares it in {a.unit}",
                                      file=s.path, key="unit", fix=f'write unit = "{a.unit}" and rates in it')
                values.update(s.values)
                metas.update(s.meta)
                usual = s.usual if s.usual is not None else usual
            adjustments.append(replace(a, series=values, sources=metas, usual=usual))
        versions.append(replace(v, adjustments=tuple(adjustments)))
    return replace(tariff, versions=tuple(versions))


def parse_specs(specs: Iterable[str]) -> dict[str, dict[str, Decimal]]:
    """--adjust afa:2025-10=-6.50 (repeatable) → {"afa": {"2025-10": Decimal("-6.50")}}."""
    out: dict[str, dict[str, Decimal]] = {}
    for spec in specs:
        m = SPEC.match(spec.strip())
        if not m or not MONTH.match(m.group(2)):
            raise TariffError(f"invalid adjustment {spec!r}", key="--adjust", fix=SPEC_FIX)
        out.setdefault(m.group(1), {})[m.group(2)] = Decimal(m.group(3))
    return out


def merged(*given: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Later mappings win month by month (the config's [tariff.adjust], then --adjust)."""
    out: dict[str, dict[str, Any]] = {}
    for g in given:
        for name, months in (g or {}).items():
            out.setdefault(name, {}).update(months)
    return out


def given_series(given: Mapping[str, Mapping[str, Any]], source: str, confidence: str = "unverified") -> list[Series]:
    """Values given by the user ({"afa": {"2025-10": -6.50}}) as series for every tariff declaring them."""
    out = []
    for name, months in given.items():
        values = {m: Decimal(repr(v) if isinstance(v, float) else str(v)) for m, v in months.items()}
        out.append(Series(name, name, "", ("*",), None, values, {m: Meta(confidence, False, source) for m in values}))
    return out


def with_given(tariffs: list[Tariff], given: Mapping[str, Mapping[str, Any]], source: str) -> list[Tariff]:
    """Each tariff with the given months merged in (in the tariff's own unit); an adjustment no tariff
    declares is an error naming the ones that exist."""
    known = {a.name for t in tariffs for v in t.versions for a in v.adjustments}
    for name in given:
        if name not in known:
            raise TariffError(f"no adjustment {name!r} in {', '.join(t.id for t in tariffs)}", key=source,
                              fix=f"use one of {', '.join(sorted(known)) or '(none)'}")
    series = [replace(s, unit=a.unit) for s in given_series(given, source)
              for a in {a.name: a for t in tariffs for v in t.versions for a in v.adjustments}.values()
              if a.name == s.name]
    return [apply_series(t, series) for t in tariffs]


def config_adjust(value: Any, fail: Callable[[str, str, str], Any]) -> dict[str, dict[str, Decimal]]:
    """[tariff.adjust] afa = { "2025-10" = -6.50 } → {"afa": {"2025-10": Decimal("-6.50")}}."""
    example = '[tariff.adjust] afa = { "2025-10" = -6.50 }'
    if not isinstance(value, dict):
        fail("tariff.adjust", "expected a table", example)
        return {}
    out: dict[str, dict[str, Decimal]] = {}
    for name, months in value.items():
        if not isinstance(months, dict):
            fail(f"tariff.adjust.{name}", "expected a table of months", example)
            continue
        for m, v in months.items():
            try:
                if not MONTH.match(m) or isinstance(v, bool):
                    raise InvalidOperation
                out.setdefault(name, {})[m] = Decimal(repr(v) if isinstance(v, float) else str(v))
            except (InvalidOperation, ValueError):
                fail(f"tariff.adjust.{name}.{m}", f"invalid month or value {m!r} = {v!r}", example)
    return out
