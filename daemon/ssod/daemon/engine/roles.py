"""The accounts and roles a signed-in session can use, listed through the SSO portal.

What ``ssod configure`` and ``ssod roles`` show: every account (ListAccounts) with its roles
(ListAccountRoles), asked with the session's token under the sessions' one rule for a token
the portal rejects (``SessionKeeper.with_token``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ssod.daemon.aws.api import AwsApi
from ssod.daemon.engine.sessions import SessionKeeper, SessionSpec
from ssod.errors import LoginRequired
from ssod.replies import AccountRoles


@dataclass(frozen=True)
class RoleListing:
    """A session's accounts, each with its sorted role names."""

    spec: SessionSpec
    accounts: list[AccountRoles]


class RoleLister:
    """Lists accounts and roles for configured sessions."""

    def __init__(self, aws: AwsApi, sessions: SessionKeeper) -> None:
        self._aws = aws
        self._sessions = sessions

    async def list(self, key: str) -> RoleListing:
        """Every account session ``key`` can use, with its roles."""
        state = self._sessions.get(key)
        if state is None:
            raise LoginRequired("that session is not configured")
        region = state.spec.region

        async def listed(access_token: str) -> list[AccountRoles]:
            accounts: list[AccountRoles] = []
            for account in await self._aws.list_accounts(region, access_token):
                roles = await self._aws.list_account_roles(region, access_token, account.account_id)
                accounts.append(
                    {
                        "account_id": account.account_id,
                        "account_name": account.name,
                        "email": account.email,
                        "roles": sorted(roles),
                    }
                )
            return accounts

        return RoleListing(spec=state.spec, accounts=await self._sessions.with_token(key, listed))
