"""The session keeper in-process: token refresh ahead of expiry, backoff, refusal, rotation race,
and the one rule for a token the portal rejects before its expiry.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from engine_support import Engine, FakeAws, Notes, grant, load_config, seed_token
from ssod.daemon.aws.api import OidcProblem, TokenRejected
from ssod.daemon.engine.schedule import RefreshPolicy
from ssod.daemon.engine.sessions import SessionKeeper
from ssod.daemon.engine.specs import session_specs
from ssod.daemon.store.cachefiles import TokenCacheDir
from ssod.daemon.store.tokencache import token_cache_key
from ssod.daemon.store.tokenstore import TokenStore
from ssod.errors import AwsUnavailable, LoginRequired

KEY = token_cache_key("corp")
MARGIN = RefreshPolicy().token_margin


@pytest.fixture
async def keeper(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, notes: Notes, tmp_path: Path
) -> AsyncIterator[SessionKeeper]:
    made = SessionKeeper(
        aws, TokenStore(cache), engine.clock, RefreshPolicy(), notes, rng=random.Random(18)
    )
    yield made
    await made.close()
    assert not aws.unexpected, f"AWS calls nobody expected: {aws.unexpected}"


async def _start(engine: Engine, keeper: SessionKeeper, home: Path) -> None:
    await keeper.apply(session_specs(load_config(home)))
    await engine.settle()


async def test_a_token_is_refreshed_ahead_of_expiry_and_written_for_the_cli(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, keeper: SessionKeeper, tmp_path: Path
) -> None:
    seeded = seed_token(cache, KEY, engine.clock, left=timedelta(hours=1))
    await _start(engine, keeper, tmp_path)
    aws.queue("create_token", grant("access-2", refresh="refresh-2"))

    def refreshed() -> bool:
        written = cache.read_token(KEY)  # the write runs in a thread: wait for it, not for AWS
        return written is not None and written.access_token == "access-2"

    await engine.walk_until(refreshed, timedelta(hours=1))
    assert aws.count("create_token") == 1
    # Read from the cache, its lifetime is unknown: the full margin, up to 30 s of jitter more.
    at = aws.at("create_token")[0]
    assert seeded.expires_at - MARGIN - timedelta(seconds=30) <= at <= seeded.expires_at - MARGIN
    assert aws.args("create_token")[0]["refreshToken"] == "refresh-1"
    assert aws.args("create_token")[0]["grantType"] == "refresh_token"
    on_disk = cache.read_token(KEY)
    assert on_disk is not None
    assert (on_disk.access_token, on_disk.refresh_token) == ("access-2", "refresh-2")
    assert on_disk.expires_at == (at + timedelta(hours=1)).replace(microsecond=0)
    assert keeper.usable_token(KEY).access_token == "access-2"


async def test_a_failed_refresh_is_retried_with_backoff_and_status_says_why(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, keeper: SessionKeeper, tmp_path: Path
) -> None:
    seed_token(cache, KEY, engine.clock, left=timedelta(minutes=10))  # due at once
    unreachable = AwsUnavailable("CreateToken: could not connect")
    aws.queue("create_token", unreachable, unreachable, unreachable)
    await _start(engine, keeper, tmp_path)
    assert aws.count("create_token") == 1
    state = keeper.get(KEY)
    assert state is not None
    assert state.refresh_why == "retry 1 after a failed refresh"
    assert state.last_error == unreachable.message
    aws.queue("create_token", grant("access-2", refresh="refresh-2"))
    await engine.walk_until(lambda: aws.count("create_token") == 4, timedelta(minutes=5))
    at = aws.at("create_token")
    for (earlier, later), ceiling in zip(itertools.pairwise(at), (2, 4, 8), strict=True):
        assert timedelta(seconds=ceiling / 2) <= later - earlier <= timedelta(seconds=ceiling)
    assert keeper.usable_token(KEY).access_token == "access-2"
    after = keeper.get(KEY)
    assert after is not None
    assert (after.failures, after.last_error, after.login_required) == (0, None, None)


async def test_a_refused_refresh_token_needs_a_login_said_once(
    engine: Engine,
    aws: FakeAws,
    cache: TokenCacheDir,
    keeper: SessionKeeper,
    notes: Notes,
    tmp_path: Path,
) -> None:
    seed_token(cache, KEY, engine.clock, left=timedelta(minutes=10))
    aws.queue("create_token", OidcProblem("invalid_grant", "CreateToken"))
    await _start(engine, keeper, tmp_path)
    await engine.walk(timedelta(seconds=1))  # the re-reads for a rotation elsewhere
    state = keeper.get(KEY)
    assert state is not None
    assert state.login_required == "refresh refused: invalid_grant"
    # What is still valid keeps being served; once it expires, clients are told to log in.
    assert (await keeper.fresh_token(KEY)).access_token == "access-1"
    await engine.walk(timedelta(hours=2))
    with pytest.raises(LoginRequired, match="run `ssod login --sso-session corp`"):
        await keeper.fresh_token(KEY)
    assert aws.count("create_token") == 1
    assert [title for title, _ in notes.sent] == ["ssod: corp needs a login"]


async def test_a_refresh_token_rotated_by_another_tool_meanwhile_is_adopted(
    engine: Engine,
    aws: FakeAws,
    cache: TokenCacheDir,
    keeper: SessionKeeper,
    notes: Notes,
    tmp_path: Path,
) -> None:
    """Another process won the race to use the refresh token and writes its new token just
    after AWS refused ours: the keeper re-reads the cache and serves that one."""
    seed_token(cache, KEY, engine.clock, left=timedelta(minutes=10))

    def refused_while_another_tool_rotates() -> None:
        seed_token(
            cache,
            KEY,
            engine.clock,
            left=timedelta(hours=1),
            access_token="theirs",
            refresh_token="refresh-theirs",
        )
        raise OidcProblem("invalid_grant", "CreateToken")

    aws.queue("create_token", refused_while_another_tool_rotates)
    await _start(engine, keeper, tmp_path)
    await engine.walk(timedelta(seconds=1))
    assert keeper.usable_token(KEY).access_token == "theirs"
    state = keeper.get(KEY)
    assert state is not None and state.login_required is None
    assert notes.sent == []


async def test_a_rejected_token_is_refreshed_once_and_the_call_retried(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, keeper: SessionKeeper, tmp_path: Path
) -> None:
    seed_token(cache, KEY, engine.clock, left=timedelta(hours=8))
    await _start(engine, keeper, tmp_path)
    aws.queue("create_token", grant("access-2", refresh="refresh-2"))
    tokens: list[str] = []

    async def call(access_token: str) -> str:
        tokens.append(access_token)
        if access_token == "access-1":
            raise TokenRejected
        return "answer"

    assert await keeper.with_token(KEY, call) == "answer"
    assert tokens == ["access-1", "access-2"]


async def test_a_token_rejected_twice_needs_a_login(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, keeper: SessionKeeper, tmp_path: Path
) -> None:
    """A logout elsewhere: the portal refuses the token, the refreshed one, and the refresh."""
    seed_token(cache, KEY, engine.clock, left=timedelta(hours=8))
    await _start(engine, keeper, tmp_path)
    aws.queue(
        "create_token",
        grant("access-2", refresh="refresh-2"),
        OidcProblem("invalid_grant", "CreateToken"),
    )
    tokens: list[str] = []

    async def call(access_token: str) -> str:
        tokens.append(access_token)
        raise TokenRejected

    attempt = asyncio.create_task(keeper.with_token(KEY, call))
    await engine.walk(timedelta(seconds=1))  # the re-reads for a rotation elsewhere
    with pytest.raises(LoginRequired, match=r"needs a login \(the portal rejected the token\)"):
        await attempt
    assert tokens == ["access-1", "access-2"]
    assert aws.count("create_token") == 2
