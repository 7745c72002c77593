"""Value types the daemon's parts hand each other: role credentials and the clock seam.

Pure and frozen. ``RoleCredentials`` never shows its secrets in ``repr``; ``Clock`` is injected
everywhere time matters, sleeps included, so tests can move time without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


def format_expiration(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``: whole seconds, UTC, ``Z`` (the only form every SDK accepts)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RoleCredentials:
    """Temporary AWS credentials for one role, as served to clients."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime
    account_id: str
    role_arn: str | None = None

    def remaining(self, now: datetime) -> timedelta:
        """How long these credentials stay valid after ``now``."""
        return self.expiration - now

    def ecs_json(self) -> dict[str, str]:
        """The container-credentials response body (protocols.md section 6)."""
        body = {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "Token": self.session_token,
            "Expiration": format_expiration(self.expiration),
            "AccountId": self.account_id,
        }
        if self.role_arn:
            body["RoleArn"] = self.role_arn
        return body


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
