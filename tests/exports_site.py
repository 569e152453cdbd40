"""A small site for the export tests: office, plant and a main meter over a September day and three October days."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from analytics_synth import local, series, write

from wattlog.store import Store

SITE = "Kedai Ujian"
SEP, OCT = date(2026, 9, 15), date(2026, 10, 5)  # a Tuesday; a Monday
PEAK = local(OCT + timedelta(days=1), 14)  # Tuesday 6 October 14:00-14:30: the plant at 100 kW


def office(t):
    return 10_000.0


def plant(t):
    return 100_000.0 if PEAK <= t <= PEAK + timedelta(minutes=30) else 40_000.0


def make_site(path: Path) -> str:
    """The database URL. October has data 5-8 Oct only (an incomplete month) and a one-hour gap in the plant."""
    url = f"sqlite:///{path}"
    store = Store(url, site=SITE, tz="Asia/Kuala_Lumpur", gap_seconds=60)
    store.migrate()
    store.ensure_meter("office", location="Office")
    store.ensure_meter("plant", location="Plant")
    store.ensure_meter("main", location="Incomer")
    gap = local(OCT + timedelta(days=2), 3)
    for first, days in ((SEP, 1), (OCT, 3)):
        a, b = local(first), local(first + timedelta(days=days))
        write(store, series("office", a, b, office, step=60, counter0=None)
              + series("plant", a, b, plant, step=60, counter0=None, skip=lambda t: gap <= t < gap + timedelta(hours=1))
              + series("main", a, b, lambda t: office(t) + plant(t) + 5000, step=60, counter0=None))
    store.close()
    return url


def site_config(tmp: Path, url: str, tariff: str | None = "my-tnb-lv-tou-2025") -> Path:
    meters = "".join(f'[[meters]]\nname = "{m}"\nurl = "tcp://127.0.0.1:5020/{i}"\n'
                     for i, m in enumerate(("office", "plant", "main"), start=1))
    text = (f'[site]\nname = "{SITE}"\ntimezone = "Asia/Kuala_Lumpur"\n{meters}[[databases]]\nurl = "{url}"\n'
            '[reports]\nmain_meter = "main"\n' + (f'[tariff]\nname = "{tariff}"\n' if tariff else ""))
    path = tmp / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(command: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`wattlog COMMAND ...` in a subprocess (through wattlog.cli once the command is registered there)."""
    from wattlog.cli.app import all_commands

    if command in all_commands():
        argv = [sys.executable, "-m", "wattlog.cli", command, *args]
    else:
        code = (f"from wattlog.commands.export_report import {command}; "
                f"{command}(prog_name='wattlog {command}')")
        argv = [sys.executable, "-c", code, *args]
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd)
