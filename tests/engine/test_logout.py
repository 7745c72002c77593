"""Logout and role listing in-process, on the broker with a fake AWS and real cache files."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from engine_support import Engine, FakeAws, grant, load_config, seed_token
from ssod.daemon.aws.api import Account, TokenRejected
from ssod.daemon.engine.broker import Broker
from ssod.daemon.engine.login import LoginManager
from ssod.daemon.engine.logout import Logout
from ssod.daemon.engine.roles import RoleLister
from ssod.daemon.store.cachefiles import CliCacheDir, TokenCacheDir
from ssod.daemon.store.tokencache import role_cache_key, token_cache_key
from ssod.daemon.store.tokenstore import TokenStore

KEY = token_cache_key("corp")


def _cli_entry(cli_cache: CliCacheDir, key: str, provider: str = "sso") -> Path:
    path = cli_cache.path_for(key)
    path.write_text(json.dumps({"ProviderType": provider, "Credentials": {}}))
    return path


async def test_logout_revokes_deletes_the_files_and_forgets_the_credentials(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    seed_token(cache, KEY, engine.clock, left=timedelta(hours=8))
    await broker.apply(load_config(tmp_path))
    aws.queue("get_role_credentials", aws.creds(), aws.creds("222222222222"))
    await broker.credentials("dev")
    await broker.credentials("prod")
    cli_cache = CliCacheDir(tmp_path / "cli-cache")
    cli_cache.path.mkdir()
    dev = _cli_entry(cli_cache, role_cache_key("111111111111", "Dev", session_name="corp"))
    other = _cli_entry(cli_cache, role_cache_key("333333333333", "Ops", session_name="corp"))
    logins = LoginManager(aws, TokenStore(cache), broker.sessions, engine.clock)
    logout = Logout(aws, TokenStore(cache), cli_cache, broker, logins, engine.clock)
    aws.queue("logout", None)
    results = await logout.log_out(KEY)
    assert results == [{"session": "corp", "revoked": True, "cli_cache_removed": 1}]
    assert aws.args("logout")[0]["access_token"] == "access-1"
    assert cache.read_token(KEY) is None
    assert not dev.exists() and other.exists()  # only this session's profiles' entries
    assert broker.held("dev") is None and broker.held("prod") is None
    state = broker.sessions.get(KEY)
    assert state is not None and state.login_required == "logged out"
    # Nothing of the session keeps running against AWS.
    await engine.walk(timedelta(hours=3))
    assert aws.count("get_role_credentials") == 2
    assert aws.count("create_token") == 0


async def test_logout_of_a_revoked_token_still_cleans_up(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    seed_token(cache, KEY, engine.clock, left=timedelta(hours=8))
    await broker.apply(load_config(tmp_path))
    cli_cache = CliCacheDir(tmp_path / "cli-cache")
    logout = Logout(
        aws,
        TokenStore(cache),
        cli_cache,
        broker,
        LoginManager(aws, TokenStore(cache), broker.sessions, engine.clock),
        engine.clock,
    )
    aws.queue("logout", TokenRejected())
    assert await logout.log_out(None) == [
        {"session": "corp", "revoked": False, "cli_cache_removed": 0}
    ]
    assert cache.read_token(KEY) is None


async def test_roles_are_listed_with_a_token_the_portal_rejected_refreshed_once(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    seed_token(cache, KEY, engine.clock, left=timedelta(hours=8))
    await broker.apply(load_config(tmp_path))
    aws.queue("list_accounts", TokenRejected(), [Account("111111111111", "dev", "d@x.test")])
    aws.queue("create_token", grant("access-2", refresh="refresh-2"))
    aws.queue("list_account_roles", ["Dev", "Audit"])
    listing = await RoleLister(aws, broker.sessions).list(KEY)
    assert listing.spec.name == "corp"
    assert listing.accounts == [
        {
            "account_id": "111111111111",
            "account_name": "dev",
            "email": "d@x.test",
            "roles": ["Dev", "Audit"],  # the portal's order: the client sorts (CLI's keys)
        }
    ]
    assert [a["access_token"] for a in aws.args("list_accounts")] == ["access-1", "access-2"]
    assert aws.args("list_account_roles")[0]["access_token"] == "access-2"


async def test_credentials_in_flight_during_a_logout_are_not_served_after_it(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, broker: Broker, tmp_path: Path
) -> None:
    seed_token(cache, KEY, engine.clock, left=timedelta(hours=8))
    await broker.apply(load_config(tmp_path))
    answer: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    aws.queue("get_role_credentials", answer)
    ask = asyncio.create_task(broker.credentials("dev"))
    await engine.settle()
    logout = Logout(
        aws,
        TokenStore(cache),
        CliCacheDir(tmp_path / "cli-cache"),
        broker,
        LoginManager(aws, TokenStore(cache), broker.sessions, engine.clock),
        engine.clock,
    )
    aws.queue("logout", None)
    await logout.log_out(KEY)
    answer.set_result(aws.creds())
    await ask  # asked before the logout: answered
    await engine.settle()
    assert broker.held("dev") is None
    await engine.walk(timedelta(hours=3))
    assert aws.count("get_role_credentials") == 1
