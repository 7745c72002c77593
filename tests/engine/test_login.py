"""The login manager in-process: the device flow's polling in virtual time, joined flows,
cancellation, and the token handed to the session keeper and written for the CLI.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine_support import Engine, FakeAws, Notes, grant, load_config
from ssod.daemon.aws.api import ClientRegistration, DeviceAuthorization, OidcProblem
from ssod.daemon.engine.login import LoginManager
from ssod.daemon.engine.schedule import RefreshPolicy
from ssod.daemon.engine.sessions import SessionKeeper
from ssod.daemon.engine.specs import session_specs
from ssod.daemon.store.cachefiles import TokenCacheDir
from ssod.daemon.store.tokencache import token_cache_key
from ssod.daemon.store.tokenstore import TokenStore
from ssod.errors import LoginCancelled, LoginFailed

KEY = token_cache_key("corp")


async def _no_lookup(method: str, url: str) -> tuple[int, str | None]:
    raise AssertionError(f"an AWS start URL is never looked up: {method} {url}")


@pytest.fixture
async def logins(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, notes: Notes, tmp_path: Path
) -> AsyncIterator[LoginManager]:
    keeper = SessionKeeper(
        aws, TokenStore(cache), engine.clock, RefreshPolicy(), notes, rng=random.Random(1)
    )
    await keeper.apply(session_specs(load_config(tmp_path)))
    manager = LoginManager(aws, TokenStore(cache), keeper, engine.clock, fetch=_no_lookup)
    yield manager
    await manager.close()
    await keeper.close()
    assert not aws.unexpected, f"AWS calls nobody expected: {aws.unexpected}"


def _device_flow(aws: FakeAws, engine: Engine, *polls: object) -> None:
    aws.queue("has_oidc_endpoint", True)
    aws.queue(
        "register_client",
        ClientRegistration(
            client_id="client-1",
            client_secret="client-secret-1",
            expires_at=engine.clock.now() + timedelta(days=90),
        ),
    )
    aws.queue(
        "start_device_authorization",
        DeviceAuthorization(
            device_code="device-1",
            user_code="ABCD-EFGH",
            verification_uri="https://device.sso.us-east-1.amazonaws.com/",
            verification_uri_complete="https://device.sso.us-east-1.amazonaws.com/?user_code=ABCD-EFGH",
            expires_in=600,
            interval=5,
        ),
    )
    aws.queue("create_token", *polls)


async def _collect(events: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event async for event in events]


async def test_the_device_flow_polls_at_the_interval_and_slows_down_when_told(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, logins: LoginManager
) -> None:
    pending = OidcProblem("authorization_pending", "CreateToken")
    _device_flow(
        aws,
        engine,
        pending,
        OidcProblem("slow_down", "CreateToken"),
        pending,
        grant("access-1", seconds=8 * 3600, refresh="refresh-1"),
    )
    first = asyncio.create_task(_collect(logins.follow(KEY, use_device_code=True)))
    await engine.settle()
    joined = asyncio.create_task(_collect(logins.follow(KEY, use_device_code=True)))
    await engine.walk_until(first.done, timedelta(minutes=5))
    events, joiner_events = await first, await joined
    assert [e["event"] for e in events] == ["verification", "done"]
    assert events[0]["user_code"] == "ABCD-EFGH"
    # Only the client that started the flow opens a browser.
    assert (events[0]["first"], joiner_events[0]["first"]) == (True, False)
    assert joiner_events[-1] == events[-1]
    polls = aws.at("create_token")
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(polls)]
    assert gaps == [5, 10, 10]  # slow_down adds 5 seconds to the interval, for good
    assert len(aws.args("register_client")) == 1  # one flow for both clients
    on_disk = cache.read_token(KEY)
    assert on_disk is not None and on_disk.access_token == "access-1"
    assert on_disk.expires_at == (polls[-1] + timedelta(hours=8)).replace(microsecond=0)


async def test_a_flow_cancelled_while_polling_ends_with_its_error(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, logins: LoginManager
) -> None:
    pending = OidcProblem("authorization_pending", "CreateToken")
    _device_flow(aws, engine, pending)
    follower = asyncio.create_task(_collect(logins.follow(KEY, use_device_code=True)))
    await engine.settle()
    assert logins.running(KEY)
    assert logins.cancel(KEY)
    with pytest.raises(LoginCancelled):
        await follower
    assert not logins.running(KEY)
    await engine.walk(timedelta(minutes=10))
    assert aws.count("create_token") == 1
    assert cache.read_token(KEY) is None


async def test_a_device_code_nobody_approves_expires(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, logins: LoginManager
) -> None:
    pending = OidcProblem("authorization_pending", "CreateToken")
    _device_flow(aws, engine, *[pending] * 122)
    follower = asyncio.create_task(_collect(logins.follow(KEY, use_device_code=True)))
    await engine.walk_until(follower.done, timedelta(minutes=11))
    with pytest.raises(LoginFailed, match="the device code expired"):
        await follower
    # Every 5 seconds until the first poll after the 600 seconds the code lives.
    assert aws.at("create_token")[-1] - aws.at("create_token")[0] == timedelta(seconds=605)
    assert cache.read_token(KEY) is None
