"""The daemon's runtime directory and its single-instance guards.

This module owns making the runtime directory safe (ours, 0700, not a symlink, short enough for
a Unix socket path) and taking the locks that keep a second daemon from serving the same socket
or the same HOME (their format is ``ssod.daemonlock``'s). It refuses unsafe directories rather
than repairing them: a directory someone else made could be a trap. It does not bind the
socket (``ipc.py`` does) and never deletes anything but a stale socket, and only while holding
the lock.
"""

from __future__ import annotations

import fcntl
import os
import signal
import stat
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from ssod import daemonlock, fastwire
from ssod.errors import DaemonAlreadyRunning, RuntimeDirError
from ssod.paths import MAX_SOCKET_PATH
from ssod.privatedir import make_private_dirs

SOCKET_NAME = "ipc"
FAST_SOCKET_NAME = fastwire.SOCKET_NAME
LOCK_NAME = "lock"
#: How long a service waits for an autostarted daemon it asked to stop (it stops in about 1 s).
TAKEOVER_TIMEOUT = 15.0


def socket_path(runtime: Path) -> Path:
    """The IPC socket inside ``runtime``."""
    return runtime / SOCKET_NAME


def fast_socket_path(runtime: Path) -> Path:
    """The fast socket (``ssod.fastwire``) inside ``runtime``."""
    return runtime / FAST_SOCKET_NAME


def prepare_runtime_dir(path: Path) -> None:
    """Create ``path`` 0700 (with parents), or check that the existing one is safe to use."""
    # The longer of the two socket names decides.
    sock = max(socket_path(path), fast_socket_path(path), key=lambda p: len(os.fsencode(p)))
    if len(os.fsencode(sock)) > MAX_SOCKET_PATH:
        raise RuntimeDirError(
            f"runtime directory {path} is too long for a Unix socket path "
            f"({len(os.fsencode(sock))} > {MAX_SOCKET_PATH} bytes); set SSOD_RUNTIME_DIR shorter"
        )
    try:
        make_private_dirs(path)  # an existing one is checked below
    except OSError as exc:
        raise RuntimeDirError(f"cannot create runtime directory {path}: {exc.strerror}") from None
    try:
        st = path.lstat()
    except OSError as exc:
        raise RuntimeDirError(f"runtime directory {path}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise RuntimeDirError(f"runtime directory {path} is a symlink; refusing to use it")
    if not stat.S_ISDIR(st.st_mode):
        raise RuntimeDirError(f"runtime directory {path} is not a directory")
    if st.st_uid != os.getuid():
        raise RuntimeDirError(
            f"runtime directory {path} belongs to uid {st.st_uid}, not to you (uid {os.getuid()})"
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise RuntimeDirError(
            f"runtime directory {path} is open to group or others (mode {mode:04o}); "
            f"run `chmod 700 {path}` or remove it"
        )
    if mode & 0o700 != 0o700:
        raise RuntimeDirError(f"runtime directory {path} has mode {mode:04o}; it needs 0700")


class InstanceLock:
    """Exclusive ``flock``s on ``<runtime>/lock`` and the per-HOME lock, held while running."""

    def __init__(self, path: Path, fds: list[int], took_over: int | None = None) -> None:
        self.path = path
        self._fds = fds
        #: The pid of the autostarted daemon this one took over from, if any.
        self.took_over = took_over

    def release(self) -> None:
        """Unlock and close (the files stay: unlinking a lock file races with the next daemon)."""
        while self._fds:
            fd = self._fds.pop()
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def acquire_instance_lock(
    runtime: Path, started_by: str = "foreground", home_lock: Path | None = None
) -> InstanceLock:
    """Take the instance locks, record our pid in them, and remove a stale socket.

    ``<runtime>/lock`` keeps a second daemon off the same socket; ``home_lock`` (in the state
    directory) keeps a second daemon off the same HOME, whatever its runtime directory. Each
    holds the holder's pid, how it was started and its runtime directory
    (``ssod.daemonlock``). A running service always wins: a daemon started as a service that
    finds an autostarted one holding a lock asks it to stop (SIGTERM) and takes the lock once
    it is free.
    """
    lock_path = runtime / LOCK_NAME
    content = daemonlock.format_holder(os.getpid(), started_by, runtime)
    fds: list[int] = []
    took_over = None
    try:
        fd, took_over = _take(lock_path, started_by, _same_runtime_refusal)
        fds.append(fd)
        if home_lock is not None:
            fd, took = _take(home_lock, started_by, _same_home_refusal)
            fds.append(fd)
            took_over = took_over or took
        for fd in fds:
            os.ftruncate(fd, 0)
            os.pwrite(fd, content, 0)
        _remove_stale_socket(socket_path(runtime))
        _remove_stale_socket(fast_socket_path(runtime))
    except BaseException:
        InstanceLock(lock_path, fds).release()
        raise
    return InstanceLock(lock_path, fds, took_over)


def _same_runtime_refusal(path: Path, holder: daemonlock.Holder) -> str:
    return (
        f"another ssod daemon is already running (pid {holder.pid or 'unknown'}, "
        f"started by {holder.started_by or 'unknown'}), holding {path}; `ssod stop` stops it"
    )


def _same_home_refusal(path: Path, holder: daemonlock.Holder) -> str:
    where = f" with runtime directory {holder.runtime_dir}" if holder.runtime_dir else ""
    return (
        f"another ssod daemon is already running for this HOME (pid {holder.pid or 'unknown'}, "
        f"started by {holder.started_by or 'unknown'}{where}), holding {path}: two daemons "
        "would refresh one token cache; use that one (the same SSOD_RUNTIME_DIR), or `ssod stop` "
        "it first"
    )


def _take(
    path: Path, started_by: str, refusal: Callable[[Path, daemonlock.Holder], str]
) -> tuple[int, int | None]:
    """An fd holding ``path`` locked, and the pid of the autostarted daemon taken over from."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise RuntimeDirError(f"cannot open lock file {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = daemonlock.read_holder(fd)
        if not (
            started_by == "service"
            and holder.started_by == "autostart"
            and holder.pid
            and _take_over(fd, holder.pid)
        ):
            os.close(fd)
            raise DaemonAlreadyRunning(refusal(path, holder)) from None
        return fd, holder.pid
    return fd, None


def _take_over(fd: int, holder: int) -> bool:
    """Stop the autostarted daemon ``holder`` and take the lock from it; False if it stays."""
    try:
        os.kill(holder, signal.SIGTERM)
    except OSError:
        return False  # not ours to stop (or gone: the lock tells below)
    deadline = time.monotonic() + TAKEOVER_TIMEOUT
    while time.monotonic() < deadline:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            time.sleep(0.05)
    return False


def _remove_stale_socket(sock: Path) -> None:
    # Holding the lock proves no live daemon owns the socket: a crashed one left it behind.
    try:
        st = sock.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise RuntimeDirError(f"{sock} exists and is not a socket; remove it by hand")
    sock.unlink()
