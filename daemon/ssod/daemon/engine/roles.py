"""The accounts and roles a signed-in session can use, listed through the SSO portal.

What ``ssod configure`` and ``ssod roles`` show: the accounts (ListAccounts), one account's
roles (ListAccountRoles) or every account with its roles, asked with the session's token under
the sessions' one rule for a token the portal rejects (``SessionKeeper.with_token``); the calls
are paced by ``listing`` (a few at a time, pausing when throttled).
"""

from __future__ import annotations

from dataclasses import dataclass

from ssod.daemon.aws.api import AwsApi
from ssod.daemon.engine.listing import PacedListing
from ssod.daemon.engine.model import Clock, SystemClock
from ssod.daemon.engine.sessions import SessionKeeper, SessionSpec
from ssod.errors import LoginRequired
from ssod.replies import AccountRoles


@dataclass(frozen=True)
class RoleListing:
    """A session's accounts, each with its role names in the portal's order (the client sorts
    both with the AWS CLI's keys)."""

    spec: SessionSpec
    accounts: list[AccountRoles]


class RoleLister:
    """Lists accounts and roles for configured sessions."""

    def __init__(self, aws: AwsApi, sessions: SessionKeeper, clock: Clock | None = None) -> None:
        self._aws = aws
        self._sessions = sessions
        self._clock = clock or SystemClock()

    async def list(
        self, key: str, *, accounts_only: bool = False, account_id: str | None = None
    ) -> RoleListing:
        """The accounts session ``key`` can use with their roles; ``accounts_only``: without
        roles (ListAccounts only); ``account_id``: that account's roles only (its name and
        email are not looked up), as ``aws configure sso`` asks."""
        state = self._sessions.get(key)
        if state is None:
            raise LoginRequired("that session is not configured")
        region = state.spec.region

        async def listed(access_token: str) -> list[AccountRoles]:
            paced = PacedListing(self._aws, region, access_token, self._clock)
            if account_id is not None:
                roles = await paced.roles_of(account_id)
                return [{"account_id": account_id, "account_name": "", "email": "", "roles": roles}]
            if accounts_only:
                return await paced.accounts()
            return await paced.everything()

        return RoleListing(spec=state.spec, accounts=await self._sessions.with_token(key, listed))
