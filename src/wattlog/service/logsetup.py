"""Logging for the service: a rotating log file, and the console for what needs a human."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_file: Path | None, level: str = "info", console_level: str | None = None) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.setLevel(logging.DEBUG)
    lvl = getattr(logging, level.upper())
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(log_file, maxBytes=5_000_000, backupCount=5, encoding="utf-8")
        fh.setLevel(lvl)
        fh.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(fh)
    # On a terminal the summary table is the display: only problems go to the console there.
    con = logging.StreamHandler(sys.stderr)
    con.setLevel(getattr(logging, (console_level or ("warning" if sys.stdout.isatty() else level)).upper()))
    con.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(con)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    logging.getLogger("alembic").setLevel(logging.WARNING)
