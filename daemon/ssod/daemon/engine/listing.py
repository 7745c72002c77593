"""Listing the accounts and roles a session can use: as few portal calls as the question needs.

Three questions, three costs (``Op.ROLES``): the accounts alone (ListAccounts, all pages: the
wizard's account menu), one account's roles (one ListAccountRoles: the role menu, as
``aws configure sso`` asks only for the chosen account), or every account with its roles
(``ssod roles``: one ListAccountRoles per account). The last runs ``ListingPolicy.concurrency``
calls at a time and honours throttling: when the portal throttles a call, the whole listing
pauses (exponential backoff with jitter, ``schedule.backoff``) before that call is tried again,
so hundreds of accounts do not keep hammering a portal that said to slow down. Roles keep the
portal's order; the client sorts them with the AWS CLI's keys (``ssod.client.output.order``).
``TokenRejected`` and every other error reach the caller unchanged.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ssod.daemon.aws.api import Account, AwsApi, PortalThrottled
from ssod.daemon.engine.model import Clock
from ssod.daemon.engine.schedule import ListingPolicy, backoff
from ssod.errors import AwsUnavailable
from ssod.replies import AccountRoles

T = TypeVar("T")


def account_entry(account: Account, roles: list[str] | None) -> AccountRoles:
    """One account as the roles reply carries it (``roles`` left out when not asked for)."""
    entry: AccountRoles = {
        "account_id": account.account_id,
        "account_name": account.name,
        "email": account.email,
    }
    if roles is not None:
        entry["roles"] = roles
    return entry


class PacedListing:
    """Portal calls for one session's token, in one region: a few at a time, paused when
    throttled."""

    def __init__(
        self,
        aws: AwsApi,
        region: str,
        access_token: str,
        clock: Clock,
        policy: ListingPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._aws = aws
        self._clock = clock
        self._region = region
        self._token = access_token
        self._policy = policy or ListingPolicy()
        self._rng = rng
        self._slots = asyncio.Semaphore(self._policy.concurrency)
        self._resume_at = 0.0  # monotonic time before which no call starts (after a throttle)

    async def accounts(self) -> list[AccountRoles]:
        """Every account, without roles (ListAccounts only)."""
        return [account_entry(a, None) for a in await self._list_accounts()]

    async def roles_of(self, account_id: str) -> list[str]:
        """One account's role names (ListAccountRoles only)."""
        return await self._call(
            "ListAccountRoles",
            lambda: self._aws.list_account_roles(self._region, self._token, account_id),
        )

    async def everything(self) -> list[AccountRoles]:
        """Every account with its roles, ``concurrency`` ListAccountRoles calls at a time."""
        listed = await self._list_accounts()
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self.roles_of(a.account_id)) for a in listed]
        except BaseExceptionGroup as grouped:
            raise _first(grouped) from None
        return [account_entry(a, t.result()) for a, t in zip(listed, tasks, strict=True)]

    async def _list_accounts(self) -> list[Account]:
        return await self._call(
            "ListAccounts", lambda: self._aws.list_accounts(self._region, self._token)
        )

    async def _call(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        throttled = 0
        while True:
            async with self._slots:
                await self._paused()
                try:
                    return await call()
                except PortalThrottled:
                    throttled += 1
                    if throttled >= self._policy.attempts:
                        raise AwsUnavailable(
                            f"IAM Identity Center kept throttling {operation} "
                            f"(TooManyRequestsException, {throttled} tries)"
                        ) from None
                    pause = backoff(throttled, self._policy, self._rng).total_seconds()
                    self._resume_at = max(self._resume_at, self._clock.monotonic() + pause)

    async def _paused(self) -> None:
        while (wait := self._resume_at - self._clock.monotonic()) > 0:
            await self._clock.sleep(wait)


def _first(grouped: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real error of a task group (cancellations of the others come after it)."""
    for err in grouped.exceptions:
        if isinstance(err, BaseExceptionGroup):
            return _first(err)
        if not isinstance(err, asyncio.CancelledError):
            return err
    return grouped.exceptions[0]
