"""Report errors: one line with the problem and the fix (e.g. which dates have data)."""

from __future__ import annotations

from ..errors import WattlogError


class ReportError(WattlogError):
    """A report cannot be made as asked; `fix` says what to do instead."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem} (fix: {fix})" if fix else problem)


class NoData(ReportError):
    """No rollups in the requested range."""
