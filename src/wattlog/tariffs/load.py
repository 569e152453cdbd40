"""Finding and reading tariff files: the shipped ones (data/), a site's folders, or a path."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any

from ..errors import TariffError
from .adjust import apply_series, load_series
from .model import Tariff
from .parse import builtin_dir, parse_tariff


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TariffError(f"not valid TOML: {exc}", file=str(path),
                          fix="check quotes, brackets and commas near that line") from exc
    except OSError as exc:
        raise TariffError(f"cannot read: {exc.strerror}", file=str(path),
                          fix="give a path to a tariff .toml file or a shipped tariff name") from exc


def load_tariff_file(path: Path | str, extra_dirs: list[Path] | tuple[Path, ...] = ()) -> Tariff:
    """One tariff file, with the adjustment files' monthly values (shipped, then each folder's adjustments/)."""
    path = Path(path)
    return apply_series(parse_tariff(_read(path), str(path), _read), load_series(extra_dirs))


def list_tariffs(extra_dirs: list[Path] | tuple[Path, ...] = ()) -> list[Tariff]:
    """The shipped tariffs, then those in each folder (a user's file may replace a shipped one)."""
    found: dict[str, Tariff] = {}
    for folder in [builtin_dir(), *map(Path, extra_dirs)]:
        if not folder.is_dir():
            raise TariffError("folder not found", file=str(folder), fix="create it or correct the path")
        for path in sorted(folder.glob("*.toml")):
            t = load_tariff_file(path, extra_dirs)
            found[t.id] = t
    return [found[k] for k in sorted(found)]


def load_tariff(name_or_path: str | Path, extra_dirs: list[Path] | tuple[Path, ...] = ()) -> Tariff:
    """A tariff by name (shipped, e.g. my-tnb-mv-tou-2025) or by a path to a .toml file."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text or "\\" in text:
        return load_tariff_file(Path(text), extra_dirs)
    shipped = builtin_dir() / f"{text}.toml"  # a shipped file is named by its id (a test checks)
    if not extra_dirs and shipped.is_file():  # a site's folders may hold a file replacing it: read them all
        found = load_tariff_file(shipped)
        if found.id == text:
            return found
    tariffs = {t.id: t for t in list_tariffs(extra_dirs)}
    if text not in tariffs:
        close = difflib.get_close_matches(text, tariffs, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise TariffError(f"unknown tariff {text!r}", key="tariff",
                          fix=f"{hint}use one of {', '.join(tariffs)}, or a path to a tariff .toml file")
    return tariffs[text]
