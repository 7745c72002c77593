"""EKS tokens in-process: the real broker and signer, AWS a fake, time virtual.

One signing per token lifetime, single flight, credentials under the 15-minute floor refreshed
before they sign (and bounding the token's end, never to a past one), a ``--role-arn`` role
assumed once and again only under the floor, and a logout's ``forget``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from engine_support import Engine, FakeAws, load_config, seed_token
from ssod.daemon.engine.broker import Broker
from ssod.daemon.engine.ekstokens import EksRequest, EksTokens
from ssod.daemon.store.cachefiles import TokenCacheDir
from ssod.daemon.store.tokencache import token_cache_key
from ssod.errors import AwsUnavailable, ProfileNotFound

M = timedelta(minutes=1)
DEMO = EksRequest(profile="dev", cluster="demo", region="us-east-1")
ROLE = "arn:aws:iam::222222222222:role/Deployer"


async def _tokens(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, home: Path
) -> EksTokens:
    """A logged-in session (its token outlives the test) and EKS tokens over the broker."""
    seed_token(cache, token_cache_key("corp"), engine.clock, left=timedelta(hours=8))
    await broker.apply(load_config(home))
    await engine.settle()
    return EksTokens(broker, aws, engine.clock)


async def test_one_signing_per_lifetime(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    tokens = await _tokens(engine, aws, cache, broker, tmp_path)
    aws.queue("get_role_credentials", *(aws.creds() for _ in range(4)))
    t0 = engine.clock.now()
    first = await tokens.token(DEMO)
    assert first.expires_at == (t0 + 14 * M).replace(microsecond=0)
    assert first.host == "sts.us-east-1.amazonaws.com"
    await engine.walk(13 * M - timedelta(seconds=1))
    assert await tokens.token(DEMO) is first
    await engine.walk(timedelta(seconds=1))  # a minute before its end: signed again
    second = await tokens.token(DEMO)
    assert second.token != first.token
    other = await tokens.token(EksRequest(profile="dev", cluster="other", region="us-east-1"))
    assert other.token != second.token
    assert aws.count("get_role_credentials") == 1  # the same credentials signed all three
    assert tokens.region_for(EksRequest(profile="dev", cluster="demo")) == "eu-west-1"


async def test_concurrent_requests_sign_once(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    tokens = await _tokens(engine, aws, cache, broker, tmp_path)
    aws.queue("get_role_credentials", aws.creds())
    got = await asyncio.gather(*(tokens.token(DEMO) for _ in range(100)))
    assert len({t.token for t in got}) == 1
    assert aws.count("get_role_credentials") == 1


async def test_short_credentials_are_refreshed_first_and_bound_the_end(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    tokens = await _tokens(engine, aws, cache, broker, tmp_path)
    aws.queue("get_role_credentials", *(aws.creds(lifetime=10 * M) for _ in range(2)))
    t0 = engine.clock.now()
    issued = await tokens.token(DEMO)
    assert aws.count("get_role_credentials") == 2  # under the floor: fetched again first
    assert issued.expires_at == (t0 + 9 * M).replace(microsecond=0)  # a minute before them
    # From now on AWS only has 50-second credentials (the broker's own refresher takes a set
    # every few seconds of virtual time): no token may end in the past.
    brief = aws.creds(lifetime=timedelta(seconds=50))
    aws.queue("get_role_credentials", *(brief for _ in range(200)))
    await engine.walk(8 * M)
    with pytest.raises(AwsUnavailable, match="expire too soon"):
        await tokens.token(DEMO)


async def test_a_role_is_assumed_once_and_again_under_the_floor(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    tokens = await _tokens(engine, aws, cache, broker, tmp_path)
    aws.queue("get_role_credentials", *(aws.creds() for _ in range(4)))
    aws.queue("assume_role", *(aws.creds("222222222222") for _ in range(2)))
    as_role = EksRequest(profile="dev", cluster="demo", region="us-east-1", role_arn=ROLE)
    first = await tokens.token(as_role)
    again = await asyncio.gather(*(tokens.token(as_role) for _ in range(10)))
    assert {t.token for t in again} == {first.token}
    assert aws.count("assume_role") == 1
    assert aws.args("assume_role")[0]["role_arn"] == ROLE
    await engine.walk(46 * M)  # the role's credentials have 14 minutes left
    await tokens.token(as_role)
    assert aws.count("assume_role") == 2


async def test_forget_and_unknown_profiles(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    tokens = await _tokens(engine, aws, cache, broker, tmp_path)
    aws.queue("get_role_credentials", *(aws.creds() for _ in range(2)))
    first = await tokens.token(DEMO)
    await engine.walk(timedelta(seconds=1))
    tokens.forget({"dev"})
    assert (await tokens.token(DEMO)).token != first.token
    with pytest.raises(ProfileNotFound):
        await tokens.token(EksRequest(profile="nope", cluster="demo"))
