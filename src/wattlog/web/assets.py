"""The dashboard's browser libraries, copied from node_modules into static/vendor/.

uPlot is an npm package pinned in package.json / package-lock.json (with its integrity hash).
`./dev` runs `npm ci` and then this module (`python -m wattlog.web.assets`) when the vendor files are
missing, so a fresh clone gets them; the copies are not in git (.gitignore). Without them the pages
still work and say that charts need `./dev assets`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

VENDOR = Path(__file__).parent / "static" / "vendor"
FILES = {  # vendor name -> path inside the project's node_modules
    "uPlot.iife.min.js": "node_modules/uplot/dist/uPlot.iife.min.js",
    "uPlot.min.css": "node_modules/uplot/dist/uPlot.min.css",
    "uPlot.LICENSE.txt": "node_modules/uplot/LICENSE",
}


def missing() -> list[str]:
    """Vendor files not in place."""
    return [name for name in FILES if not (VENDOR / name).is_file()]


def install(root: Path) -> list[str]:
    """Copy the vendor files from root/node_modules; the problems (empty when all went well)."""
    problems = []
    VENDOR.mkdir(parents=True, exist_ok=True)
    for name, source in FILES.items():
        src = root / source
        if not src.is_file():
            problems.append(f"{src} is missing (fix: run `npm ci` in {root})")
            continue
        shutil.copyfile(src, VENDOR / name)
    return problems


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = install(root)
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if not problems:
        print(f"web assets: {', '.join(FILES)} -> {VENDOR}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
