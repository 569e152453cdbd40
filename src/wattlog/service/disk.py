"""The disk that holds the data folder: a warning when it passes 80 % full, once per episode, with
what in the data folder uses it (database, spool, CSV files, archive, logs).

The service checks at start and every hour; the warning stays in `DiskWatch.warning` (the
terminal summary and /metrics show it) until the disk is below 75 % again.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("wattlog.service")

WARN_AT = 0.80
CLEAR_AT = 0.75  # below this the episode is over: the next pass of WARN_AT warns again


@dataclass(frozen=True)
class DiskUse:
    path: Path
    total: int
    free: int  # bytes available to the service's user

    @property
    def used(self) -> float:
        return 1.0 - self.free / self.total if self.total else 0.0


def disk_use(path: Path) -> DiskUse:
    st = os.statvfs(path)
    return DiskUse(path, st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize)


def size_of(paths: list[Path]) -> int:
    """Bytes in these files and folders (recursively); missing ones count 0."""
    total = 0
    for p in paths:
        try:
            if p.is_dir():
                for root, _, files in os.walk(p):
                    total += sum(_size(Path(root) / f) for f in files)
            else:
                total += _size(p)
        except OSError:
            pass
    return total


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def parts_of(cfg: Any) -> dict[str, list[Path]]:
    """What the service writes, by what a user would call it: database, spool, CSV, archive, logs."""
    from sqlalchemy.engine import make_url

    dbs = []
    for db in cfg.databases:
        u = make_url(db.url)
        if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
            dbs += [Path(u.database + s) for s in ("", "-wal", "-shm")]
    spool = cfg.data_dir / "spool.db"
    logs = [cfg.log_file.with_name(cfg.log_file.name + s) for s in ("", *(f".{i}" for i in range(1, 10)))] \
        if cfg.log_file else []
    return {"database": dbs, "spool": [spool.with_name(spool.name + s) for s in ("", "-wal", "-shm")],
            "CSV": [cfg.csv_dir] if cfg.csv_dir else [], "archive": [cfg.archive_dir] if cfg.archive_dir else [],
            "logs": logs}


def mb(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


class DiskWatch:
    def __init__(self, data_dir: Path, parts: dict[str, list[Path]]) -> None:
        self.data_dir, self.parts = data_dir, parts
        self.warning = ""  # while the disk is over WARN_AT: what the log said
        self.last: DiskUse | None = None

    def check(self) -> str:
        """Look at the disk; log a warning on passing WARN_AT and a note on going below CLEAR_AT."""
        try:
            use = self.last = disk_use(self.data_dir)
        except OSError as exc:
            log.debug("cannot look at the disk of %s: %s", self.data_dir, exc)
            return self.warning
        if use.used >= WARN_AT and not self.warning:
            sizes = ", ".join(f"{name} {mb(size_of(paths))}" for name, paths in self.parts.items())
            self.warning = (f"the disk holding {self.data_dir} is {100 * use.used:.0f} % full ({mb(use.free)} free); "
                            f"the data folder holds: {sizes}")
            log.warning("%s. Lower [csv] keep_days or [spool] raw_retention_days, or move the archive off "
                        "the card", self.warning)
        elif use.used < CLEAR_AT and self.warning:
            self.warning = ""
            log.info("the disk holding %s is %.0f %% full again: below %.0f %%", self.data_dir, 100 * use.used,
                     100 * CLEAR_AT)
        return self.warning
