"""AWS misbehaving under a real daemon: errors, resets, slowness, an outage, and revoked logins.

The emulator injects the faults (or an ``AwsSwitch`` proxy refuses connections, AWS down) while
an ``EcsWatch`` polls the ECS endpoint the whole time. The rules checked: what is still valid
keeps being served, nothing expired or under the margin is ever served, every other answer is a
clean 503, retries back off, and the daemon recovers by itself when AWS answers again. A login
that is really gone (refresh token revoked, registration expired, portal 401) becomes
login-required at once, is told to the desktop once, and ``ssod login`` recovers it in place.
"""

from __future__ import annotations

import time
from pathlib import Path

from hardening.support import (
    EcsWatch,
    aws_switch,
    ecs_get,
    events,
    fake_notify_send,
    notifications,
    session,
    token_path,
    wait_until,
)
from harness import DaemonHarness
from ssod.daemon.store.tokencache import parse_token
from ssod.wire import Op

#: Short lifetimes keep refreshes constant: the token is refreshed about every 2 s and role
#: credentials are fetched again every few seconds (the margin is 3 s of an 8 s lifetime).
SHORT = {"token_lifetime": 4, "credential_lifetime": 8, "approve_delay": 0.0}
MARGIN = 3.0


def start_short(harness: DaemonHarness) -> dict[str, object]:
    """Start with short lifetimes, log in, and return the ECS endpoint info."""
    harness.emulator.settings(**SHORT)
    harness.start("--credential-margin", str(MARGIN))
    harness.login(use_device_code=True)
    return harness.request(Op.ENDPOINT)


def retry_delays(harness: DaemonHarness) -> list[tuple[int, float]]:
    """(failures, retry_in seconds) of every refresh_failed event logged so far."""
    return [
        (int(e["failures"]), float(e["retry_in"].rstrip("s")))
        for e in events(harness.log(), "refresh_failed")
    ]


def assert_backoff(delays: list[tuple[int, float]]) -> None:
    """Each retry waits between half and all of 2 s doubled per failure, and never less."""
    for failures, delay in delays:
        ceiling = min(2.0 * 2 ** (failures - 1), 120.0)
        assert ceiling / 2 - 0.05 <= delay <= ceiling + 0.05, (failures, delay)
    runs = [d for _, d in delays]
    assert runs == sorted(runs), delays


def test_server_errors_resets_and_slowness_are_ridden_out(ssod_daemon: DaemonHarness) -> None:
    endpoint = start_short(ssod_daemon)
    emulator = ssod_daemon.emulator
    with EcsWatch(endpoint, margin=MARGIN) as watch:
        wait_until(lambda: watch.statuses["200"] >= 3, 5, "credentials before the faults")
        # botocore tries a call three times itself, so each three faults fail one refresh.
        emulator.set_faults(
            {"operation": "CreateToken", "kind": "status", "status": 500, "count": 3},
            {"operation": "CreateToken", "kind": "drop", "count": 3},
            {"operation": "GetRoleCredentials", "kind": "throttle", "count": 4},
            {"operation": "GetRoleCredentials", "kind": "latency", "seconds": 2.0, "count": 1},
        )
        refreshed = len(events(ssod_daemon.log(), "token_refreshed"))
        wait_until(lambda: len(retry_delays(ssod_daemon)) >= 2, 10, "two failed refreshes")
        wait_until(
            lambda: len(events(ssod_daemon.log(), "token_refreshed")) > refreshed,
            12,
            "a refresh once the faults are used up",
        )
        recovered = time.monotonic()
        wait_until(lambda: watch.between(recovered, time.monotonic())["200"] >= 3, 10, "200s")
    assert not watch.violations, watch.violations
    assert watch.statuses["503 login_required"] == 0, watch.statuses
    # Every request got a clean answer (EcsWatch records a violation otherwise). That the
    # endpoint answers within its wait limit, before an SDK gives up (2 s), is shown without a
    # clock in tests/integration/test_ecs.py; how fast it answers is measured by bench/.
    assert_backoff(retry_delays(ssod_daemon))
    assert session(ssod_daemon)["state"] == "ready"
    assert not events(ssod_daemon.log(), "login_required")


def test_aws_down_longer_than_the_token_lives(ssod_daemon: DaemonHarness) -> None:
    with aws_switch(ssod_daemon) as aws:
        endpoint = start_short(ssod_daemon)
        with EcsWatch(endpoint, margin=MARGIN) as watch:
            wait_until(lambda: watch.statuses["200"] >= 2, 5, "credentials before the outage")
            aws.down()
            down = time.monotonic()
            # The token (4 s) and the credentials' servable part (5 s) both run out meanwhile.
            time.sleep(6)
            aws.up()
            up = time.monotonic()
            wait_until(lambda: watch.between(up, time.monotonic())["200"] >= 3, 15, "recovery")
    assert not watch.violations, watch.violations
    assert watch.between(down, up)["200"] >= 1, "valid credentials stopped being served"
    outage = watch.between(down, up)
    assert outage["503 aws_unavailable"] >= 1, outage
    assert watch.statuses["503 login_required"] == 0, watch.statuses
    # botocore's own retries of a refused connection stretch each attempt to a few seconds.
    assert len(retry_delays(ssod_daemon)) >= 1
    assert_backoff(retry_delays(ssod_daemon))
    assert session(ssod_daemon)["state"] == "ready"
    assert not events(ssod_daemon.log(), "login_required")


