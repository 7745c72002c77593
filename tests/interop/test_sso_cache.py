"""The SSO cache path: ssod and each real client that reads ``~/.aws/sso/cache`` share one token.

After ``ssod login``, boto3, the AWS CLI v1 and the JS SDK (``fromSSO``) use the profile with no
login of their own, reaching the emulator's portal and sso-oidc through ``AWS_ENDPOINT_URL_*``.
Short token lifetimes make the client refresh the token itself; ssod must adopt the file it wrote
and refresh with its refresh token. Then the client must use ssod's token: once every other
token has expired, its GetRoleCredentials can only succeed with the one ssod wrote. Debian's AWS
CLI v2 2.9.19 is left out: it predates ``AWS_ENDPOINT_URL_*``, and ``--endpoint-url`` reaches
only the service a command calls, never the SSO portal or sso-oidc behind its credentials.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from harness import DaemonHarness
from interop.clients import CLIENTS, JS_SDK, AwsClient, client_env, require, run
from interop.workload import expected_identity, ssod_login
from ssod.daemon.store.tokencache import SsoToken, format_timestamp, parse_token, token_cache_key
from ssod.wire import Op

pytestmark = pytest.mark.interop

CACHE_CLIENTS = [c for c in CLIENTS if c.knows_endpoint_env]
#: Seconds. Every client refreshes a token this short itself: botocore with under 15 minutes
#: left, the JS SDK under 5 (docs/protocols.md 4.1). With --token-margin 1, ssod refreshes it one
#: second before it expires, so the client gets there first.
SHORT_LIFETIME = 6
#: The client's refreshed token lives longer, so its expiry (whole seconds in the file) can
#: never equal the login token's and ssod's status tells the two apart.
CLIENT_LIFETIME = 8
LONG_LIFETIME = 3600
T = TypeVar("T")


def token_path(harness: DaemonHarness) -> Path:
    """The sso-session ``corp``'s token file."""
    return harness.cache_dir / f"{token_cache_key('corp')}.json"


def cached_token(harness: DaemonHarness) -> SsoToken:
    """The token file as it is on disk now."""
    path = token_path(harness)
    return parse_token(path.read_bytes(), path=str(path))


def ssod_refreshes(harness: DaemonHarness) -> int:
    """How many token refreshes the daemon has logged."""
    return harness.log().count("event=token_refreshed")


def wait_for(
    probe: Callable[[], T | None], what: str, harness: DaemonHarness, timeout: float = 15.0
) -> T:
    """Poll ``probe`` until it returns something; after ``timeout``, fail with the daemon log."""
    deadline = time.monotonic() + timeout
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; the daemon said:\n{harness.log()[-8000:]}")
        time.sleep(0.05)
    return found


@pytest.mark.parametrize("client", CACHE_CLIENTS, ids=str)
def test_client_and_ssod_share_the_token_cache(
    client: AwsClient, ssod_daemon: DaemonHarness
) -> None:
    """The client refreshes, ssod adopts its file and refreshes, the client uses ssod's token."""
    require(client)
    emulator = ssod_daemon.emulator
    user = emulator.state.config.directory.default_user
    emulator.settings(token_lifetime=SHORT_LIFETIME)
    ssod_daemon.start("--token-margin", "1")
    ssod_login(ssod_daemon)
    login_token = cached_token(ssod_daemon)

    def sts(profile: str) -> None:
        argv = client.sts_argv(sts_url=emulator.url, profile=profile, js_provider="sso")
        outcome = run(argv, client_env(ssod_daemon.env, AWS_PROFILE=profile))
        assert outcome.ok, outcome.stderr[-3000:]
        assert outcome.identities == (expected_identity(profile, user),)

    # 1. The client finds the token nearly expired, refreshes it itself and writes the file.
    emulator.settings(token_lifetime=CLIENT_LIFETIME)
    emulator.reset_calls()
    before = ssod_refreshes(ssod_daemon)
    sts("dev")
    theirs = cached_token(ssod_daemon)
    assert theirs.access_token != login_token.access_token
    assert theirs.expires_at > login_token.expires_at
    if client is JS_SDK:  # the JS SDK writes the file its own way: indented, milliseconds
        assert token_path(ssod_daemon).read_text().startswith("{\n  ")
    assert theirs.refresh_token != login_token.refresh_token  # the emulator rotates them
    client_refreshes = emulator.calls().get("CreateToken:refresh_token", 0)
    assert client_refreshes > ssod_refreshes(ssod_daemon) - before, "the client did not refresh"
    emulator.settings(token_lifetime=LONG_LIFETIME)

    # 2. ssod adopts the client's file (its status shows that expiry), then refreshes it with
    # the client's refresh token: the login's was revoked when the client used it.
    def status_shows(token: SsoToken) -> Callable[[], dict[str, Any] | None]:
        def probe() -> dict[str, Any] | None:
            session: dict[str, Any] = ssod_daemon.request(Op.STATUS)["sessions"][0]
            expected = format_timestamp(token.expires_at)
            return session if session["token_expires_at"] == expected else None

        return probe

    wait_for(status_shows(theirs), "ssod to adopt the token the client wrote", ssod_daemon)
    seen = {login_token.access_token, theirs.access_token}

    def ssod_token() -> SsoToken | None:
        token = cached_token(ssod_daemon)
        return token if token.access_token not in seen else None

    ours = wait_for(ssod_token, "ssod to refresh the client's token", ssod_daemon)
    assert ours.expires_at - datetime.now(UTC) > timedelta(minutes=30)
    session = wait_for(status_shows(ours), "ssod to serve its refreshed token", ssod_daemon)
    assert session["state"] == "ready", session

    # 3. Once the login's and the client's tokens have expired, a fresh client process works
    # with no CreateToken of its own: it presented the token ssod wrote.
    time.sleep(max(0.0, (theirs.expires_at - datetime.now(UTC)).total_seconds() + 0.3))
    emulator.reset_calls()
    sts("prod")
    assert emulator.calls() == {"GetRoleCredentials": 1, "GetCallerIdentity": 1}
    assert cached_token(ssod_daemon).access_token == ours.access_token
    # ssod serves credentials with the same token (the profile was not fetched before).
    assert ssod_daemon.request(Op.CREDENTIALS, profile="prod")["AccountId"] == "222222222222"
