"""Events for the Events page: meter errors and recoveries and bus faults seen by the pollers while
the web runs (kept in memory, newest first), plus gaps in the stored data."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timezone
from typing import Any

from .context import SiteContext

KEEP = 500


class EventLog:
    """Watches the pollers' meter states and bus counters; call observe() every second or so."""

    def __init__(self) -> None:
        self.items: deque[dict[str, Any]] = deque(maxlen=KEEP)
        self._state: dict[tuple[str, str], str] = {}
        self._faults: dict[tuple[str, str], int] = {}

    def observe(self, ctx: SiteContext, now: datetime | None = None) -> None:
        now = now or datetime.now(timezone.utc)
        for name, st in ctx.statuses().items():
            key = (ctx.name, name)
            before = self._state.get(key)
            self._state[key] = st.state
            if before is None or before == st.state:
                continue
            if st.state in ("failing", "offline", "bus down", "degraded"):
                self._add(ctx, now, "meter error", name, f"{st.state}: {st.last_error}".rstrip(": "), st.hint)
            elif st.state == "ok" and before in ("failing", "offline", "bus down", "degraded"):
                self._add(ctx, now, "meter recovered", name, "answering again", "")
        for p in ctx.pollers:
            s = p.stats
            faults = s.no_answer + s.bad_frames + s.refused + s.link_errors
            key = (ctx.name, p.bus)
            before = self._faults.get(key)
            self._faults[key] = faults
            if before is not None and faults > before:
                self._add(ctx, now, "bus fault", p.bus,
                          f"{faults - before} failed request(s): {s.no_answer} no answer, {s.bad_frames} bad frames, "
                          f"{s.refused} refused, {s.link_errors} link errors in total", "")

    def _add(self, ctx: SiteContext, now: datetime, kind: str, what: str, text: str, hint: str) -> None:
        self.items.appendleft({"site": ctx.name, "time": now, "kind": kind, "subject": what, "text": text,
                               "hint": hint or None})

    def of(self, site: str) -> list[dict[str, Any]]:
        return [e for e in list(self.items) if e["site"] == site]
