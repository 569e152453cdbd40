"""The terminal: a compact summary table every few minutes, and the q / w / r keys."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import termios
import tty
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

from rich.markup import escape
from rich.table import Table

from ..live import LiveState
from ..polling.bus import MeterStatus


def _avg(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _fmt(v: float | None, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def _status(st: MeterStatus | None, age: float | None, poll: float) -> str:
    if st is None:
        return "?"
    if st.state in ("ok", "new") and age is not None and age > 3 * poll:
        return f"[yellow]stale {age:.0f} s[/yellow]"
    colour = {"ok": "green", "degraded": "yellow", "failing": "red", "offline": "red", "bus down": "red"}
    text = st.state if st.state != "degraded" else "partial"
    return f"[{colour.get(st.state, 'white')}]{text}[/]"


def summary_table(site: str, live: LiveState, statuses: dict[str, MeterStatus], locations: dict[str, str],
                  poll: float, paused: bool = False, now: datetime | None = None, warning: str = "") -> Table:
    """Per location: V, A, kW, PF, Hz, kWh today, status; `warning` (a full disk) under it."""
    now = now or datetime.now(timezone.utc)
    title = f"{site} — {now.astimezone(live.tz):%Y-%m-%d %H:%M:%S %Z}" + (" — PAUSED (r resumes)" if paused else "")
    t = Table(title=title, title_justify="left")
    for col, just in [("location", "left"), ("V", "right"), ("A", "right"), ("kW", "right"), ("PF", "right"),
                      ("Hz", "right"), ("kWh today", "right"), ("status", "left")]:
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    total_kw = total_kwh = 0.0
    for name, location in locations.items():
        m = live.meters.get(name)
        r = m.reading if m else None
        v = r.values if r else {}
        volts = _avg([v[k] for k in ("voltage_l1", "voltage_l2", "voltage_l3") if k in v])
        amps = _avg([v[k] for k in ("current_l1", "current_l2", "current_l3") if k in v])
        kw = v["total_real_power"] / 1000 if "total_real_power" in v else None
        age = (now - r.timestamp).total_seconds() if r else None
        kwh = m.kwh_today if m and m.day == now.astimezone(live.tz).strftime("%Y-%m-%d") else None
        total_kw += kw or 0.0
        total_kwh += kwh or 0.0
        kwh_text = _fmt(kwh, ",.2f") + ("*" if m and m.since_start and kwh is not None else "")
        t.add_row(location, _fmt(volts, ".1f"), _fmt(amps, ".1f"), _fmt(kw, ",.2f"),
                  _fmt(v.get("total_power_factor"), ".2f"), _fmt(v.get("frequency"), ".2f"), kwh_text,
                  _status(statuses.get(name), age, poll))
    t.add_section()
    t.add_row("total", "", "", f"{total_kw:,.2f}", "", "", f"{total_kwh:,.2f}", "")
    notes = ["* since wattlog started today"] if any(m.since_start for m in live.meters.values()) else []
    if warning:
        notes.append(f"[yellow]{escape(warning)}[/yellow]")
    if notes:
        t.caption = "\n".join(notes)
    return t


@contextlib.contextmanager
def key_reader(on_key: Callable[[str], None]) -> Iterator[bool]:
    """Call on_key for each key pressed while stdin is a terminal; yields whether keys are live."""
    if not sys.stdin.isatty():
        yield False
        return
    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    loop = asyncio.get_running_loop()

    def ready() -> None:
        data = os.read(fd, 32).decode(errors="ignore")
        for ch in data:
            on_key(ch.lower())

    tty.setcbreak(fd)
    loop.add_reader(fd, ready)
    try:
        yield True
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
