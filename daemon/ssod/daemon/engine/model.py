"""The engine's seams: the clock and what the transports need from the broker.

``Clock`` is injected everywhere time matters so tests can move time without sleeping;
``CredentialProvider`` is all the ECS, IMDS and IPC servers know of the broker. The credentials
value itself is ``ssod.daemon.aws.credentials.RoleCredentials`` (what AWS hands back).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

from ssod.daemon.aws.credentials import RoleCredentials


class Clock(Protocol):
    """Wall-clock time (aware UTC) and a monotonic clock, injectable for tests."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


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
