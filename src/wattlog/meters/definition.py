"""Meter model definitions: data files, validated on load, mapping registers to quantities.

A model is one TOML file. The ones shipped live in `wattlog/meters/definitions/`; a user adds a
model by dropping a file into a folder named in the config (`meter_definitions`), no code change.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import DefinitionError
from ..quantities import NAME_PATTERN, QUANTITIES, Kind, unit_factor
from ..validate import Checker
from .decode import TYPES, WORD_ORDERS, WORDS, decode, is_nan

MAX_READ = 125  # Modbus limit for function codes 3 and 4

TOP_KEYS = {"model", "name", "manufacturer", "source", "function", "word_order", "max_read",
            "max_gap", "registers"}
REG_KEYS = {"name", "address", "type", "function", "word_order", "scale", "unit", "kind",
            "valid", "sentinel", "note"}
REQUIRED_REG_KEYS = ("name", "address", "type", "unit")


@dataclass(frozen=True)
class Register:
    """One quantity in a meter's register map."""

    name: str
    address: int
    type: str
    function: int
    word_order: str
    factor: float  # scale times the unit conversion: raw value * factor = canonical units
    unit: str  # the canonical unit (or the model's own for its own names)
    kind: Kind
    valid: tuple[float, float] | None = None
    sentinel: int | None = None
    note: str = ""

    @property
    def words(self) -> int:
        return WORDS[self.type]

    @property
    def span(self) -> tuple[float, float]:
        """The values this register can hold, scaled: the plausibility bound when `valid` is not given."""
        if self.type == "float32":
            lo, hi = -3.4028235e38, 3.4028235e38
        else:
            bits = 16 * self.words
            lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if self.type[0] == "s" else (0, 2 ** bits - 1)
        a, b = lo * self.factor, hi * self.factor
        return (min(a, b), max(a, b))

    @property
    def end(self) -> int:
        """One past the last address."""
        return self.address + self.words

    def value(self, words: list[int] | tuple[int, ...]) -> float | None:
        """Scaled value in canonical units, or None when the meter says 'not available'."""
        raw = decode(words, self.type, self.word_order)
        if is_nan(raw) or (self.sentinel is not None and raw == self.sentinel):
            return None
        value = raw * self.factor
        # Integers scaled by decimal factors: round away binary noise (0.1 * 2314 = 231.40000000000001)
        return round(value, 9) if isinstance(raw, int) else value


@dataclass(frozen=True)
class MeterModel:
    """A meter model: its registers and how it likes to be read."""

    model: str
    name: str
    source: str
    registers: tuple[Register, ...]
    path: str = ""
    max_read: int = MAX_READ
    max_gap: int = 16
    manufacturer: str = ""
    by_name: dict[str, Register] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name.update({r.name: r for r in self.registers})


def _fail(path: str, key: str, message: str, fix: str) -> DefinitionError:
    return DefinitionError(message, file=path, key=key, fix=fix)


