"""In-process drivers for the engine: virtual time, a fake of AWS, and a way to let work settle.

``FakeClock`` implements ssod's ``Clock`` seam with virtual time: ``now`` and ``monotonic``
move only when the test moves them, and every ``sleep``/``wait`` of the engine's loops waits for
virtual time to reach its deadline. ``Settler`` knows when the event loop has nothing left to
do before time must move: it follows every job the engine hands to a thread (cache reads and
writes, on the real ``TokenCacheDir``) until its result is back in the loop. ``walk`` and
``walk_until`` then move time from one sleeper's deadline to the next, so hours of token
lifetimes pass in milliseconds, in the order a real clock would give.

``FakeAws`` is a fake of AWS, not of ssod: each operation answers from a queue of replies the
test gives (a value, an exception to raise, a future to wait for first, or a callable that
makes the value when the call comes). A call nobody queued an answer for is recorded in
``unexpected`` and fails with an ``AssertionError``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ssod.daemon.aws.api import (
    Account,
    ClientRegistration,
    DeviceAuthorization,
    EksCluster,
    TokenGrant,
)
from ssod.daemon.aws.credentials import RoleCredentials
from ssod.daemon.config import awsconfig
from ssod.daemon.config.awsconfig import AwsConfig
from ssod.daemon.store.cachefiles import TokenCacheDir
from ssod.daemon.store.tokencache import SsoToken

START = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)


class FakeClock:
    """Virtual time for the ``Clock`` seam; only ``walk``/``walk_until`` move it."""

    def __init__(self, start: datetime = START) -> None:
        self._start = start
        self._elapsed = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self._elapsed + seconds, next(self._seq), done))
        await done  # cancelling the sleeper cancels ``done``; the heap drops it when it surfaces

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        if event.is_set():
            return True
        waiter = asyncio.ensure_future(event.wait())
        timer = asyncio.ensure_future(self.sleep(timeout))
        try:
            await asyncio.wait({waiter, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            timer.cancel()
        return event.is_set()

    def sleepers(self) -> int:
        """How many sleeps are waiting for virtual time."""
        return sum(1 for _, _, done in self._timers if not done.done())

    def _next_deadline(self) -> float | None:
        while self._timers and self._timers[0][2].done():
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def _fire_next(self) -> None:
        when, _, done = heapq.heappop(self._timers)
        self._elapsed = max(self._elapsed, when)
        done.set_result(None)

    def _set(self, elapsed: float) -> None:
        self._elapsed = max(self._elapsed, elapsed)


#: Loop turns that let a chain of ready callbacks run to its end (each await of a done future,
#: queue or lock takes one turn); far more than any chain in the engine.
_TURNS = 100


class Settler:
    """Runs the loop until every task waits on virtual time or on the test.

    Jobs the engine hands to threads (``asyncio.to_thread``: the cache files) are followed
    through the loop's ``run_in_executor``: a job counts as finished once its result has reached
    the loop, so the task awaiting it is ready to run by then.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._jobs: set[asyncio.Future[Any]] = set()
        self._run_in_executor = loop.run_in_executor

        def followed(executor: Any, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
            job = self._run_in_executor(executor, func, *args)
            self._jobs.add(job)
            job.add_done_callback(self._jobs.discard)
            return job

        loop.run_in_executor = followed  # type: ignore[method-assign,assignment]

    def close(self) -> None:
        del self._loop.run_in_executor  # the loop's own method again

    async def settle(self) -> None:
        while True:
            for _ in range(_TURNS):
                await asyncio.sleep(0)
            if not self._jobs:
                return
            await asyncio.wait(list(self._jobs))


@dataclass
class Engine:
    """The test's handle on virtual time and the loop."""

    clock: FakeClock
    settler: Settler

    async def settle(self) -> None:
        await self.settler.settle()

    async def walk(self, span: timedelta) -> None:
        """Move virtual time on by ``span``, waking every sleeper due on the way, in order."""
        target = self.clock.monotonic() + span.total_seconds()
        while True:
            await self.settle()
            due = self.clock._next_deadline()
            if due is None or due > target:
                break
            self.clock._fire_next()
        self.clock._set(target)
        await self.settle()

    async def walk_until(self, done: Callable[[], bool], limit: timedelta) -> None:
        """Move virtual time on, sleeper by sleeper, until ``done()``; fail after ``limit``."""
        target = self.clock.monotonic() + limit.total_seconds()
        while True:
            await self.settle()
            if done():
                return
            due = self.clock._next_deadline()
            if due is None or due > target:
                raise AssertionError(f"not done within {limit} of virtual time")
            self.clock._fire_next()


class Notes:
    """Desktop notifications the engine sent (the notifier is a host part, not the engine)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def __call__(self, title: str, body: str) -> None:
        self.sent.append((title, body))


Reply = Any


class FakeAws:
    """A fake of AWS for the ``AwsApi`` seam, answering each call from a queue."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.unexpected: list[str] = []
        self._replies: dict[str, deque[Reply]] = defaultdict(deque)
        self._serial = itertools.count(1)

    def queue(self, operation: str, *replies: Reply) -> None:
        """Answer the next calls of ``operation`` with ``replies``, in order."""
        self._replies[operation].extend(replies)

    def count(self, operation: str) -> int:
        return sum(1 for name, _ in self.calls if name == operation)

    def args(self, operation: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == operation]

    def at(self, operation: str) -> list[datetime]:
        """When each call of ``operation`` came, in virtual time."""
        return [args["at"] for name, args in self.calls if name == operation]

    async def _answer(self, operation: str, **args: Any) -> Any:
        self.calls.append((operation, {**args, "at": self.clock.now()}))
        queued = self._replies[operation]
        if not queued:
            self.unexpected.append(operation)
            raise AssertionError(f"unexpected AWS call: {operation}")
        reply = queued.popleft()
        if isinstance(reply, asyncio.Future):
            reply = await reply
        if isinstance(reply, BaseException):
            raise reply
        if callable(reply):
            reply = reply()
        return reply

    # -- the AwsApi operations --------------------------------------------------------------

    async def register_client(
        self,
        region: str,
        client_name: str,
        scopes: Sequence[str] | None,
        *,
        grant_types: Sequence[str] | None = None,
        redirect_uris: Sequence[str] | None = None,
        issuer_url: str | None = None,
    ) -> ClientRegistration:
        reply: ClientRegistration = await self._answer(
            "register_client", region=region, client_name=client_name, scopes=scopes
        )
        return reply

    async def start_device_authorization(
        self, region: str, client_id: str, client_secret: str, start_url: str
    ) -> DeviceAuthorization:
        reply: DeviceAuthorization = await self._answer(
            "start_device_authorization", region=region, client_id=client_id, start_url=start_url
        )
        return reply

    async def create_token(self, region: str, **params: str) -> TokenGrant:
        reply: TokenGrant = await self._answer("create_token", region=region, **params)
        return reply

    async def get_role_credentials(
        self, region: str, access_token: str, account_id: str, role_name: str
    ) -> RoleCredentials:
        reply: RoleCredentials = await self._answer(
            "get_role_credentials",
            region=region,
            access_token=access_token,
            account_id=account_id,
            role_name=role_name,
        )
        return reply

    async def list_accounts(self, region: str, access_token: str) -> list[Account]:
        reply: list[Account] = await self._answer(
            "list_accounts", region=region, access_token=access_token
        )
        return reply

    async def list_account_roles(
        self, region: str, access_token: str, account_id: str
    ) -> list[str]:
        reply: list[str] = await self._answer(
            "list_account_roles", region=region, access_token=access_token, account_id=account_id
        )
        return reply

    async def logout(self, region: str, access_token: str) -> None:
        await self._answer("logout", region=region, access_token=access_token)

    async def assume_role(
        self,
        source: RoleCredentials,
        region: str,
        role_arn: str,
        session_name: str,
        *,
        duration_seconds: int | None = None,
        external_id: str | None = None,
    ) -> RoleCredentials:
        reply: RoleCredentials = await self._answer(
            "assume_role", region=region, role_arn=role_arn, source=source.access_key_id
        )
        return reply

    async def describe_cluster(self, source: RoleCredentials, region: str, name: str) -> EksCluster:
        reply: EksCluster = await self._answer(
            "describe_cluster", region=region, name=name, source=source.access_key_id
        )
        return reply

    def oidc_endpoint(self, region: str) -> str:
        return f"https://oidc.{region}.amazonaws.com"

    async def has_oidc_endpoint(self, region: str) -> bool:
        reply: bool = await self._answer("has_oidc_endpoint", region=region)
        return reply

    async def close(self) -> None:
        pass

    # -- replies -------------------------------------------------------------------------

    def creds(
        self, account_id: str = "111111111111", lifetime: timedelta = timedelta(hours=1)
    ) -> Callable[[], RoleCredentials]:
        """A reply factory: role credentials issued at the moment of the call."""

        def make() -> RoleCredentials:
            n = next(self._serial)
            return RoleCredentials(
                access_key_id=f"ASIA{account_id}{n:04d}",
                secret_access_key=f"secret-{n}",
                session_token=f"session-{n}",
                expiration=self.clock.now() + lifetime,
                account_id=account_id,
            )

        return make


def grant(access_token: str, *, seconds: int = 3600, refresh: str | None = None) -> TokenGrant:
    """A CreateToken answer."""
    return TokenGrant(access_token=access_token, expires_in=seconds, refresh_token=refresh)


CONFIG = """\
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Dev
region = eu-west-1

[profile prod]
sso_session = corp
sso_account_id = 222222222222
sso_role_name = Admin
region = eu-west-1
"""


def load_config(home: Path, text: str = CONFIG, name: str = "config") -> AwsConfig:
    """``text`` parsed as the real daemon parses ~/.aws/config."""
    path = home / name
    path.write_text(text)
    return awsconfig.load(path)


def seed_token(
    cache: TokenCacheDir,
    key: str,
    clock: FakeClock,
    *,
    left: timedelta,
    access_token: str = "access-1",
    refresh_token: str | None = "refresh-1",
) -> SsoToken:
    """Write a token to the real cache as ``aws sso login`` would, expiring ``left`` from now."""
    token = SsoToken(
        start_url="https://corp.awsapps.com/start",
        region="us-east-1",
        access_token=access_token,
        expires_at=clock.now() + left,
        client_id="client-1",
        client_secret="client-secret-1",
        registration_expires_at=clock.now() + timedelta(days=80),
        refresh_token=refresh_token,
    )
    cache.write_token(key, token)
    return token
