"""Desktop notifications from a real daemon: through a real D-Bus notification server, and
through a fake ``notify-send`` first on PATH.

When the refresh token is revoked, the session becomes login-required and the desktop hears
about it exactly once, naming the session and the command to run; ``--no-notify`` silences it.
The D-Bus test runs its own ``dbus-daemon --session`` and Debian's ``dunst`` (under Xvfb) as the
notification server, and reads what arrived from dunst's own log (``dunst -print``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli_support import path_with, wait_until
from harness import DaemonHarness
from ssod.daemon.host.notify import BUS_NAME
from ssod.wire import Op

#: The programs the D-Bus test runs, and the Debian package of each (.ci/run installs them).
DESKTOP_PROGRAMS = {
    "dbus-daemon": "dbus-daemon",
    "gdbus": "libglib2.0-bin",
    "Xvfb": "xvfb",
    "dunst": "dunst",
}
TOKEN_LIFETIME = 6  # seconds: ssod refreshes at about half of it


def fake_notify_send(directory: Path) -> Path:
    """A ``notify-send`` that appends its arguments (one per line, then ``--``) to a log."""
    bindir = directory / "bin"
    bindir.mkdir()
    log = directory / "notify.log"
    program = bindir / "notify-send"
    program.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" -- >> '{log}'\n")
    program.chmod(0o755)
    return log


def calls(log: Path) -> list[list[str]]:
    text = log.read_text() if log.exists() else ""
    return [c.strip("\n").splitlines() for c in text.split("--\n") if c.strip()]


def revoke_and_wait_for_login_required(harness: DaemonHarness) -> None:
    harness.login(profile="dev", use_device_code=True)
    harness.emulator.revoke_refresh_tokens()

    def required() -> bool:
        return bool(harness.request(Op.STATUS)["sessions"][0]["state"] == "login_required")

    wait_until(required, timeout=TOKEN_LIFETIME * 3, what="the session to need a login")


def test_revoked_refresh_token_notifies_once(ssod_daemon: DaemonHarness, tmp_path: Path) -> None:
    """Through notify-send, after the D-Bus call failed (a bus address where none listens)."""
    log = fake_notify_send(tmp_path)
    ssod_daemon.env.update(
        {
            "SSOD_NOTIFY": "1",
            "PATH": path_with(log.parent / "bin"),
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path / 'no-bus'}",
        }
    )
    ssod_daemon.emulator.settings(token_lifetime=TOKEN_LIFETIME)
    ssod_daemon.start()
    revoke_and_wait_for_login_required(ssod_daemon)
    wait_until(lambda: calls(log), what="a notification")
    # Past the token's expiry the session is still login-required: no second notification.
    time.sleep(TOKEN_LIFETIME / 2 + 1)
    [call] = calls(log)
    text = " ".join(call)
    assert "corp" in text
    assert "ssod login --sso-session corp" in text
    assert "--app-name=ssod" in call
    if shutil.which("gdbus"):
        assert "event=notification_failed via=gdbus status=1" in ssod_daemon.log()


def test_no_notify_flag_silences_the_desktop(ssod_daemon: DaemonHarness, tmp_path: Path) -> None:
    log = fake_notify_send(tmp_path)
    ssod_daemon.env.update({"SSOD_NOTIFY": "1", "PATH": path_with(log.parent / "bin")})
    ssod_daemon.emulator.settings(token_lifetime=TOKEN_LIFETIME)
    ssod_daemon.start("--no-notify")
    revoke_and_wait_for_login_required(ssod_daemon)
    time.sleep(1)
    assert calls(log) == []
    assert "event=notification" in ssod_daemon.log()  # decided, logged, not shown


@dataclass
class Desktop:
    """A private session bus with a notification server on it."""

    bus: str  # DBUS_SESSION_BUS_ADDRESS
    log: Path  # what the server printed of each notification


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture
def desktop(short_tmp: Path, tmp_path: Path) -> Iterator[Desktop]:
    """dbus-daemon, Xvfb and dunst of our own, stopped at teardown."""
    missing = sorted({pkg for prog, pkg in DESKTOP_PROGRAMS.items() if not shutil.which(prog)})
    if missing:
        pytest.skip(f"needs the Debian packages {', '.join(missing)} (.ci/run installs them)")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        bus = subprocess.Popen(
            [
                "dbus-daemon",
                "--session",
                "--nofork",
                "--nopidfile",
                "--print-address=1",
                f"--address=unix:path={short_tmp}/bus",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        procs.append(bus)
        assert bus.stdout is not None
        address = bus.stdout.readline().decode().strip()
        assert address.startswith("unix:"), "dbus-daemon printed no address"
        read, write = os.pipe()
        procs.append(
            subprocess.Popen(
                ["Xvfb", "-displayfd", str(write), "-nolisten", "tcp"],
                pass_fds=(write,),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        os.close(write)
        with os.fdopen(read) as display_pipe:
            display = display_pipe.readline().strip()
        assert display, "Xvfb picked no display"
        env = {
            **os.environ,
            "DISPLAY": f":{display}",
            "DBUS_SESSION_BUS_ADDRESS": address,
        }
        log = tmp_path / "dunst.log"
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(["dunst", "-print"], env=env, stdout=out, stderr=subprocess.STDOUT)
            )
        waited = subprocess.run(
            ["gdbus", "wait", "--session", "--timeout", "10", BUS_NAME],
            env=env,
            capture_output=True,
            check=False,
        )
        assert waited.returncode == 0, f"dunst did not take {BUS_NAME}: {log.read_text()}"
        yield Desktop(address, log)
    finally:
        for proc in reversed(procs):
            _stop(proc)


def test_a_real_notification_over_dbus(ssod_daemon: DaemonHarness, desktop: Desktop) -> None:
    ssod_daemon.env.update({"SSOD_NOTIFY": "1", "DBUS_SESSION_BUS_ADDRESS": desktop.bus})
    ssod_daemon.emulator.settings(token_lifetime=TOKEN_LIFETIME)
    ssod_daemon.start()
    revoke_and_wait_for_login_required(ssod_daemon)
    wait_until(lambda: "summary:" in desktop.log.read_text(), what="the notification")
    shown = desktop.log.read_text()
    assert "appname: 'ssod'" in shown
    assert "summary: 'ssod: corp needs a login'" in shown
    assert "Run: ssod login --sso-session corp" in shown
    assert "urgency: NORMAL" in shown
    assert "event=notification_shown via=gdbus" in ssod_daemon.log()
