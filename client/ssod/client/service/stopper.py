"""Stopping the running daemon: ``ssod stop``, and ``ssod service uninstall`` after it.

Owns finding the daemon of this HOME (the per-HOME lock in the state directory, else, for a
daemon from before that lock, the lock in this shell's runtime directory), refusing to stop
one a service manager runs (it would only start it again: the manager's own command is named
instead), and stopping any other with SIGTERM, waiting until its lock is free. The daemon shuts
down as on Ctrl-C: in-flight refreshes finish and its sockets are removed.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable

from ssod import daemonlock, paths
from ssod.daemonlock import Holder
from ssod.errors import SsodError

#: How long to wait for the daemon to finish in-flight work and let go of its lock.
STOP_TIMEOUT = 30.0
_RUNTIME_LOCK_NAME = "lock"


def running() -> tuple[Holder, str] | None:
    """The holder of this HOME's daemon lock and the lock's path, or ``None`` when none runs."""
    for path in (
        daemonlock.home_lock_path(paths.state_dir()),
        paths.runtime_dir() / _RUNTIME_LOCK_NAME,
    ):
        holder = daemonlock.held_by(path)
        if holder is not None:
            return holder, str(path)
    return None


def service_stop_command(platform: str = sys.platform) -> str:
    """The service manager's command that stops the ssod service."""
    from ssod.client.service import units

    if platform == "darwin":
        return f"launchctl bootout gui/{os.getuid()}/{units.LAUNCHD_LABEL}"
    return f"systemctl --user stop {units.UNIT_NAME}"


def stop(holder: Holder, lock: str, *, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the daemon ``holder`` and wait until the lock at ``lock`` is free."""
    from pathlib import Path

    if holder.pid is None:
        raise SsodError(f"a daemon holds {lock}, but its pid cannot be read from it")
    try:
        os.kill(holder.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass  # it ended meanwhile: the lock says so below
    except PermissionError:
        raise SsodError(f"the daemon (pid {holder.pid}) is not yours to stop") from None
    _wait(lambda: daemonlock.held_by(Path(lock)) is None, timeout, holder.pid)


def _wait(done: Callable[[], bool], timeout: float, pid: int) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SsodError(f"the daemon (pid {pid}) did not stop within {timeout:g}s")
        time.sleep(0.02)