def notifying(harness: DaemonHarness, tmp_path: Path) -> Path:
    """Put a recording notify-send on the daemon's PATH and switch notifications on."""
    bin_dir, record = fake_notify_send(tmp_path)
    harness.env["PATH"] = f"{bin_dir}:{harness.env.get('PATH', '')}"
    harness.env["SSOD_NOTIFY"] = "1"
    return record


def assert_fast_login_required(endpoint: dict[str, object]) -> None:
    """A profile with nothing cached answers 503 login_required, naming the fix, at once.

    At once: a request that waited the whole limit would get "still fetching" instead.
    """
    status, body = ecs_get(endpoint, "prod")
    assert (status, body["code"]) == (503, "login_required"), body
    assert "ssod login --sso-session corp" in body["message"]


def assert_login_recovers(harness: DaemonHarness, pid: int) -> None:
    """``ssod login`` over IPC brings the session back in the same daemon process."""
    harness.emulator.settings(token_lifetime=3600, registration_lifetime=90 * 86400)
    assert harness.login(use_device_code=True)[-1]["event"] == "done"
    assert session(harness)["state"] == "ready"
    assert harness.request(Op.CREDENTIALS, profile="prod")["AccountId"] == "222222222222"
    assert harness.request(Op.STATUS)["daemon"]["pid"] == pid


def test_revoked_refresh_token(ssod_daemon: DaemonHarness, tmp_path: Path) -> None:
    record = notifying(ssod_daemon, tmp_path)
    endpoint = start_short(ssod_daemon)
    pid = ssod_daemon.request(Op.STATUS)["daemon"]["pid"]
    assert ssod_daemon.emulator.revoke_refresh_tokens() >= 1
    wait_until(lambda: session(ssod_daemon)["state"] == "login_required", 6, "login_required")
    assert "invalid_grant" in session(ssod_daemon)["last_error"]
    # The access token it still holds serves until it expires; then clients are told at once.
    token = parse_token(token_path(ssod_daemon).read_bytes(), path="token")
    # The file's expiresAt is truncated to whole seconds; the daemon's own copy may last longer.
    wait_until(lambda: time.time() > token.expires_at.timestamp() + 1.1, 7, "the token to expire")
    assert_fast_login_required(endpoint)
    time.sleep(1.5)  # more refresh-loop turns: still one notification
    shown = notifications(record)
    assert len(shown) == 1, shown
    assert "corp" in shown[0][-2] and "ssod login --sso-session corp" in shown[0][-1]
    assert_login_recovers(ssod_daemon, pid)


def test_expired_registration(ssod_daemon: DaemonHarness, tmp_path: Path) -> None:
    record = notifying(ssod_daemon, tmp_path)
    ssod_daemon.emulator.settings(registration_lifetime=3)
    endpoint = start_short(ssod_daemon)
    pid = ssod_daemon.request(Op.STATUS)["daemon"]["pid"]
    # Refreshable for 3 s, then the token runs out and cannot be renewed.
    wait_until(lambda: session(ssod_daemon)["state"] == "login_required", 12, "login_required")
    assert_fast_login_required(endpoint)
    time.sleep(1.5)
    assert len(notifications(record)) == 1, notifications(record)
    assert_login_recovers(ssod_daemon, pid)


def test_portal_refuses_the_token_before_it_expires(
    ssod_daemon: DaemonHarness, tmp_path: Path
) -> None:
    record = notifying(ssod_daemon, tmp_path)
    ssod_daemon.emulator.settings(approve_delay=0.0)
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    endpoint = ssod_daemon.request(Op.ENDPOINT)
    pid = ssod_daemon.request(Op.STATUS)["daemon"]["pid"]
    token = parse_token(token_path(ssod_daemon).read_bytes(), path="token")
    # Signed out at the portal (an admin ended the session): the token has hours left on paper.
    ssod_daemon.emulator.revoke_refresh_tokens(access_token=token.access_token, end_session=True)
    assert_fast_login_required(endpoint)
    assert session(ssod_daemon)["state"] == "login_required"
    time.sleep(1.0)
    assert_fast_login_required(endpoint)
    assert len(notifications(record)) == 1, notifications(record)
    assert_login_recovers(ssod_daemon, pid)
