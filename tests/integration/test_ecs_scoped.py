"""Scoped tokens at the ECS endpoint, over real HTTP, with the real store and its file.

A scoped token serves its one profile; any other path, an unknown, revoked or expired token
and a forged one all get the same 403 that names nothing; the main token keeps serving every
profile; revoking works at once; tokens survive a new store reading the same file.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from integration.test_ecs import FakeProvider
from ssod import procinfo, scoped
from ssod.daemon.serve.ecs import EcsServer
from ssod.daemon.serve.http.replies import CODE_FORBIDDEN
from ssod.daemon.store import ecstoken
from ssod.daemon.store.scopedstore import ScopedTokenStore
from ssod.errors import BadRequest


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Endpoint:
    def __init__(self, server: EcsServer, store: ScopedTokenStore, main: str, clock: Clock):
        self.server, self.store, self.main, self.clock = server, store, main, clock

    async def get(
        self, http: aiohttp.ClientSession, profile: str, token: str
    ) -> tuple[int, dict[str, object]]:
        url = self.server.url_for(profile)
        async with http.get(url, headers={"Authorization": token}) as resp:
            return resp.status, json.loads(await resp.read())


@pytest.fixture
async def endpoint(tmp_path: Path) -> AsyncIterator[Endpoint]:
    clock = Clock()
    store = ScopedTokenStore(tmp_path / "state" / "scoped-tokens.json", clock)
    store.load()
    main = ecstoken.new_token()
    server = EcsServer(FakeProvider(), lambda: main, port=0, scoped=store)
    await server.start()
    try:
        yield Endpoint(server, store, main, clock)
    finally:
        await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def refused(ep: Endpoint, http: aiohttp.ClientSession, profile: str, token: str) -> str:
    status, body = await ep.get(http, profile, token)
    assert status == 403
    assert body["code"] == CODE_FORBIDDEN
    return str(body["message"])


async def test_serves_its_profile_only_and_says_nothing_about_others(
    endpoint: Endpoint, http: aiohttp.ClientSession
) -> None:
    token = (await endpoint.store.issue("dev", 3600)).token
    status, body = await endpoint.get(http, "dev", token)
    assert (status, body["AccessKeyId"]) == (200, "AKIAEXAMPLE")
    other = await refused(endpoint, http, "prod/admin", token)
    missing = await refused(endpoint, http, "no-such-profile", token)
    unknown = await refused(endpoint, http, "dev", scoped.issue("dev", 60, 0).token)
    # One message for every refusal: it names no profile and does not tell them apart.
    assert other == missing == unknown
    assert "dev" not in other and "prod" not in other


async def test_main_token_keeps_serving_every_profile(
    endpoint: Endpoint, http: aiohttp.ClientSession
) -> None:
    await endpoint.store.issue("dev", 3600)
    for profile in ("dev", "prod/admin"):
        assert (await endpoint.get(http, profile, endpoint.main))[0] == 200


async def test_revoked_is_refused_at_once_and_the_others_live_on(
    endpoint: Endpoint, http: aiohttp.ClientSession
) -> None:
    one = await endpoint.store.issue("dev", 3600, "one")
    two = await endpoint.store.issue("dev", 3600)
    assert (await endpoint.get(http, "dev", one.token))[0] == 200
    gone = await endpoint.store.revoke(key="one")
    assert [r.id for r in gone] == [one.record.id]
    await refused(endpoint, http, "dev", one.token)
    assert (await endpoint.get(http, "dev", two.token))[0] == 200
    await endpoint.store.revoke(profile="dev")
    await refused(endpoint, http, "dev", two.token)


async def test_expired_is_refused_from_its_expiry_second(
    endpoint: Endpoint, http: aiohttp.ClientSession
) -> None:
    issued = await endpoint.store.issue("dev", 60)
    endpoint.clock.now += 59.9
    assert (await endpoint.get(http, "dev", issued.token))[0] == 200
    endpoint.clock.now += 0.1
    await refused(endpoint, http, "dev", issued.token)
    assert endpoint.store.live() == []


@pytest.mark.parametrize("change", ["secret", "id", "truncated", "extended", "case"])
async def test_forged_tokens_are_refused(
    endpoint: Endpoint, http: aiohttp.ClientSession, change: str
) -> None:
    token = (await endpoint.store.issue("dev", 3600)).token
    head, secret = token.rsplit(".", 1)
    other_id = (await endpoint.store.issue("dev", 3600)).record.id
    forged = {
        "secret": head + "." + ("B" if secret[0] != "B" else "C") + secret[1:],
        "id": f"{scoped.PREFIX}{other_id}.{secret}",
        "truncated": token[:-1],
        "extended": token + "A",
        "case": token.upper(),
    }[change]
    await refused(endpoint, http, "dev", forged)


async def test_the_file_holds_digests_only_and_survives_a_restart(
    endpoint: Endpoint, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    kept = await endpoint.store.issue("dev", 3600, "kept")
    dropped = await endpoint.store.issue("dev", 3600)
    await endpoint.store.revoke(key=dropped.record.id)
    path = endpoint.store.path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert kept.token not in text and kept.token.rsplit(".", 1)[1] not in text
    assert dropped.record.id not in text
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left

    again = ScopedTokenStore(path, endpoint.clock)
    again.load()
    assert again.live() == [kept.record]
    assert again.authorizes(kept.token, "dev")
    assert not again.authorizes(dropped.token, "dev")


async def test_names_are_unique_while_live(endpoint: Endpoint) -> None:
    await endpoint.store.issue("dev", 60, "ci")
    with pytest.raises(BadRequest, match="already named 'ci'"):
        await endpoint.store.issue("prod/admin", 60, "ci")
    endpoint.clock.now += 60
    await endpoint.store.issue("prod/admin", 60, "ci")  # the first one expired


def test_an_unreadable_file_is_moved_aside_and_its_tokens_refused(tmp_path: Path) -> None:
    path = tmp_path / "scoped-tokens.json"
    path.write_bytes(b'{"version": 1, "tokens": [{"id": "garbage"}]}')
    store = ScopedTokenStore(path)
    store.load()
    assert store.live() == []
    assert store.error is not None and "moved to scoped-tokens.json.unreadable" in store.error
    assert not path.exists()
    assert (tmp_path / "scoped-tokens.json.unreadable").read_bytes().startswith(b'{"version"')


async def test_live_tokens_are_capped_and_expired_ones_make_room(
    endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scoped, "MAX_TOKENS", 3)
    for _ in range(3):
        await endpoint.store.issue("dev", 60)
    with pytest.raises(BadRequest, match="3 scoped tokens are live"):
        await endpoint.store.issue("dev", 60)
    endpoint.clock.now += 60
    await endpoint.store.issue("dev", 60)
    assert len(endpoint.store.live()) == 1
    assert len(scoped.load(endpoint.store.path.read_bytes(), "f")) == 1  # pruned on disk too


LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc start times")


@LINUX
async def test_a_token_bound_to_a_process_ends_with_it(
    endpoint: Endpoint, http: aiohttp.ClientSession
) -> None:
    store = endpoint.store
    proc = subprocess.Popen(["sleep", "60"])
    try:
        started = procinfo.start_time(proc.pid)
        assert started is not None
        # Another pid namespace's pid names some other process here: refused, nothing kept.
        with pytest.raises(BadRequest, match="not running where the daemon looks"):
            await store.issue("dev", 3600, pid=proc.pid, started=started + 1)
        bound = await store.issue("dev", 3600, pid=proc.pid, started=started)
        unbound = await store.issue("dev", 3600)
        assert (bound.record.name, bound.record.pid) == (scoped.EXEC_NAME, proc.pid)
        assert (await endpoint.get(http, "dev", bound.token))[0] == 200
        await refused(endpoint, http, "prod/admin", bound.token)
        assert await store.sweep() == []
        proc.kill()
        # Not reaped yet (a zombie): gone all the same.
        for _ in range(500):
            if not procinfo.look(proc.pid).running:
                break
            await asyncio.sleep(0.01)
        await refused(endpoint, http, "dev", bound.token)  # at once, before any sweep
    finally:
        proc.kill()
        proc.wait()
    assert [r.id for r in await store.sweep()] == [bound.record.id]
    assert store.live() == [unbound.record]
    assert scoped.load(store.path.read_bytes(), "f") == [unbound.record]
    with pytest.raises(BadRequest, match="not running"):
        await store.issue("dev", 3600, pid=proc.pid)


@LINUX
async def test_a_reused_pid_does_not_keep_a_token_alive(tmp_path: Path) -> None:
    """A record from before a restart names this pid with another start time: it is dropped."""
    me, now = os.getpid(), time.time()
    started = procinfo.start_time(me)
    assert started is not None
    reused = scoped.issue("dev", 3600, now, pid=me, started=started - 1)
    mine = scoped.issue("dev", 3600, now, pid=me, started=started)
    path = tmp_path / "scoped-tokens.json"
    path.write_bytes(scoped.dump([reused.record, mine.record]))
    path.chmod(0o600)
    store = ScopedTokenStore(path)
    store.load()
    assert not store.authorizes(reused.token, "dev")
    assert store.authorizes(mine.token, "dev")
    assert await store.sweep() == [reused.record]
    again = ScopedTokenStore(path)
    again.load()
    assert again.live() == [mine.record]
