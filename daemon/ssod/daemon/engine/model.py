"""The engine's seams: the clock and what the transports need from the broker.

``Clock`` is injected everywhere time matters, sleeps included, so tests can move time without
sleeping; ``CredentialProvider`` is all the ECS, IMDS and IPC servers know of the broker. The
credentials value itself is ``ssod.daemon.aws.credentials.RoleCredentials`` (what AWS hands back).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import Protocol

from ssod.daemon.aws.credentials import RoleCredentials


class Clock(Protocol):
    """Wall-clock time (aware UTC), a monotonic clock, and sleeping; injectable for tests.

    Every wait the engine's loops make goes through ``sleep`` or ``wait``, so a test clock can
    walk hours of token lifetimes without the test sleeping.
    """

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None:
        """Return after ``seconds`` (at once for zero or less, after yielding to the loop)."""
        ...

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        """Wait for ``event`` at most ``timeout`` seconds; whether it is set."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return event.is_set()


class CredentialProvider(Protocol):
    """What the ECS endpoint and IPC need from the broker to serve credentials."""

    def held(self, profile: str) -> RoleCredentials | None:
        """Credentials for ``profile`` already in memory with more than the margin left, or None.

        Synchronous and free of AWS calls: the hot path answers from it without a Task.
        """
        ...

    async def credentials(self, profile: str) -> RoleCredentials:
        """Fresh credentials for ``profile``; raises ProfileNotFound, LoginRequired, AwsError."""
        ...
