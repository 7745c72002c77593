"""Tokens ssod did not obtain get the full refresh margin (issue 11).

The token cache has no issue time, so the lifetime of a token another writer put there (the
AWS CLI, an SDK, an earlier ssod run) is unknown. Only a lifetime ssod saw in its own
CreateToken answer may shrink the 20-minute margin (schedule.token_refresh_plan). Here a real
client, botocore or the AWS CLI v1, refreshes a 12-minute token itself (it is inside botocore's
15-minute window, docs/protocols.md 4.1) and writes it; ssod must replace it within seconds, or
every botocore process on the machine keeps refreshing it too. A daemon restart with a token under
the margin refreshes it at once; one over the margin is left alone.
"""

from __future__ import annotations

import itertools
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest

from harness import DaemonHarness
from interop.clients import AWSCLI_V1_CLIENT, BOTO3, AwsClient, client_env, require, run
from interop.workload import ssod_login
from ssod.daemon.store.tokencache import SsoToken, parse_token, serialize_token, token_cache_key
from ssod.wire import Op

T = TypeVar("T")
#: The token the clients write: inside botocore's window, but well over half ssod's margin.
CLIENT_LIFETIME = 12 * 60
#: ssod's own tokens afterwards: short, so a few lifetimes pass in seconds.
SHORT_LIFETIME = 8
#: How long to wait for ssod to replace a token it must refresh at once: a generous deadline,
#: not a measurement (the refresh it must not do instead falls due minutes later).
PROMPT = 30.0
#: How long to watch for a refresh that must not happen.
QUIET = 5.0


def cached(harness: DaemonHarness) -> SsoToken:
    """The sso-session ``corp``'s token file as it is now."""
    path = harness.cache_dir / f"{token_cache_key('corp')}.json"
    return parse_token(path.read_bytes(), path=str(path))


def corp(harness: DaemonHarness) -> dict[str, object]:
    """The ``corp`` session in ``ssod status --json``."""
    session: dict[str, object] = harness.request(Op.STATUS)["sessions"][0]
    assert session["name"] == "corp"
    return session


def wait_for(probe: Callable[[], T | None], what: str, harness: DaemonHarness, timeout: float) -> T:
    """Poll ``probe`` until it returns something; after ``timeout``, fail with the daemon log."""
    deadline = time.monotonic() + timeout
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; the daemon said:\n{harness.log()[-6000:]}")
        time.sleep(0.05)
    return found


def replaced(harness: DaemonHarness, old: SsoToken) -> Callable[[], SsoToken | None]:
    """A probe: the token file once it holds another token than ``old``."""

    def probe() -> SsoToken | None:
        token = cached(harness)
        return token if token.access_token != old.access_token else None

    return probe


def client_refreshes(client: AwsClient, harness: DaemonHarness) -> None:
    """One client process through the SSO profile; it must refresh the token itself."""
    emulator = harness.emulator
    before = emulator.calls().get("CreateToken:refresh_token", 0)
    argv = client.sts_argv(sts_url=emulator.url, profile="dev")
    outcome = run(argv, client_env(harness.env, AWS_PROFILE="dev"))
    assert outcome.ok, outcome.stderr[-3000:]
    assert emulator.calls().get("CreateToken:refresh_token", 0) > before, "no client refresh"


