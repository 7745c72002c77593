"""A full disk on a bad day (issue 19): the state directory on a real tmpfs filled to the last
byte, then emptied, beside a real daemon. A revocation is never lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fulldisk import SmallDisk, can_mount, small_disk
from hardening.support import ecs_get, session, token_path, wait_until
from harness import DaemonHarness
from ssod.wire import Op


@pytest.fixture
def full_state_dir(ssod_daemon: DaemonHarness, short_tmp: Path) -> Iterator[SmallDisk]:
    """The daemon's state directory (ECS token, scoped tokens) on a small tmpfs."""
    why = can_mount()
    if why is not None:
        pytest.skip(why)
    with small_disk(short_tmp / "state") as disk:
        ssod_daemon.env["SSOD_STATE_DIR"] = str(disk.path)
        try:
            yield disk
        finally:
            ssod_daemon.stop()


def issue(harness: DaemonHarness, name: str) -> str:
    out = harness.ssod("token", "issue", "--profile", "dev", "--name", name)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def unsaved(harness: DaemonHarness) -> str | None:
    status = json.loads(harness.ssod("status", "--json").stdout)
    value = status["daemon"]["tokens_unsaved"]
    return str(value) if value else None


def test_a_revocation_on_a_full_disk_is_saved_once_space_returns(
    ssod_daemon: DaemonHarness, full_state_dir: SmallDisk
) -> None:
    ssod_daemon.start()
    ssod_daemon.login(profile="dev", use_device_code=True)
    endpoint = ssod_daemon.request(Op.ENDPOINT)
    first, second = issue(ssod_daemon, "first"), issue(ssod_daemon, "second")
    assert ecs_get(endpoint, "dev", token=first)[0] == 200

    # Full: the revocation holds in memory, is logged, and status says it is not saved.
    full_state_dir.fill()
    out = ssod_daemon.ssod("token", "revoke", "first")
    assert out.returncode != 0 and "not saved yet" in out.stderr
    assert ecs_get(endpoint, "dev", token=first)[0] == 403
    first_id = first.split(".")[1]
    assert f"event=scoped_token_revoked id={first_id}" in ssod_daemon.log()
    assert unsaved(ssod_daemon)
    assert "revocation not saved yet" in ssod_daemon.ssod("status").stdout
    # Space returns: the next sweep (a listing runs one) saves it.
    full_state_dir.free()
    assert ssod_daemon.ssod("token", "list").returncode == 0
    assert unsaved(ssod_daemon) is None
    assert first_id not in (full_state_dir.path / "scoped-tokens.json").read_text()

    # Full again: revoke, space returns, and the daemon stops before any sweep: the shutdown
    # saves it, so the restarted daemon refuses the token.
    full_state_dir.fill()
    assert ssod_daemon.ssod("token", "revoke", "second").returncode != 0
    assert unsaved(ssod_daemon)
    full_state_dir.free()
    ssod_daemon.stop()
    ssod_daemon.start()
    endpoint = ssod_daemon.request(Op.ENDPOINT)
    for token in (first, second):
        assert ecs_get(endpoint, "dev", token=token)[0] == 403
    assert "event=revocation_saved" in ssod_daemon.log()
    wait_until(lambda: unsaved(ssod_daemon) is None, 5, "a clean status")


@pytest.fixture
def full_cache_dir(ssod_daemon: DaemonHarness) -> Iterator[SmallDisk]:
    """The AWS CLI's token cache (``~/.aws/sso/cache``) on a small tmpfs."""
    why = can_mount()
    if why is not None:
        pytest.skip(why)
    with small_disk(ssod_daemon.cache_dir) as disk:
        try:
            yield disk
        finally:
            ssod_daemon.stop()


def test_a_token_cache_write_that_fails_shows_on_the_session_until_one_lands(
    ssod_daemon: DaemonHarness, full_cache_dir: SmallDisk
) -> None:
    ssod_daemon.emulator.settings(token_lifetime=3)  # refreshed about every second
    ssod_daemon.start()
    ssod_daemon.login(profile="dev", use_device_code=True)
    path = token_path(ssod_daemon)
    full_cache_dir.fill()
    # A refresh cannot write the file: the session says so, though it still serves.
    error = wait_until(lambda: session(ssod_daemon)["last_error"], 15, "the write error")
    assert "token cache could not be written" in error
    assert session(ssod_daemon)["state"] == "ready"
    assert "token cache could not be written" in ssod_daemon.ssod("status").stdout
    stale = path.read_bytes()
    # Space returns: the next write lands and the error is gone.
    full_cache_dir.free()
    wait_until(lambda: session(ssod_daemon)["last_error"] is None, 15, "the error to clear")
    assert path.read_bytes() != stale
    assert "event=cache_written session=corp" in ssod_daemon.log()
