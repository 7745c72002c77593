"""A full disk, for real: a tiny tmpfs mounted for the test, filled and emptied on demand.

``small_disk(path)`` mounts a tmpfs of a few hundred KiB at ``path`` (root only: the fixture
users skip without it); ``fill()`` writes a filler file until the kernel says ENOSPC, and
``free()`` removes it. Nothing is simulated: the daemon's writes fail as they would on a full
home directory.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


class SmallDisk:
    """A mounted tmpfs that can be filled up and emptied."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._filler = path / ".filler"

    def fill(self) -> None:
        """Fill the file system to the last byte."""
        with self._filler.open("ab", buffering=0) as f:
            chunk = b"\0" * 4096
            while True:
                try:
                    f.write(chunk)
                except OSError as err:
                    if err.errno != errno.ENOSPC:
                        raise
                    if len(chunk) == 1:
                        return
                    chunk = chunk[: len(chunk) // 2]

    def free(self) -> None:
        """Give the space back."""
        self._filler.unlink(missing_ok=True)


def can_mount() -> str | None:
    """None when this process can mount a tmpfs, else why not (the skip reason)."""
    if os.geteuid() != 0:
        return "needs root to mount a small tmpfs standing in for a full disk (CI runs as root)"
    return None


@contextlib.contextmanager
def small_disk(path: Path, size_kib: int = 256) -> Iterator[SmallDisk]:
    """A ``size_kib`` tmpfs at ``path`` (created 0700) for the duration."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0700", "tmpfs", str(path)],
        check=True,
    )
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
