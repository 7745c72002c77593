"""Logging out: revoke a session's token, delete its cache files, forget what it served.

A logout ends any login flow running for the session, revokes the token at the portal (while
it is still valid; a refusal is logged, not fatal), deletes the session's token file and the
AWS CLI cache entries of its profiles' role credentials (as ``aws sso logout`` does), and
leaves the session login-required. The EKS tokens and role credentials its profiles signed with
are dropped too.
"""

from __future__ import annotations

import asyncio
import logging

from ssod.daemon.aws.api import AwsApi, TokenRejected
from ssod.daemon.config.awsconfig import SsoProfile
from ssod.daemon.engine.broker import Broker
from ssod.daemon.engine.ekstokens import EksTokens
from ssod.daemon.engine.login import LoginManager
from ssod.daemon.engine.model import Clock
from ssod.daemon.engine.served import Profile
from ssod.daemon.store.cachefiles import CliCacheDir
from ssod.daemon.store.tokencache import role_cache_key
from ssod.daemon.store.tokenstore import TokenStore
from ssod.errors import AwsError
from ssod.replies import SessionLogout

log = logging.getLogger("ssod.broker")


def cli_cache_keys(profiles: list[Profile]) -> list[str]:
    """The AWS CLI cache keys of the role credentials of ``profiles`` (chained ones have none)."""
    keys = []
    for profile in profiles:
        if not isinstance(profile, SsoProfile):
            continue
        if profile.sso_session is not None:
            keys.append(
                role_cache_key(
                    profile.account_id, profile.role_name, session_name=profile.sso_session
                )
            )
        else:
            keys.append(
                role_cache_key(profile.account_id, profile.role_name, start_url=profile.start_url)
            )
    return keys


class Logout:
    """Logs sessions out, one or all."""

    def __init__(
        self,
        aws: AwsApi,
        cache: TokenStore,
        cli_cache: CliCacheDir,
        broker: Broker,
        logins: LoginManager,
        clock: Clock,
        *,
        eks: EksTokens | None = None,
    ) -> None:
        self._aws = aws
        self._cache = cache
        self._cli_cache = cli_cache
        self._broker = broker
        self._logins = logins
        self._clock = clock
        self._eks = eks

    async def log_out(self, key: str | None) -> list[SessionLogout]:
        """Log out session ``key``, or every configured session for None; one result each."""
        sessions = self._broker.sessions
        keys = [key] if key is not None else [s.spec.key for s in sessions.sessions()]
        results = []
        for each in keys:
            self._logins.cancel(each)
            results.append(await self._one(each))
        return results

    async def _one(self, key: str) -> SessionLogout:
        """Revoke the session's token, delete its cache files and forget its credentials."""
        state = self._broker.session_state(key)
        token = state.token
        revoked = False
        if token is not None and token.expires_at > self._clock.now():
            try:
                await self._aws.logout(state.spec.region, token.access_token)
                revoked = True
            except (TokenRejected, AwsError) as err:
                log.info("event=logout_revoke_failed session=%s error=%s", state.spec.name, err)
        await asyncio.to_thread(self._cache.delete_token, key)
        dropped = self._broker.forget_session(key)
        if self._eks is not None:
            self._eks.forget({profile.name for profile in dropped})
        cli_keys = cli_cache_keys(dropped)
        removed = await asyncio.to_thread(self._cli_cache.delete_sso_entries, cli_keys)
        self._broker.sessions.forget(key, "logged out")
        log.info("event=logged_out session=%s revoked=%s", state.spec.name, revoked)
        return {"session": state.spec.name, "revoked": revoked, "cli_cache_removed": len(removed)}
