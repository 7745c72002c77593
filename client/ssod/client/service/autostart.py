"""Starting a daemon on demand, and saying so when none answers.

When no service manager runs ssod (a container, a ``su`` shell, a fresh install before
``ssod service install``), ``ssod login``, ``env``, ``credentials`` and ``status`` start one:
``ssod daemon --started-by autostart`` detached in a session of its own, with ``/`` as its
working directory, the client's environment (relative AWS and SSOD paths made absolute, the
service manager's variables dropped) and its log appended to ``daemon.log`` in the state
directory (0600). ``SSOD_NO_AUTOSTART=1`` or ``--no-start`` turn it off; then, or when the
daemon cannot start, the command exits 3 as before. A client holds ``autostart.lock`` in the
state directory while it starts one and looks again once it has the lock, so clients racing
each other start one daemon; a daemon that a service starts later takes over from an
autostarted one (``ssod.daemon.host.runtime``). Zmq-free: the fast path imports the message
from here.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping

from ssod.errors import DaemonUnavailable
from ssod.privatedir import make_private_dirs

START_HINT = "start it with `ssod service install` (a user service) or `ssod daemon` (foreground)"
NO_AUTOSTART = "SSOD_NO_AUTOSTART"
LOG_NAME = "daemon.log"
LOCK_NAME = "autostart.lock"
#: How long a client waits for the daemon it started to answer (it takes about 0.3 s).
START_TIMEOUT = 20.0
LOCK_TIMEOUT = START_TIMEOUT + 5.0
#: How long a client still waits for the socket after the daemon it started has exited.
GRACE = 1.5
#: Variables that belong to the caller's service manager, never to a daemon we start.
_MANAGER_VARIABLES = (
    "NOTIFY_SOCKET",
    "INVOCATION_ID",
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
    "WATCHDOG_USEC",
)
#: Paths the daemon reads from its environment; relative ones meant the client's directory.
_PATH_VARIABLES = ("AWS_CONFIG_FILE", "SSOD_RUNTIME_DIR", "SSOD_STATE_DIR", "XDG_STATE_HOME")


def unavailable_message(where: str, why: str) -> str:
    """The one-line diagnosis when no daemon answers on the socket ``where``."""
    return f"no ssod daemon answers on {where}: {why}; {START_HINT}"


def enabled(no_start: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    """Autostart is on unless ``--no-start`` or ``SSOD_NO_AUTOSTART`` (any value but 0)."""
    env = os.environ if environ is None else environ
    return not no_start and env.get(NO_AUTOSTART, "0") in ("", "0")


def daemon_environment(environ: Mapping[str, str], cwd: str) -> dict[str, str]:
    """The started daemon's environment: the client's, minus service-manager variables."""
    env = {k: v for k, v in environ.items() if k not in _MANAGER_VARIABLES}
    for name in _PATH_VARIABLES:
        value = env.get(name)
        if value:
            expanded = os.path.expanduser(os.path.expandvars(value))
            env[name] = os.path.join(cwd, expanded)  # join keeps an absolute path as it is
    return env


def _socket_state(path: str) -> str:
    """``up``, ``absent`` (no socket or a stale one: start a daemon) or ``other`` (leave it)."""
    import socket

    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except (FileNotFoundError, NotADirectoryError, ConnectionRefusedError):
        return "absent"
    except OSError:
        return "other"
    finally:
        probe.close()
    return "up"


def ensure_daemon(socket_path: str) -> None:
    """Start a daemon unless one answers on ``socket_path``; raise DaemonUnavailable if it fails."""
    if _socket_state(socket_path) != "absent":
        return
    from ssod import paths

    state = paths.state_dir()
    try:
        make_private_dirs(state)
        lock_fd = os.open(state / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        why = f"could not start one: {state}: {exc.strerror}"
        raise DaemonUnavailable(unavailable_message(socket_path, why)) from None
    try:
        _lock(lock_fd, socket_path)
        # Whoever held the lock before us may just have started one.
        if _socket_state(socket_path) == "absent":
            _start(socket_path, str(state / LOG_NAME))
    finally:
        os.close(lock_fd)  # releases the lock


def _lock(fd: int, socket_path: str) -> None:
    import fcntl

    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                why = "another ssod client has been starting one for too long"
                raise DaemonUnavailable(unavailable_message(socket_path, why)) from None
            time.sleep(0.02)


def _start(socket_path: str, log_path: str) -> None:
    import subprocess

    argv = [sys.executable, "-m", "ssod.client.cli", "daemon", "--started-by", "autostart"]
    try:
        cwd = os.getcwd()
    except OSError:  # the client's directory was removed: nothing relative to resolve
        cwd = "/"
    env = daemon_environment(os.environ, cwd)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        offset = os.lseek(log_fd, 0, os.SEEK_END)
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            start_new_session=True,  # no terminal, no SIGHUP or Ctrl-C from the client's shell
        )
    except OSError as exc:
        why = f"could not start one: {exc.strerror}"
        raise DaemonUnavailable(unavailable_message(socket_path, why)) from None
    finally:
        os.close(log_fd)
    deadline = time.monotonic() + START_TIMEOUT
    exited_at = None
    while _socket_state(socket_path) != "up":
        code = proc.poll()
        if code is not None and exited_at is None:
            exited_at = time.monotonic()
        # A daemon started by someone else at the same moment (a service, `ssod daemon`) wins
        # the instance lock and ours exits: give that one a moment to answer.
        if code is not None and exited_at is not None and time.monotonic() > exited_at + GRACE:
            why = f"the daemon it started exited with {code}: {_last_line(log_path, offset)}"
            raise DaemonUnavailable(unavailable_message(socket_path, f"{why} (log: {log_path})"))
        if time.monotonic() > deadline:
            why = f"the daemon it started did not answer within {START_TIMEOUT:g}s"
            raise DaemonUnavailable(unavailable_message(socket_path, f"{why} (log: {log_path})"))
        time.sleep(0.02)
    proc.returncode = 0  # detached on purpose: it outlives this client, which never waits for it


def _last_line(log_path: str, offset: int) -> str:
    """The last line the daemon logged since ``offset`` (its error, when it could not start)."""
    try:
        with open(log_path, "rb") as log:
            log.seek(offset)
            lines = log.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "nothing logged"