@pytest.mark.interop
@pytest.mark.parametrize("client", [BOTO3, AWSCLI_V1_CLIENT], ids=str)
def test_token_a_client_wrote_inside_its_window_is_replaced_at_once(
    client: AwsClient, ssod_daemon: DaemonHarness
) -> None:
    require(client)
    emulator = ssod_daemon.emulator
    emulator.settings(token_lifetime=CLIENT_LIFETIME, approve_delay=0)
    ssod_daemon.start()
    ssod_login(ssod_daemon)
    # ssod's own 12-minute token: the lifetime is observed, so the margin halves to 6 minutes.
    assert corp(ssod_daemon)["next_refresh_reason"] == (
        "observed lifetime 12m: margin halved to 6m"
    )
    login_token = cached(ssod_daemon)

    # 1. The client finds 12 minutes left, under its 15-minute window: it refreshes and writes.
    # The daemon is stopped meanwhile, so that the emulator's lifetime can be made short for
    # what comes after, before ssod sees the client's token.
    assert ssod_daemon.proc is not None
    ssod_daemon.proc.send_signal(signal.SIGSTOP)
    try:
        client_refreshes(client, ssod_daemon)
        theirs = cached(ssod_daemon)
        assert theirs.access_token != login_token.access_token
        assert theirs.expires_at - datetime.now(UTC) > timedelta(minutes=11)
        emulator.settings(token_lifetime=SHORT_LIFETIME)
    finally:
        ssod_daemon.proc.send_signal(signal.SIGCONT)

    # 2. ssod adopts it with an unknown lifetime: 12 minutes left is under the full 20-minute
    # margin, so it refreshes at once (version 1 waited until 6 minutes were left).
    current = wait_for(replaced(ssod_daemon, theirs), "ssod's refresh", ssod_daemon, PROMPT)
    stamps = [time.monotonic()]

    # 3. From then on the lifetime is ssod's own observation (8 s): half of it as margin, so
    # exactly one refresh per token, never one refresh chasing another. Each change of the
    # file is one of ssod's refreshes; the time between two is how long a token served.
    deadline = stamps[0] + 2 * SHORT_LIFETIME
    while time.monotonic() < deadline:
        token = cached(ssod_daemon)
        assert token.expires_at > datetime.now(UTC), ssod_daemon.log()[-5000:]
        if token.access_token != current.access_token:
            stamps.append(time.monotonic())
            current = token
        time.sleep(0.05)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    # One per half-lifetime less the jitter (a tenth of the margin at most), with some slack.
    assert 3 <= len(gaps) <= 5, gaps
    assert all(gap >= SHORT_LIFETIME / 2 * 0.9 - 0.3 for gap in gaps), gaps
    session = corp(ssod_daemon)
    assert session["state"] == "ready"
    assert session["next_refresh_reason"] == "observed lifetime 8s: margin halved to 4s"


@pytest.mark.parametrize(
    ("left", "refreshed"),
    [(timedelta(minutes=12), True), (timedelta(minutes=40), False)],
    ids=["under-the-margin", "over-the-margin"],
)
def test_restart_with_a_half_spent_token(
    left: timedelta, refreshed: bool, ssod_daemon: DaemonHarness
) -> None:
    """A restart knows nothing of the token's lifetime: under 20 minutes left means now."""
    emulator = ssod_daemon.emulator
    emulator.settings(approve_delay=0)
    ssod_daemon.start()
    ssod_login(ssod_daemon)
    ssod_daemon.stop()
    # The file as it is half-way through a 1-hour token's life (only expiresAt tells).
    login_token = cached(ssod_daemon)
    spent = replace(login_token, expires_at=datetime.now(UTC) + left)
    path = ssod_daemon.cache_dir / f"{token_cache_key('corp')}.json"
    path.write_bytes(serialize_token(spent))
    emulator.reset_calls()

    ssod_daemon.start()
    if refreshed:
        ours = wait_for(replaced(ssod_daemon, spent), "ssod's refresh", ssod_daemon, PROMPT)
        assert ours.expires_at - datetime.now(UTC) > timedelta(hours=7)
        assert emulator.calls().get("CreateToken:refresh_token") == 1
        assert corp(ssod_daemon)["next_refresh_reason"] == "observed lifetime 8h: full margin"
    else:
        assert corp(ssod_daemon)["next_refresh_reason"] == "lifetime unknown: full margin"
        time.sleep(QUIET)  # a window to see nothing happen in
        assert cached(ssod_daemon).access_token == spent.access_token
        assert emulator.calls().get("CreateToken:refresh_token", 0) == 0
        due = datetime.strptime(str(corp(ssod_daemon)["next_refresh"]), "%Y-%m-%dT%H:%M:%SZ")
        expected = spent.expires_at - timedelta(minutes=20)
        assert abs(due.replace(tzinfo=UTC) - expected) <= timedelta(seconds=31)
