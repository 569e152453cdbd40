"""How a failing meter is logged: one line per failure episode, flapping summarised.

An episode is a run of failed polls between two good ones. The first episode after a quiet
spell is logged in full (its cause and what to check) and so is its recovery. Further episodes
within `window` seconds of it are only counted; when the window ends one line sums them up:
"office (unit 1 on …): 14 failures in the last 5 min (no answer ×9, garbled ×5) in 6 episodes;
now ok". A meter that stays down is one episode however long it lasts: no repeated lines.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

from ..errors import BadFrame, DeviceRefused, NoAnswer, RequestError

log = logging.getLogger("wattlog.poller")

WINDOW_S = 300.0


def cause(error: RequestError) -> str:
    """A short name for what went wrong, as counted in a summary."""
    if isinstance(error, NoAnswer):
        return "no answer"
    if isinstance(error, BadFrame):
        return "garbled"
    if isinstance(error, DeviceRefused):
        return "refused"
    return type(error).__name__


def _span(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


class EpisodeLog:
    """The failure log of one meter (`where` names it: location, unit, bus)."""

    def __init__(self, where: str, window: float = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.where, self.window, self.clock = where, window, clock
        self._start: float | None = None  # when the logged episode began; None: a quiet spell
        self._failing = False
        self._logged = False  # the current episode's start was logged, so its recovery is too
        self._episodes = 0
        self._counts: Counter[str] = Counter()

    def failed(self, error: RequestError, line: str) -> None:
        """One failed poll; `line` is what to log if this starts an episode after a quiet spell."""
        self._roll()
        if not self._failing:
            self._failing = True
            self._episodes += 1
            if self._start is None:
                self._start, self._episodes, self._counts = self.clock(), 1, Counter()
                self._logged = True
                log.error("%s", line)
            else:
                self._logged = False
        self._counts[cause(error)] += 1

    def ok(self, line: str) -> None:
        """One good poll; `line` is the recovery message, logged if the episode's start was."""
        self._roll()
        if self._failing and self._logged:
            log.info("%s", line)
        self._failing = self._logged = False

    def _roll(self) -> None:
        if self._start is None or self.clock() - self._start < self.window:
            return
        if self._episodes > 1:
            parts = ", ".join(f"{name} ×{n}" for name, n in self._counts.most_common())
            log.warning("%s: %d failures in the last %s (%s) in %d episodes; now %s", self.where,
                        sum(self._counts.values()), _span(self.window), parts, self._episodes,
                        "failing" if self._failing else "ok")
        if self._failing:  # an episode still under way: it opens the next window, unlogged again
            self._start, self._episodes, self._counts = self.clock(), 1, Counter()
        else:
            self._start, self._episodes, self._counts = None, 0, Counter()
