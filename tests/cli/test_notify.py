"""Desktop notifications from a real daemon, through a fake ``notify-send`` first on PATH.

When the refresh token is revoked, the session becomes login-required and the desktop hears
about it exactly once, naming the session and the command to run; ``--no-notify`` silences it.
"""

from __future__ import annotations

import time
from pathlib import Path

from cli_support import path_with, wait_until
from harness import DaemonHarness
from ssod.wire import Op

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
    log = fake_notify_send(tmp_path)
    ssod_daemon.env.update({"SSOD_NOTIFY": "1", "PATH": path_with(log.parent / "bin")})
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


def test_no_notify_flag_silences_the_desktop(ssod_daemon: DaemonHarness, tmp_path: Path) -> None:
    log = fake_notify_send(tmp_path)
    ssod_daemon.env.update({"SSOD_NOTIFY": "1", "PATH": path_with(log.parent / "bin")})
    ssod_daemon.emulator.settings(token_lifetime=TOKEN_LIFETIME)
    ssod_daemon.start("--no-notify")
    revoke_and_wait_for_login_required(ssod_daemon)
    time.sleep(1)
    assert calls(log) == []
    assert "event=notification" in ssod_daemon.log()  # decided, logged, not shown