def _number(value: Any, path: str, key: str, fix: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(path, key, f"expected a number, got {value!r}", fix)
    return float(value)


def _register(entry: Any, i: int, defaults: dict[str, Any], path: str) -> Register:
    if not isinstance(entry, dict):
        raise _fail(path, f"registers[{i}]", "each register must be a table",
                    'write { name = "voltage_l1", address = 4034, type = "u32", unit = "V" }')
    label = entry.get("name", "?")
    where = f"registers[{i}] ({label})."
    Checker(path, error=DefinitionError).keys(entry, REG_KEYS, where)
    for key in REQUIRED_REG_KEYS:
        if key not in entry:
            raise _fail(path, where + key, "missing", f"add {key} = ... to this register")
    name = entry["name"]
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise _fail(path, where + "name", f"invalid quantity name {name!r}",
                    "use lower case letters, digits and _ (e.g. voltage_l1); canonical names: "
                    + ", ".join(QUANTITIES))
    address = entry["address"]
    if isinstance(address, bool) or not isinstance(address, int) or not 0 <= address <= 65535:
        raise _fail(path, where + "address", f"invalid address {address!r}",
                    "give the 0-based wire address, an integer 0..65535")
    type_ = entry["type"]
    if type_ not in TYPES:
        raise _fail(path, where + "type", f"unknown type {type_!r}", f"use one of {', '.join(TYPES)}")
    if address + WORDS[type_] > 65536:
        raise _fail(path, where + "address", "register runs past address 65535", "check the address")
    function = entry.get("function", defaults["function"])
    if function not in (3, 4):
        raise _fail(path, where + "function", f"unsupported function code {function!r}",
                    "use 3 (holding registers) or 4 (input registers)")
    word_order = entry.get("word_order", defaults["word_order"])
    if word_order not in WORD_ORDERS:
        raise _fail(path, where + "word_order", f"unknown word order {word_order!r}",
                    "use high_first (big-endian words) or low_first")
    scale = _number(entry.get("scale", 1), path, where + "scale", "e.g. scale = 0.1")
    if scale == 0:
        raise _fail(path, where + "scale", "scale is zero", "use the manual's multiplier, e.g. 0.01")
    unit = entry["unit"]
    if not isinstance(unit, str):
        raise _fail(path, where + "unit", f"expected a string, got {unit!r}", 'e.g. unit = "V"')
    canonical = QUANTITIES.get(name)
    factor = unit_factor(name, unit)
    if factor is None:
        assert canonical is not None
        raise _fail(path, where + "unit", f"{name} cannot be given in {unit!r}",
                    f"{name} is measured in {canonical.unit!r}; a convertible unit or that one")
    kind = entry.get("kind", canonical.kind if canonical else None)
    if kind not in ("counter", "instantaneous"):
        raise _fail(path, where + "kind", f"invalid kind {kind!r}",
                    'use kind = "counter" (energy registers) or "instantaneous"')
    if canonical and kind != canonical.kind:
        raise _fail(path, where + "kind", f"{name} is a {canonical.kind}", f'use kind = "{canonical.kind}"')
    valid = entry.get("valid")
    if valid is not None:
        if (not isinstance(valid, list) or len(valid) != 2):
            raise _fail(path, where + "valid", "expected [min, max]", "e.g. valid = [0, 500]")
        lo = _number(valid[0], path, where + "valid", "e.g. valid = [0, 500]")
        hi = _number(valid[1], path, where + "valid", "e.g. valid = [0, 500]")
        if lo >= hi:
            raise _fail(path, where + "valid", "min must be below max", "e.g. valid = [0, 500]")
        valid = (lo, hi)
    sentinel = entry.get("sentinel")
    if sentinel is not None and (type_ == "float32" or isinstance(sentinel, bool)
                                 or not isinstance(sentinel, int)):
        raise _fail(path, where + "sentinel", "sentinel must be an integer raw value of an integer type",
                    "float32 registers use NaN for 'not available' and need no sentinel")
    note = entry.get("note", "")
    return Register(name=name, address=address, type=type_, function=function,
                    word_order=word_order, factor=scale * factor,
                    unit=canonical.unit if canonical else unit, kind=kind, valid=valid,
                    sentinel=sentinel, note=str(note))


def parse_model(data: dict[str, Any], path: str) -> MeterModel:
    """Validate a parsed definition file and build the model."""
    Checker(path, error=DefinitionError).keys(data, TOP_KEYS, "")
    model = data.get("model")
    if not isinstance(model, str) or not NAME_PATTERN.match(model):
        raise _fail(path, "model", f"invalid or missing model id {model!r}",
                    'add model = "rx380" (lower case letters, digits, _)')
    defaults = {"function": data.get("function", 4), "word_order": data.get("word_order", "high_first")}
    max_read = data.get("max_read", MAX_READ)
    if isinstance(max_read, bool) or not isinstance(max_read, int) or not 1 <= max_read <= MAX_READ:
        raise _fail(path, "max_read", f"invalid {max_read!r}", f"an integer 1..{MAX_READ}")
    max_gap = data.get("max_gap", 16)
    if isinstance(max_gap, bool) or not isinstance(max_gap, int) or not 0 <= max_gap < MAX_READ:
        raise _fail(path, "max_gap", f"invalid {max_gap!r}", "an integer, e.g. 16; 0 never bridges gaps")
    entries = data.get("registers")
    if not isinstance(entries, list) or not entries:
        raise _fail(path, "registers", "no registers", "add registers = [ { name = ..., address = ... }, ... ]")
    registers = [_register(e, i, defaults, path) for i, e in enumerate(entries)]
    seen: dict[str, int] = {}
    for i, r in enumerate(registers):
        if r.name in seen:
            raise _fail(path, f"registers[{i}] ({r.name}).name", "duplicate quantity",
                        f"already mapped by registers[{seen[r.name]}]; keep one")
        seen[r.name] = i
    by_fc = sorted(registers, key=lambda r: (r.function, r.address))
    for a, b in zip(by_fc, by_fc[1:]):
        if a.function == b.function and b.address < a.end:
            raise _fail(path, f"registers ({a.name}, {b.name})", f"registers overlap at address {b.address}",
                        f"{a.name} is {a.type} ({a.words} words) from {a.address}; check both addresses and types")
    return MeterModel(model=model, name=str(data.get("name", model)), source=str(data.get("source", "")),
                      registers=tuple(registers), path=path, max_read=max_read, max_gap=max_gap,
                      manufacturer=str(data.get("manufacturer", "")))


def load_model_file(path: Path) -> MeterModel:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"not valid TOML: {exc}", file=str(path),
                              fix="check quotes, brackets and commas near that line") from exc
    except OSError as exc:
        raise DefinitionError(f"cannot read: {exc.strerror}", file=str(path)) from exc
    return parse_model(data, str(path))


def builtin_dir() -> Path:
    return Path(str(resources.files("wattlog.meters") / "definitions"))


def load_models(extra_dirs: list[Path] | tuple[Path, ...] = ()) -> dict[str, MeterModel]:
    """The shipped models, then each folder's; a user's file may replace a shipped model."""
    models: dict[str, MeterModel] = {}
    for folder, shipped in [(builtin_dir(), True)] + [(Path(d), False) for d in extra_dirs]:
        if not folder.is_dir():
            raise DefinitionError("folder not found", file=str(folder),
                                  fix="create it or correct meter_definitions in the config")
        local: dict[str, str] = {}
        for path in sorted(folder.glob("*.toml")):
            m = load_model_file(path)
            if m.model in local:
                raise DefinitionError(f"model {m.model!r} is defined twice", file=str(path), key="model",
                                      fix=f"it is also in {local[m.model]}; rename one")
            local[m.model] = str(path)
            models[m.model] = m
    return models


def get_model(name: str, extra_dirs: list[Path] | tuple[Path, ...] = ()) -> MeterModel:
    """A model by id, or by path to a definition file."""
    if name.endswith(".toml"):
        return load_model_file(Path(name))
    models = load_models(extra_dirs)
    if name not in models:
        raise DefinitionError(f"unknown meter model {name!r}", key="model",
                              fix=f"use one of {', '.join(sorted(models))}, or a path to a .toml definition")
    return models[name]
