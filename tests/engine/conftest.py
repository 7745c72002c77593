"""Fixtures for the in-process engine tests: virtual time, a fake AWS, a real cache directory."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine_support import Engine, FakeAws, FakeClock, Notes, Settler
from ssod.daemon.engine.broker import Broker
from ssod.daemon.engine.schedule import RefreshPolicy
from ssod.daemon.store.cachefiles import TokenCacheDir
from ssod.daemon.store.tokenstore import TokenStore


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    settler = Settler(asyncio.get_running_loop())
    yield Engine(FakeClock(), settler)
    settler.close()


@pytest.fixture
def aws(engine: Engine) -> FakeAws:
    return FakeAws(engine.clock)


@pytest.fixture
def cache(tmp_path: Path) -> TokenCacheDir:
    path = tmp_path / "sso-cache"
    path.mkdir(mode=0o700)
    return TokenCacheDir(path)


@pytest.fixture
def notes() -> Notes:
    return Notes()


@pytest.fixture
async def broker(
    engine: Engine, aws: FakeAws, cache: TokenCacheDir, notes: Notes
) -> AsyncIterator[Broker]:
    made = Broker(
        aws, TokenStore(cache), engine.clock, RefreshPolicy(), notes, rng=random.Random(18)
    )
    yield made
    await made.close()
    assert not aws.unexpected, f"AWS calls nobody expected: {aws.unexpected}"
