"""The daemon's runtime directory and its single-instance guard.

This module owns making the runtime directory safe (ours, 0700, not a symlink, short enough for
a Unix socket path) and the ``lock`` file that keeps a second daemon from serving the same
socket. It refuses unsafe directories rather than repairing them: a directory someone else
made could be a trap. It does not bind the socket (``ipc.py`` does) and never deletes anything
but a stale socket, and only while holding the lock.
"""

from __future__ import annotations

import fcntl
import os
import signal
import stat
import time
from pathlib import Path
from types import TracebackType

from ssod import fastwire
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
    """An exclusive ``flock`` on ``<runtime>/lock``, held while the daemon runs."""

    def __init__(self, path: Path, fd: int, took_over: int | None = None) -> None:
        self.path = path
        self._fd: int | None = fd
        #: The pid of the autostarted daemon this one took over from, if any.
        self.took_over = took_over

    def release(self) -> None:
        """Unlock and close (the file stays: unlinking a lock file races with the next daemon)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def acquire_instance_lock(runtime: Path, started_by: str = "foreground") -> InstanceLock:
    """Take the instance lock in ``runtime``, record our pid, and remove a stale socket.

    The lock file holds the holder's pid and how it was started. A running service always
    wins: a daemon started as a service that finds an autostarted one holding the lock asks
    it to stop (SIGTERM) and takes the lock once it is free.
    """
    lock_path = runtime / LOCK_NAME
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise RuntimeDirError(f"cannot open lock file {lock_path}: {exc.strerror}") from None
    took_over = None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder, how = _read_holder(fd)
        took_over = holder
        if not (
            started_by == "service" and how == "autostart" and holder and _take_over(fd, holder)
        ):
            os.close(fd)
            raise DaemonAlreadyRunning(
                f"another ssod daemon is already running (pid {holder or 'unknown'}, "
                f"started by {how or 'unknown'}), holding {lock_path}"
            ) from None
    lock = InstanceLock(lock_path, fd, took_over)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{started_by}\n".encode(), 0)
        _remove_stale_socket(socket_path(runtime))
        _remove_stale_socket(fast_socket_path(runtime))
    except BaseException:
        lock.release()
        raise
    return lock


def _read_holder(fd: int) -> tuple[int | None, str | None]:
    """The pid and start mode the lock's holder wrote (``None`` for what is unreadable)."""
    try:
        words = os.pread(fd, 64, 0).decode("ascii").split()
    except (OSError, UnicodeDecodeError):
        return None, None
    pid = int(words[0]) if words and words[0].isdigit() else None
    return pid, words[1] if len(words) > 1 else None


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
