"""The one checker for every file wattlog reads (config, meter definitions, tariffs).

Each problem is an error naming the file, the key and the fix, worded the same everywhere. A
checker either stops at the first problem (`collect=False`: definitions, tariffs) or gathers them
all so `wattlog check` can list every one at once (`collect=True`: the site config).
"""

from __future__ import annotations

import difflib
import math
import os
import re
from pathlib import Path
from typing import Any

from .errors import ConfigError, ConfigProblems

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$")
_UNITS = {None: 1.0, "s": 1.0, "sec": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(value: Any) -> float:
    """Seconds from 10, 10.5, "10s", "2m", "500ms", "1h"; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(value)
    return float(m.group(1)) * _UNITS[m.group(2)]


def unknown_key_fix(key: str, allowed: set[str] | frozenset[str]) -> str:
    """'did you mean …? allowed here: …' — the same words for every file."""
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean '{close[0]}'? " if close else "remove it; "
    return hint + f"allowed here: {', '.join(sorted(allowed))}"


class Checker:
    """Typed getters over a parsed TOML table; every failure names file, key and fix."""

    def __init__(self, path: str, *, error: type[ConfigError] = ConfigError, collect: bool = False) -> None:
        self.path, self.error, self.collect = path, error, collect
        self.problems: list[ConfigError] = []

    def fail(self, key: str, message: str, fix: str = "") -> ConfigError:
        """Record the problem (collecting) or raise it. Returns it so `raise c.fail(...)` reads right."""
        err = self.error(message, file=self.path, key=key or None, fix=fix or None)
        if not self.collect:
            raise err
        self.problems.append(err)
        return err

    def done(self) -> None:
        """Raise every collected problem at once."""
        if self.problems:
            raise ConfigProblems(self.problems)

    def keys(self, table: dict[str, Any], allowed: set[str] | frozenset[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                self.fail(f"{where}{key}", "unknown key", unknown_key_fix(key, allowed))

    def string(self, table: dict[str, Any], key: str, where: str, default: str = "") -> str:
        v = table.get(key, default)
        if not isinstance(v, str):
            self.fail(where + key, f"expected a string, got {v!r}", f'write {key} = "..."')
            return default
        return v

    def number(self, table: dict[str, Any], key: str, where: str, default: float, lo: float, hi: float) -> float:
        v = table.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
            self.fail(where + key, f"invalid value {v!r}", f"a number from {lo:g} to {hi:g}")
            return default
        return float(v)

    def flag(self, table: dict[str, Any], key: str, where: str, default: bool) -> bool:
        v = table.get(key, default)
        if not isinstance(v, bool):
            self.fail(where + key, f"expected true or false, got {v!r}", f"write {key} = true or {key} = false")
            return default
        return v

    def section(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        """The table at `key` (empty when absent)."""
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.fail(key, f"expected a table [{key}]", f"write it as [{key}] with keys below it")
            return {}
        return value

    def duration(self, table: dict[str, Any], key: str, where: str, default: float, lo: float, hi: float) -> float:
        if key not in table:
            return default
        try:
            v = parse_duration(table[key])
        except ValueError:
            self.fail(where + key, f"not a duration: {table[key]!r}", 'write seconds, or e.g. "10s", "2m", "1h"')
            return default
        if not lo <= v <= hi:
            self.fail(where + key, f"{v:g} s is out of range", f"use {lo:g} s to {hi:g} s")
            return default
        return v

    def secret(self, table: dict[str, Any], where: str, name: str = "password",
               example: str = "/etc/wattlog/db.secret") -> str:
        """A secret (a password, a token) from NAME_env or NAME_file; never from the file itself."""
        if name in table:
            self.fail(where + name, f"{name}s do not belong in the config file",
                      f"put it in an environment variable ({name}_env = \"VAR\") or a file readable "
                      f"only by the service user ({name}_file = \"{example}\")")
            return ""
        env, file = table.get(f"{name}_env"), table.get(f"{name}_file")
        if env:
            if env not in os.environ:
                self.fail(where + f"{name}_env", f"environment variable {env} is not set",
                          f"set {env} in the service's environment (systemd: EnvironmentFile=)")
                return ""
            return os.environ[env]
        if file:
            p = self.resolve(str(file))
            try:
                return p.read_text(encoding="utf-8").strip()
            except OSError as exc:
                self.fail(where + f"{name}_file", f"cannot read {p}: {exc.strerror}",
                          "create it, readable by the service user only (chmod 600)")
        return ""

    def resolve(self, text: str) -> Path:
        """A path as written in the file: relative paths resolve against the file's folder."""
        p = Path(text).expanduser()
        return p if p.is_absolute() or not self.path else Path(self.path).parent / p
