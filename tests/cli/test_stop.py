"""``ssod stop``, ``service uninstall`` stopping an on-demand daemon, and one daemon per HOME.

Real daemons in a temporary HOME; the stopped one is watched through its own process (exit
status) and its sockets, never through a sleep.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness import DaemonHarness
from ssod import daemonlock
from ssod.errors import EXIT_ERROR, EXIT_NO_DAEMON


def _state_dir(harness: DaemonHarness) -> Path:
    return harness.home / ".local" / "state" / "ssod"


def test_stop_stops_a_daemon_started_by_hand(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    proc = ssod_daemon.proc
    assert proc is not None
    out = ssod_daemon.ssod("stop")
    assert out.returncode == 0, out.stderr
    assert f"Stopped the ssod daemon (pid {proc.pid}, started by hand)." in out.stderr
    assert not out.stderr.startswith("ssod:")  # an info line, not an error
    assert proc.wait(15) == 0  # a clean exit, as on Ctrl-C
    assert not (ssod_daemon.runtime / "ipc").exists()
    assert ssod_daemon.ssod("status", "--no-start").returncode == EXIT_NO_DAEMON
    again = ssod_daemon.ssod("stop")
    assert again.returncode == 0 and "No ssod daemon is running." in again.stderr


def test_stop_names_the_service_managers_command_for_a_service(
    ssod_daemon: DaemonHarness,
) -> None:
    ssod_daemon.start("--started-by", "service")
    out = ssod_daemon.ssod("stop")
    assert out.returncode == EXIT_ERROR, out.stderr
    assert "runs as a service" in out.stderr
    assert "`systemctl --user stop ssod.service`" in out.stderr
    assert ssod_daemon.proc is not None and ssod_daemon.proc.poll() is None
    assert ssod_daemon.ssod("status", "--no-start").returncode == 0


def test_a_second_daemon_for_the_same_home_is_refused(
    ssod_daemon: DaemonHarness, short_tmp: Path
) -> None:
    ssod_daemon.start()
    other = short_tmp / "other"
    out = ssod_daemon.ssod("daemon", env={"SSOD_RUNTIME_DIR": str(other)}, timeout=30)
    assert out.returncode == EXIT_ERROR, out.stderr
    assert "already running for this HOME" in out.stderr
    assert f"runtime directory {ssod_daemon.runtime}" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (other / "ipc").exists()
    # `ssod stop` finds it from a shell with another runtime directory: one daemon per HOME.
    stopped = ssod_daemon.ssod("stop", env={"SSOD_RUNTIME_DIR": str(other)})
    assert stopped.returncode == 0, stopped.stderr
    assert ssod_daemon.proc is not None and ssod_daemon.proc.wait(15) == 0
    lock = daemonlock.home_lock_path(_state_dir(ssod_daemon))
    assert daemonlock.held_by(lock) is None


def test_the_home_lock_names_its_holder(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    lock = daemonlock.home_lock_path(_state_dir(ssod_daemon))
    assert daemonlock.held_by(lock) == daemonlock.Holder(
        ssod_daemon.pid, "foreground", str(ssod_daemon.runtime)
    )
    assert oct(lock.stat().st_mode & 0o777) == "0o600"
    assert oct(lock.parent.stat().st_mode & 0o777) == "0o700"


def _autostarted_pid(harness: DaemonHarness) -> int | None:
    holder = daemonlock.held_by(daemonlock.home_lock_path(_state_dir(harness)))
    return holder.pid if holder is not None and holder.started_by == "autostart" else None


@pytest.mark.parametrize("command", [("stop",), ("service", "uninstall")])
def test_an_on_demand_daemon_is_stopped(
    ssod_daemon: DaemonHarness, command: tuple[str, ...]
) -> None:
    env = {"SSOD_NO_AUTOSTART": "0", "XDG_CONFIG_HOME": str(ssod_daemon.home / ".config")}
    try:
        assert ssod_daemon.ssod("status", env=env).returncode == 0
        pid = _autostarted_pid(ssod_daemon)
        assert pid is not None
        out = ssod_daemon.ssod(*command, env=env)
        assert out.returncode == 0, out.stderr
        assert f"pid {pid}" in out.stdout + out.stderr
        assert _autostarted_pid(ssod_daemon) is None
        assert ssod_daemon.ssod("status", "--no-start").returncode == EXIT_NO_DAEMON
    finally:
        if (pid := _autostarted_pid(ssod_daemon)) is not None:
            os.kill(pid, signal.SIGTERM)


def test_stop_is_in_the_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ssod.client.cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "stop the running daemon" in out.stdout


def test_a_state_directory_that_cannot_be_made_is_said(
    ssod_daemon: DaemonHarness, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = ssod_daemon.ssod("daemon", env={"SSOD_STATE_DIR": str(blocker / "state")}, timeout=30)
    assert out.returncode == EXIT_ERROR, out.stderr
    assert f"cannot create state directory {blocker / 'state'}" in out.stderr
    assert "Traceback" not in out.stderr
