"""The daemon's lock files: what their holder writes in them, and whether one is held.

A running daemon holds an exclusive ``flock`` on ``lock`` in its runtime directory (one daemon
per socket) and on ``daemon.lock`` in the state directory (one daemon per HOME: two daemons
refreshing one token cache is the race ssod exists to prevent). In each it writes its pid, how
it was started (``service``, ``autostart``, ``foreground``) and its runtime directory, one per
line. This module owns that format and the question "who holds it?", for the daemon and for
``ssod stop``; taking the locks (and a service taking over from an autostarted daemon) is
``ssod.daemon.host.runtime``'s. Standard library only.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import NamedTuple

#: The per-HOME lock, in the state directory.
HOME_LOCK_NAME = "daemon.lock"


class Holder(NamedTuple):
    """Who holds a lock file, as it wrote it (``None`` for what is missing or unreadable)."""

    pid: int | None
    started_by: str | None
    runtime_dir: str | None = None


def home_lock_path(state_dir: Path) -> Path:
    """The per-HOME lock file in ``state_dir``."""
    return state_dir / HOME_LOCK_NAME


def format_holder(pid: int, started_by: str, runtime_dir: Path | None = None) -> bytes:
    """The lock file's content for a holder."""
    lines = [str(pid), started_by] + ([str(runtime_dir)] if runtime_dir is not None else [])
    return ("\n".join(lines) + "\n").encode()


def parse_holder(data: bytes) -> Holder:
    """A lock file's content as a ``Holder``; an older daemon writes no runtime directory."""
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return Holder(None, None)
    lines = text.split("\n")
    first = lines[0].strip()
    pid = int(first) if first.isascii() and first.isdigit() else None
    how = (lines[1].strip() or None) if len(lines) > 1 else None
    runtime = (lines[2] or None) if len(lines) > 2 else None
    return Holder(pid, how, runtime)


def read_holder(fd: int) -> Holder:
    """The holder written in the open lock file ``fd``."""
    try:
        return parse_holder(os.pread(fd, 4096, 0))
    except OSError:
        return Holder(None, None)


def held_by(path: Path) -> Holder | None:
    """Who holds the lock at ``path``, or ``None`` when no live daemon does.

    Probes with a shared lock taken and dropped at once; a daemon taking the lock at that very
    instant fails as it would against a running one, and its client says so.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return read_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
