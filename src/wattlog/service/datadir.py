"""The data directory: made private (0750, files 0640 whatever the umask), checked writable, and
held by one service at a time through an exclusive lock on data_dir/wattlog.lock.

Two services on one data directory would both poll and store near-duplicates; the second one
stops at once with the holder's pid. The lock is the kernel's (fcntl.flock): it goes with the
process, so a kill -9 never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..errors import ConfigError

LOCK_NAME = "wattlog.lock"
DIR_MODE, FILE_MODE = 0o750, 0o640
UMASK = 0o027  # what the service creates is readable by its group at most (issue 8, item 11)


def prepare(data_dir: Path, where: str = "site.data_dir") -> Path:
    """Create `data_dir` (0750) and check it is a writable directory; a ConfigError with the fix if not."""
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(f"{data_dir} is a file, not a directory", key=where,
                          fix="point data_dir at a folder (it is created if missing)")
    try:
        data_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {data_dir}: {exc.strerror}", key=where,
                          fix="create it as root and chown it to the service's user, or choose another folder") from None
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise ConfigError(f"{data_dir} is not writable by this user", key=where,
                          fix=f"chown it to the service's user (sudo chown -R $USER {data_dir}) or choose another folder")
    return data_dir


def problem(data_dir: Path, where: str = "site.data_dir") -> ConfigError | None:
    """What `prepare` would refuse, without creating anything (for `wattlog check`)."""
    if data_dir.exists():
        if not data_dir.is_dir():
            return ConfigError(f"{data_dir} is a file, not a directory", key=where,
                               fix="point data_dir at a folder (it is created if missing)")
        if not os.access(data_dir, os.W_OK | os.X_OK):
            return ConfigError(f"{data_dir} is not writable by this user", key=where,
                               fix=f"chown it to the service's user (sudo chown -R $USER {data_dir}) "
                                   "or choose another folder")
        return None
    parent = data_dir.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return ConfigError(f"cannot create {data_dir}: {parent} is not a writable folder", key=where,
                           fix="create it as root and chown it to the service's user, or choose another folder")
    return None


class DataDirLock:
    """An exclusive lock on data_dir/wattlog.lock holding the owner's pid; release() or exit frees it."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise ConfigError(f"another wattlog (pid {holder}) is already running on {self.path.parent}",
                              key="site.data_dir",
                              fix=f"stop it first (kill {holder}), or give this one its own data_dir") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
