"""A power cut for tests: an ext4 image on a loop device, shut down with EXT4_IOC_SHUTDOWN
(NOLOGFLUSH) — every write not yet on the disk is lost, as when the power goes — then mounted
again, which replays the journal as a boot after a power cut would.

Fixture (tests/conftest.py imports it):
    ext4_fs   function: a LoopFs (its mount point `path`, cut(), remount()), or skip with the reason
"""

from __future__ import annotations

import fcntl
import gc
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

__all__ = ["LoopFs", "ext4_fs"]

EXT4_IOC_SHUTDOWN = 0x8004587D  # _IOR('X', 125, __u32)
EXT4_GOING_FLAGS_NOLOGFLUSH = 0x2  # drop what is not on the disk, journal included: a power cut


def _run(*cmd: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise PermissionError(f"{' '.join(cmd)}: {done.stderr.strip() or done.returncode}")


class LoopFs:
    def __init__(self, size_mb: int = 64) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="wattlog-ext4-"))
        self.image, self.path = self.dir / "disk.img", self.dir / "mnt"
        self.path.mkdir()
        with self.image.open("wb") as f:
            f.truncate(size_mb << 20)
        _run("mkfs.ext4", "-q", str(self.image))
        _run("mount", "-o", "loop", str(self.image), str(self.path))

    def cut(self) -> None:
        """The power goes: from now on every write fails, and what was not yet on the disk is gone."""
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.ioctl(fd, EXT4_IOC_SHUTDOWN, EXT4_GOING_FLAGS_NOLOGFLUSH.to_bytes(4, "little"))
        finally:
            os.close(fd)

    def remount(self) -> None:
        """The next boot: unmount the dead file system and mount it again (journal replay)."""
        gc.collect()  # closes SQLite connections left open by the failed writes
        _run("umount", str(self.path))
        _run("mount", "-o", "loop", str(self.image), str(self.path))

    def cleanup(self) -> None:
        gc.collect()
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
        subprocess.run(["rm", "-rf", str(self.dir)], capture_output=True)


@pytest.fixture
def ext4_fs():  # type: ignore[no-untyped-def]
    try:
        fs = LoopFs()
    except (PermissionError, FileNotFoundError) as exc:
        pytest.skip(f"cannot mount an ext4 loop image to cut its power (needs root and mkfs.ext4): {exc}")
    yield fs
    fs.cleanup()
