"""``EksTokens`` against a credential source whose expiries the test sets, and a clock it moves.

The real signer and lifetime rules; a stand-in for the broker (what ``CredentialSource`` asks
of it) so credentials can be made to expire at chosen moments without waiting for them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from ssod.daemon.aws.api import BotocoreAws
from ssod.daemon.aws.credentials import RoleCredentials
from ssod.daemon.config.model import AwsConfig
from ssod.daemon.engine.ekstokens import EksRequest, EksTokens
from ssod.errors import AwsUnavailable, ProfileNotFound

T0 = datetime(2026, 12, 5, 18, 0, 0, tzinfo=UTC)
M = timedelta(minutes=1)
DEMO = EksRequest(profile="dev", cluster="demo", region="us-east-1")


class ManualClock:
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return (self.at - T0).total_seconds()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        await asyncio.sleep(0)
        return event.is_set()


class Source:
    """Hands out credentials that expire ``lifetime`` after each fetch (``short`` once)."""

    def __init__(self, clock: ManualClock, lifetime: timedelta = 60 * M) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.fetches = 0
        self.held: RoleCredentials | None = None
        self.config: AwsConfig | None = None

    def check_served(self, name: str) -> None:
        if name != "dev":
            raise ProfileNotFound(f"no profile {name}")

    async def credentials(self, name: str) -> RoleCredentials:
        await asyncio.sleep(0)
        if self.held is None:
            self.fetches += 1
            self.held = RoleCredentials(
                access_key_id=f"ASIAKEY{self.fetches}",
                secret_access_key="secret",
                session_token="token",
                expiration=self.clock.now() + self.lifetime,
                account_id="111111111111",
            )
        return self.held

    def discard(self, name: str) -> None:
        self.held = None


def _tokens(source: Source, clock: ManualClock) -> EksTokens:
    return EksTokens(source, BotocoreAws(), clock)


async def test_one_signing_per_lifetime_and_never_a_past_end() -> None:
    clock = ManualClock()
    source = Source(clock)
    tokens = _tokens(source, clock)
    first = await tokens.token(DEMO)
    assert first.expires_at == T0 + 14 * M and first.host == "sts.us-east-1.amazonaws.com"
    clock.at = T0 + 13 * M - timedelta(seconds=1)
    assert await tokens.token(DEMO) is first
    clock.at = T0 + 13 * M
    second = await tokens.token(DEMO)
    assert second.token != first.token and second.expires_at == T0 + 27 * M
    other = await tokens.token(EksRequest(profile="dev", cluster="other", region="us-east-1"))
    assert other.token != second.token  # per cluster


async def test_concurrent_requests_sign_once() -> None:
    clock = ManualClock()
    source = Source(clock)
    tokens = _tokens(source, clock)
    got = await asyncio.gather(*(tokens.token(DEMO) for _ in range(100)))
    assert len({t.token for t in got}) == 1 and source.fetches == 1


async def test_credentials_under_the_floor_are_refreshed_first() -> None:
    clock = ManualClock()
    source = Source(clock)
    tokens = _tokens(source, clock)
    await tokens.token(DEMO)
    clock.at = T0 + 46 * M  # the held credentials have 14 minutes left
    fresh = await tokens.token(DEMO)
    assert source.fetches == 2
    assert fresh.expires_at == clock.at + 14 * M


async def test_short_credentials_bound_the_end_or_refuse() -> None:
    clock = ManualClock()
    source = Source(clock, lifetime=10 * M)  # every fetch is under the 15-minute floor
    tokens = _tokens(source, clock)
    issued = await tokens.token(DEMO)
    assert issued.expires_at == T0 + 9 * M  # a minute before the credentials
    source.lifetime = timedelta(seconds=50)
    clock.at = T0 + 9 * M  # reuse window over: refetch gives 50-second credentials
    with pytest.raises(AwsUnavailable, match="expire too soon"):
        await tokens.token(DEMO)


async def test_forget_and_unknown_profiles() -> None:
    clock = ManualClock()
    source = Source(clock)
    tokens = _tokens(source, clock)
    first = await tokens.token(DEMO)
    tokens.forget({"dev"})
    source.discard("dev")
    assert (await tokens.token(DEMO)).token != first.token
    with pytest.raises(ProfileNotFound):
        await tokens.token(EksRequest(profile="nope", cluster="demo"))
    assert tokens.region_for(EksRequest(profile="dev", cluster="demo")) == "aws-global"
