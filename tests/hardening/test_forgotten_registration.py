"""A client registration IAM Identity Center forgot (issue 19, point 4): the application
deleted, the instance re-created, or a cache from another instance. The emulator forgets its
clients; the very next ``ssod login``, device code or browser, registers again and succeeds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_support import NO_BROWSER, OVER_SSH, fake_browser
from harness import DaemonHarness
from ssod.daemon.store.tokencache import parse_token, token_cache_key

START_URL = "https://d-1234567890.awsapps.com/start"
SUCCESS = f"Successfully logged into Start URL: {START_URL}\n"


def client_id(harness: DaemonHarness) -> str:
    path = harness.cache_dir / f"{token_cache_key('corp')}.json"
    token = parse_token(path.read_bytes(), path=str(path))
    assert token.client_id is not None
    return token.client_id


@pytest.mark.parametrize("flow", ["device", "browser"])
def test_the_first_login_after_the_service_forgot_the_client_succeeds(
    ssod_daemon: DaemonHarness, tmp_path: Path, flow: str
) -> None:
    ssod_daemon.start()
    args: tuple[str, ...] = ()
    if flow == "device":
        env, args = OVER_SSH, ("--use-device-code",)
    else:
        browser, _ = fake_browser(tmp_path, fetch=True)
        env = {**NO_BROWSER, "BROWSER": browser}
    first = ssod_daemon.ssod("login", "--profile", "dev", *args, env=env)
    assert first.returncode == 0, first.stderr
    forgotten = client_id(ssod_daemon)
    assert ssod_daemon.emulator.forget_clients() >= 1
    again = ssod_daemon.ssod("login", "--profile", "dev", *args, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout == SUCCESS
    assert client_id(ssod_daemon) != forgotten
    assert "event=registration_forgotten session=corp" in ssod_daemon.log()
    # The new registration is cached: the next login uses it without registering again.
    registered = ssod_daemon.emulator.calls()["RegisterClient"]
    third = ssod_daemon.ssod("login", "--profile", "dev", *args, env=env)
    assert third.returncode == 0, third.stderr
    assert ssod_daemon.emulator.calls()["RegisterClient"] == registered
    assert client_id(ssod_daemon) not in (forgotten, "")
