"""Role listing in-process: as few portal calls as the question needs, and throttling honoured.

A fake AWS answers from queues and records when each call came, in virtual time: the wizard's
two questions cost one ListAccounts and one ListAccountRoles; a throttled call is asked again
only after the listing's pause (``schedule.ListingPolicy``), and a portal that keeps throttling
ends the listing with one error naming the call.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from engine_support import Engine, FakeAws, load_config, seed_token
from ssod.daemon.aws.api import Account, PortalThrottled
from ssod.daemon.engine.broker import Broker
from ssod.daemon.engine.roles import RoleLister
from ssod.daemon.engine.schedule import ListingPolicy
from ssod.daemon.store.cachefiles import TokenCacheDir
from ssod.daemon.store.tokencache import token_cache_key
from ssod.errors import AwsUnavailable

KEY = token_cache_key("corp")
ACCOUNTS = [Account("111111111111", "dev", "d@x.test"), Account("222222222222", "", "")]


def throttled() -> PortalThrottled:
    return PortalThrottled("AWS ListAccountRoles failed: TooManyRequestsException (HTTP 429)")


@pytest.fixture
async def lister(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> RoleLister:
    seed_token(cache, KEY, engine.clock, left=timedelta(hours=8))
    await broker.apply(load_config(tmp_path))
    return RoleLister(aws, broker.sessions, engine.clock)


async def test_the_wizards_two_questions_cost_one_call_each(
    lister: RoleLister, aws: FakeAws
) -> None:
    aws.queue("list_accounts", ACCOUNTS)
    menu = await lister.list(KEY, accounts_only=True)
    assert menu.accounts == [
        {"account_id": "111111111111", "account_name": "dev", "email": "d@x.test"},
        {"account_id": "222222222222", "account_name": "", "email": ""},
    ]
    aws.queue("list_account_roles", ["ViewOnly", "admin"])
    chosen = await lister.list(KEY, account_id="222222222222")
    assert chosen.accounts == [
        {
            "account_id": "222222222222",
            "account_name": "",
            "email": "",
            "roles": ["ViewOnly", "admin"],
        }
    ]
    assert (aws.count("list_accounts"), aws.count("list_account_roles")) == (1, 1)
    assert aws.args("list_account_roles")[0]["account_id"] == "222222222222"


async def test_a_throttled_call_is_asked_again_after_the_pause(
    engine: Engine, lister: RoleLister, aws: FakeAws
) -> None:
    aws.queue("list_accounts", ACCOUNTS)
    aws.queue("list_account_roles", throttled(), ["A"], ["B"])
    task = asyncio.ensure_future(lister.list(KEY))
    await engine.walk_until(task.done, timedelta(seconds=30))
    listing = task.result()
    assert sorted(a.get("roles", [""])[0] for a in listing.accounts) == ["A", "B"]
    first, *later = aws.at("list_account_roles")
    policy = ListingPolicy()
    pause = min(later) - first
    # the pause of the first throttle: half to all of the base, with jitter
    assert policy.backoff_base / 2 <= pause <= policy.backoff_base


async def test_a_portal_that_keeps_throttling_ends_with_one_error(
    engine: Engine, lister: RoleLister, aws: FakeAws
) -> None:
    attempts = ListingPolicy().attempts
    aws.queue("list_accounts", ACCOUNTS[:1])
    aws.queue("list_account_roles", *[throttled() for _ in range(attempts)])
    task = asyncio.ensure_future(lister.list(KEY))
    await engine.walk_until(task.done, timedelta(minutes=5))
    with pytest.raises(AwsUnavailable) as failed:
        task.result()
    assert failed.value.message == (
        f"IAM Identity Center kept throttling ListAccountRoles (TooManyRequestsException, "
        f"{attempts} tries)"
    )
    assert aws.count("list_account_roles") == attempts
