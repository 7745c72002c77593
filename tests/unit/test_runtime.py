"""The runtime directory guard and the single-instance lock."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ssod.daemon.host import runtime
from ssod.errors import DaemonAlreadyRunning, RuntimeDirError
from ssod.paths import MAX_SOCKET_PATH


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A temp dir short enough for Unix socket paths (pytest's tmp_path may not be)."""
    path = Path(tempfile.mkdtemp(prefix="ssod", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_creates_0700_with_parents(short_dir: Path) -> None:
    target = short_dir / "a" / "b" / "ssod"
    old = os.umask(0o022)
    try:
        runtime.prepare_runtime_dir(target)
    finally:
        os.umask(old)
    assert target.is_dir()
    assert _mode(target) == 0o700


def test_existing_private_dir_is_accepted(short_dir: Path) -> None:
    target = short_dir / "rt"
    target.mkdir(mode=0o700)
    runtime.prepare_runtime_dir(target)
    runtime.prepare_runtime_dir(target)  # idempotent


@pytest.mark.parametrize(("mode", "fragment"), [(0o755, "0755"), (0o770, "0770"), (0o701, "0701")])
def test_refuses_a_dir_open_to_others(short_dir: Path, mode: int, fragment: str) -> None:
    target = short_dir / "rt"
    target.mkdir()
    target.chmod(mode)
    with pytest.raises(RuntimeDirError, match=f"open to group or others \\(mode {fragment}\\)"):
        runtime.prepare_runtime_dir(target)
    assert _mode(target) == mode  # refused, not repaired


def test_refuses_a_symlink(short_dir: Path) -> None:
    real = short_dir / "real"
    real.mkdir(mode=0o700)
    link = short_dir / "rt"
    link.symlink_to(real)
    with pytest.raises(RuntimeDirError, match="is a symlink"):
        runtime.prepare_runtime_dir(link)


def test_refuses_a_file(short_dir: Path) -> None:
    target = short_dir / "rt"
    target.write_text("")
    with pytest.raises(RuntimeDirError, match="not a directory"):
        runtime.prepare_runtime_dir(target)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a directory away")
def test_refuses_a_dir_owned_by_someone_else(short_dir: Path) -> None:
    target = short_dir / "rt"
    target.mkdir(mode=0o700)
    os.chown(target, 65534, 65534)
    with pytest.raises(RuntimeDirError, match="belongs to uid 65534"):
        runtime.prepare_runtime_dir(target)


def test_refuses_a_path_too_long_for_a_socket(short_dir: Path) -> None:
    target = short_dir / ("d" * MAX_SOCKET_PATH)
    with pytest.raises(RuntimeDirError, match="too long for a Unix socket path"):
        runtime.prepare_runtime_dir(target)
    assert not target.exists()


def test_lock_records_the_pid_and_blocks_a_second_daemon(short_dir: Path) -> None:
    with runtime.acquire_instance_lock(short_dir) as lock:
        assert (short_dir / "lock").read_text() == f"{os.getpid()}\nforeground\n{short_dir}\n"
        assert _mode(lock.path) == 0o600
        with pytest.raises(
            DaemonAlreadyRunning,
            match=f"already running \\(pid {os.getpid()}, started by foreground",
        ):
            runtime.acquire_instance_lock(short_dir)
        # Only an autostarted daemon is pushed aside by a service.
        with pytest.raises(DaemonAlreadyRunning):
            runtime.acquire_instance_lock(short_dir, "service")
    # Released: the next daemon gets it.
    runtime.acquire_instance_lock(short_dir).release()


def test_lock_held_with_an_unreadable_pid(short_dir: Path) -> None:
    with runtime.acquire_instance_lock(short_dir):
        (short_dir / "lock").write_text("")
        with pytest.raises(DaemonAlreadyRunning, match="pid unknown"):
            runtime.acquire_instance_lock(short_dir)


def test_stale_socket_is_removed(short_dir: Path) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(runtime.socket_path(short_dir)))
    stale.close()  # a crashed daemon leaves the file behind
    assert runtime.socket_path(short_dir).exists()
    with runtime.acquire_instance_lock(short_dir):
        assert not runtime.socket_path(short_dir).exists()


def test_socket_is_kept_when_the_lock_is_held(short_dir: Path) -> None:
    with runtime.acquire_instance_lock(short_dir):
        live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            live.bind(str(runtime.socket_path(short_dir)))
            with pytest.raises(DaemonAlreadyRunning):
                runtime.acquire_instance_lock(short_dir)
            assert runtime.socket_path(short_dir).exists()
        finally:
            live.close()


def test_something_else_in_the_socket_place_is_refused(short_dir: Path) -> None:
    runtime.socket_path(short_dir).write_text("not a socket")
    with pytest.raises(RuntimeDirError, match="not a socket"):
        runtime.acquire_instance_lock(short_dir)
    # The failed attempt released the lock.
    runtime.socket_path(short_dir).unlink()
    runtime.acquire_instance_lock(short_dir).release()


def test_lock_file_symlink_is_refused(short_dir: Path) -> None:
    (short_dir / "lock").symlink_to(short_dir / "elsewhere")
    with pytest.raises(RuntimeDirError, match="cannot open lock file"):
        runtime.acquire_instance_lock(short_dir)


@pytest.mark.parametrize(
    ("flag", "environ", "expected"),
    [
        (None, {}, "foreground"),
        (None, {"INVOCATION_ID": "5f3c"}, "service"),  # systemd, a unit from an older install
        (None, {"XPC_SERVICE_NAME": "io.ssod.daemon"}, "service"),  # launchd
        (None, {"XPC_SERVICE_NAME": "com.apple.Terminal"}, "foreground"),
        ("autostart", {"INVOCATION_ID": "5f3c"}, "autostart"),  # the flag wins
        ("service", {}, "service"),
    ],
)
def test_how_the_daemon_was_started(
    flag: str | None, environ: dict[str, str], expected: str
) -> None:
    from ssod.daemon.settings import Settings

    assert Settings.from_environment(started_by=flag, environ=environ).started_by == expected
