"""A small real file system that a test can fill and free: a 2 MB tmpfs mounted for the test.

Fixture (tests/conftest.py imports it):
    small_fs   function: a SmallFs (its mount point `path`, fill(), free()), or skip with the reason
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

__all__ = ["SmallFs", "small_fs"]


class SmallFs:
    """A tmpfs of `size`; fill() writes a filler file until the disk is full, free() removes it."""

    def __init__(self, size: str = "2m") -> None:
        self.path = Path(tempfile.mkdtemp(prefix="wattlog-fs-"))
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(self.path)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            os.rmdir(self.path)
            raise PermissionError(done.stderr.strip() or f"mount exited {done.returncode}")
        self.filler = self.path / "filler"

    def fill(self) -> None:
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 16, 4096, 512, 1):  # down to the last byte
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError:
                    pass
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def cleanup(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
        try:
            os.rmdir(self.path)
        except OSError:
            pass


@pytest.fixture
def small_fs():  # type: ignore[no-untyped-def]
    try:
        fs = SmallFs()
    except (PermissionError, FileNotFoundError) as exc:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {exc}")
    yield fs
    fs.cleanup()
