"""The broker in-process: single flight, background refresh, backoff, reloads, close.

Virtual time (``engine_support.FakeClock``) walks hours of credential lifetimes in
milliseconds; AWS is a fake with queued replies; the token cache is the real one in a temp dir.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from pathlib import Path

from engine_support import CONFIG, Engine, FakeAws, load_config, seed_token
from ssod.daemon.engine.broker import Broker
from ssod.daemon.engine.configkeeper import ConfigKeeper
from ssod.daemon.store.cachefiles import TokenCacheDir
from ssod.daemon.store.tokencache import token_cache_key
from ssod.errors import AwsUnavailable

KEY = token_cache_key("corp")
ONLY_DEV = CONFIG[: CONFIG.index("[profile prod]")]


async def _ready(engine: Engine, cache: TokenCacheDir, broker: Broker, home: Path) -> None:
    """A logged-in session whose token outlives the test (no token refresh gets in the way)."""
    seed_token(cache, KEY, engine.clock, left=timedelta(hours=8))
    await broker.apply(load_config(home))
    await engine.settle()


def _other_tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}


async def test_a_thousand_requests_for_a_cold_profile_make_one_call(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    await _ready(engine, cache, broker, tmp_path)
    answer: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    aws.queue("get_role_credentials", answer)
    asks = [asyncio.create_task(broker.credentials("dev")) for _ in range(1000)]
    await engine.settle()
    assert aws.count("get_role_credentials") == 1
    answer.set_result(aws.creds())
    got = await asyncio.gather(*asks)
    assert {c.access_key_id for c in got} == {got[0].access_key_id}
    assert aws.count("get_role_credentials") == 1
    assert aws.args("get_role_credentials")[0]["access_token"] == "access-1"


async def test_credentials_are_refreshed_before_the_margin_while_used_then_left_idle(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    await _ready(engine, cache, broker, tmp_path)
    aws.queue("get_role_credentials", aws.creds(), aws.creds(), aws.creds())
    first = await broker.credentials("dev")
    margin = timedelta(minutes=15)  # served with more than this left, never less
    await engine.walk_until(lambda: aws.count("get_role_credentials") == 2, timedelta(hours=1))
    refreshed_at = aws.at("get_role_credentials")[1]
    # Refreshed 5 minutes (the lead) before the margin, up to 30 s of jitter later.
    lead = timedelta(minutes=5)
    window = (first.expiration - margin - lead, first.expiration - margin - lead / 10)
    assert window[0] <= refreshed_at <= window[1]
    held = broker.held("dev")  # a use, 40 minutes in
    assert held is not None and held.access_key_id != first.access_key_id
    # One more refresh (40 minutes later, the use is recent), then none: the last use is over
    # an hour old by the next one.
    await engine.walk(timedelta(hours=3))
    assert aws.count("get_role_credentials") == 3


async def test_a_failed_background_refresh_is_retried_with_backoff(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    await _ready(engine, cache, broker, tmp_path)
    aws.queue(
        "get_role_credentials",
        aws.creds(),
        AwsUnavailable("GetRoleCredentials: ServiceUnavailable (HTTP 503)"),
        AwsUnavailable("GetRoleCredentials: ServiceUnavailable (HTTP 503)"),
        AwsUnavailable("GetRoleCredentials: ServiceUnavailable (HTTP 503)"),
        aws.creds(),
    )
    first = await broker.credentials("dev")
    await engine.walk_until(lambda: aws.count("get_role_credentials") == 5, timedelta(minutes=50))
    at = aws.at("get_role_credentials")
    gaps = [later - earlier for earlier, later in itertools.pairwise(at[1:])]
    # Exponential from 2 s, each with up to half of it taken off as jitter.
    for gap, ceiling in zip(gaps, (2, 4, 8), strict=True):
        assert timedelta(seconds=ceiling / 2) <= gap <= timedelta(seconds=ceiling)
    held = broker.held("dev")
    assert held is not None and held.access_key_id != first.access_key_id
    assert held.expiration - engine.clock.now() > timedelta(minutes=59)


async def test_a_profile_removed_while_its_fetch_is_in_flight_leaves_no_refresh_behind(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    """The review's bug: the fetch finished after the reload and started a refresh task for a
    profile no longer served; ``close()`` did not know it, and it called AWS ~40 minutes on."""
    seed_token(cache, KEY, engine.clock, left=timedelta(hours=8))
    path = tmp_path / "config"
    path.write_text(CONFIG)
    config = ConfigKeeper(path, broker, before_read=lambda: None)
    await config.reload()
    answer: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    aws.queue("get_role_credentials", answer)
    ask = asyncio.create_task(broker.credentials("prod"))
    await engine.settle()
    assert aws.count("get_role_credentials") == 1
    path.write_text(ONLY_DEV)  # the user removes the profile; the watcher has us reload
    await config.reload()
    assert config.info()["profiles"] == 1
    answer.set_result(aws.creds("222222222222"))
    got = await ask  # the request in flight is still answered
    assert got.account_id == "222222222222"
    await engine.settle()
    await broker.close()
    await engine.walk(timedelta(hours=3))
    assert aws.count("get_role_credentials") == 1
    assert not _other_tasks(), _other_tasks()
    assert engine.clock.sleepers() == 0


async def test_close_stops_every_background_task(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    await _ready(engine, cache, broker, tmp_path)
    aws.queue("get_role_credentials", aws.creds(), aws.creds("222222222222"))
    await broker.credentials("dev")
    await broker.credentials("prod")
    assert engine.clock.sleepers() >= 3  # two profiles' refreshes and the session's keeper
    await broker.close()
    await engine.settle()
    assert not _other_tasks(), _other_tasks()
    assert engine.clock.sleepers() == 0
    await engine.walk(timedelta(hours=9))
    assert len(aws.calls) == 2


async def test_a_role_chain_assumes_its_role_with_the_source_profiles_credentials(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    seed_token(cache, KEY, engine.clock, left=timedelta(hours=8))
    chained = CONFIG + (
        "\n[profile deploy]\nsource_profile = dev\n"
        "role_arn = arn:aws:iam::333333333333:role/Deploy\nrole_session_name = ci\n"
    )
    await broker.apply(load_config(tmp_path, chained))
    aws.queue("get_role_credentials", aws.creds())
    aws.queue("assume_role", aws.creds("333333333333"))
    got = await asyncio.gather(*(broker.credentials("deploy") for _ in range(50)))
    assert {c.account_id for c in got} == {"333333333333"}
    assert aws.count("get_role_credentials") == 1 and aws.count("assume_role") == 1
    source = broker.held("dev")
    assert source is not None
    call = aws.args("assume_role")[0]
    assert call["source"] == source.access_key_id
    assert call["role_arn"] == "arn:aws:iam::333333333333:role/Deploy"
    assert call["region"] == "eu-west-1"  # no region of its own: its root profile's
