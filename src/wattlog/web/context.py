"""SiteContext: what the web knows about one site — its store, time zone, report settings, tariffs,
and inside the service the live state and the bus pollers."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from .data import LiveState, ReportSettings


@dataclass
class SiteContext:
    """One site as the web sees it. `live` and `pollers` are None/empty when serving read-only."""

    store: Any  # wattlog.store.Store, already open (and migrated)
    name: str = ""
    timezone: str = ""
    settings: ReportSettings | None = None
    tariff: Any = None  # a loaded tariff (or None: no cost shown)
    what_if: Any = None
    live: LiveState | None = None
    pollers: Sequence[Any] = ()  # polling.bus.BusPoller: .bus, .stats, .meters (MeterStatus)
    poll: float = 10.0  # seconds between polls: a reading older than 3 polls is stale
    locations: dict[str, str] = field(default_factory=dict)  # meter name -> location label (config)
    demand_target_kw: float | None = None
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    paused: Callable[[], bool] | None = None
    _meters: tuple[float, list[dict[str, Any]]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.name = self.name or self.store.site
        self.timezone = self.timezone or str(self.store.tz)
        if self.settings is None:
            self.settings = ReportSettings(timezone=self.timezone)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def stale_after(self) -> float:
        """Seconds after which a reading is no longer shown as current."""
        return max(3 * self.poll, 30.0)

    def stored_meters(self, max_age: float = 10.0) -> list[dict[str, Any]]:
        """The store's meters, re-read at most every `max_age` seconds (every /latest and stream tick needs them)."""
        now = time.monotonic()
        if self._meters is None or now - self._meters[0] > max_age:
            self._meters = (now, self.store.meters())
        return self._meters[1]

    def statuses(self) -> dict[str, Any]:
        return {st.name: st for p in self.pollers for st in list(p.meters)}

    def local(self, ts: datetime | None) -> str | None:
        """ISO 8601 with the site's offset, to the second."""
        return None if ts is None else ts.astimezone(self.tz).isoformat(timespec="seconds")
