"""The credential broker: serves role credentials per profile, from memory or one shared fetch.

It turns an ``AwsConfig`` into sessions (``specs.session_specs``, handed to the
``SessionKeeper``) and served profiles (``served.ServedProfile``), and answers
``credentials(profile)``: from memory when what it holds has more than the margin left,
otherwise through one shared fetch per profile (single flight: a thousand concurrent requests
for a cold profile make one GetRoleCredentials call). Profiles used recently are refreshed in
the background (``refresher.CredentialRefresher``) so requests never wait on AWS. Role
credentials live in memory only. Role chaining (``role_arn`` + ``source_profile``) goes through
STS AssumeRole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import timedelta

from ssod.daemon.aws.api import AwsApi
from ssod.daemon.aws.credentials import RoleCredentials
from ssod.daemon.config.awsconfig import AwsConfig, ChainedProfile, SsoProfile
from ssod.daemon.engine import schedule
from ssod.daemon.engine.model import Clock
from ssod.daemon.engine.refresher import CredentialRefresher
from ssod.daemon.engine.schedule import RefreshPolicy
from ssod.daemon.engine.served import Profile, ServedProfile
from ssod.daemon.engine.sessions import Notify, SessionKeeper, SessionState
from ssod.daemon.engine.specs import session_key, session_specs
from ssod.daemon.engine.status import profile_status, session_status
from ssod.daemon.store.tokencache import format_timestamp, token_cache_key
from ssod.daemon.store.tokenstore import TokenStore
from ssod.errors import AwsError, LoginRequired, ProfileNotFound, SessionNotFound, SsodError
from ssod.replies import EngineStatus

log = logging.getLogger("ssod.broker")

#: When AWS cannot be reached or the session needs a login, credentials with at least this much
#: left are still served (below the margin, but still valid).
LAST_RESORT_FLOOR = timedelta(seconds=30)


class Broker:
    """Serves role credentials per profile and keeps every session's token fresh."""

    def __init__(
        self,
        aws: AwsApi,
        cache: TokenStore,
        clock: Clock,
        policy: RefreshPolicy,
        notify: Notify,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._aws = aws
        self._clock = clock
        self._policy = policy
        rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)
        self.sessions = SessionKeeper(aws, cache, clock, policy, notify, rng=rng)
        self._refresher = CredentialRefresher(self._shared_fetch, clock, policy, rng)
        self._config: AwsConfig | None = None
        self._profiles: dict[str, ServedProfile] = {}
        #: Every fetch in flight, those of profiles since retired included.
        self._fetches: set[asyncio.Task[RoleCredentials]] = set()

    @property
    def config(self) -> AwsConfig | None:
        """The configuration in service."""
        return self._config

    # -- configuration -------------------------------------------------------------------

    async def apply(self, config: AwsConfig) -> None:
        """Serve ``config``: new profiles served, removed ones dropped, changed ones refetched."""
        await self.sessions.apply(session_specs(config))
        wanted: dict[str, tuple[Profile, str]] = {}
        for name, profile in config.profiles.items():
            try:
                wanted[name] = (profile, session_key(config, name))
            except SsodError as err:  # a chain not rooted in SSO: reported in config.problems
                log.warning("event=profile_skipped profile=%s error=%r", name, err.message)
        for name in list(self._profiles):
            served = self._profiles[name]
            if wanted.get(name) != (served.profile, served.session_key):
                served.retired = True
                self._drop(served)
                del self._profiles[name]
        for name, (profile, key) in wanted.items():
            self._profiles.setdefault(name, ServedProfile(profile=profile, session_key=key))
        self._config = config
        log.info(
            "event=config_applied profiles=%d sessions=%d problems=%d",
            len(self._profiles),
            len(self.sessions.sessions()),
            len(config.problems),
        )

    def _drop(self, served: ServedProfile) -> None:
        self._refresher.stop(served)
        served.creds = None
        served.epoch += 1

    async def close(self) -> None:
        """Stop every background task: refreshes, fetches, session keepers."""
        for served in self._profiles.values():
            served.retired = True
            self._drop(served)
        for task in list(self._fetches):
            task.cancel()
        await self._refresher.close()
        await self.sessions.close()
        if self._fetches:
            await asyncio.wait(list(self._fetches))

    async def wait_idle(self) -> None:
        """Let in-flight fetches finish (used at shutdown)."""
        if self._fetches:
            with contextlib.suppress(Exception):
                await asyncio.wait(list(self._fetches), timeout=5)

    # -- serving -------------------------------------------------------------------------

    def _served(self, name: str) -> ServedProfile:
        served = self._profiles.get(name)
        if served is not None:
            return served
        if self._config is not None:
            self._config.profile(name)  # raises the precise error: invalid, unserved, unknown
        raise ProfileNotFound(f"no SSO profile named {name!r} is configured")

    def check_served(self, name: str) -> None:
        """Raise the precise error if profile ``name`` is not served (invalid, unknown...)."""
        self._served(name)

    def held(self, name: str) -> RoleCredentials | None:
        """Credentials for ``name`` held in memory with more than the margin left, or None."""
        served = self._profiles.get(name)
        if served is None:
            return None
        creds, issued = served.creds, served.issued_at
        if creds is None:
            return None
        until = served.servable_until
        if until is None or until[0] is not creds or until[1] is not issued:
            limit = schedule.serve_until(creds.expiration, issued, self._policy)
            until = served.servable_until = (creds, issued, limit)
        now = self._clock.now()
        if now < until[2]:
            served.last_used = now
            self._refresher.ensure(served)
            return creds
        return None

    async def credentials(self, name: str) -> RoleCredentials:
        """Credentials for profile ``name`` with more than the margin left (single flight)."""
        held = self.held(name)
        if held is not None:
            return held
        served = self._served(name)
        served.last_used = self._clock.now()
        try:
            return await self._shared_fetch(served)
        except (AwsError, LoginRequired):
            # AWS is down or the session needs a login: what is still valid keeps being served.
            fallback = served.creds
            if fallback is not None and fallback.remaining(self._clock.now()) > LAST_RESORT_FLOOR:
                return fallback
            raise

    def discard(self, name: str) -> None:
        """Forget the credentials held for ``name`` (AWS refused them): the next request fetches."""
        served = self._profiles.get(name)
        if served is not None and served.inflight is None:
            served.creds = None
            served.issued_at = None

    def forget_session(self, key: str) -> list[Profile]:
        """After a logout: drop the credentials of every profile of session ``key``.

        Returns those profiles (their CLI cache entries are the logout's to delete).
        """
        dropped = []
        for served in self._profiles.values():
            if served.session_key == key:
                self._drop(served)
                served.issued_at = None
                dropped.append(served.profile)
        return dropped

    async def _shared_fetch(self, served: ServedProfile) -> RoleCredentials:
        if served.inflight is None:
            task = asyncio.create_task(self._fetch(served), name=f"fetch {served.profile.name}")
            served.inflight = task
            self._fetches.add(task)
            task.add_done_callback(self._fetches.discard)
            task.add_done_callback(lambda _t: setattr(served, "inflight", None))
        return await asyncio.shield(served.inflight)

    async def _fetch(self, served: ServedProfile) -> RoleCredentials:
        profile = served.profile
        epoch = served.epoch
        try:
            if isinstance(profile, ChainedProfile):
                creds = await self._assume(profile)
            else:
                creds = await self._role_credentials(profile, served.session_key)
        except SsodError as err:
            if served.epoch == epoch:
                served.last_error = err.message
                served.last_error_code = err.code
            raise
        if served.epoch != epoch:
            # Dropped meanwhile (logged out, removed from the config): answer who asked before,
            # but keep nothing, or a logout would be followed by an hour of its credentials.
            return creds
        served.creds = creds
        served.issued_at = self._clock.now()
        served.fetches += 1
        served.last_error = served.last_error_code = None
        log.info(
            "event=credentials_fetched profile=%s account=%s expires_at=%s",
            profile.name,
            creds.account_id,
            format_timestamp(creds.expiration),
        )
        self._refresher.ensure(served)
        return creds

    async def _role_credentials(self, profile: SsoProfile, key: str) -> RoleCredentials:
        region = self.session_state(key).spec.region

        async def fetch(access_token: str) -> RoleCredentials:
            return await self._aws.get_role_credentials(
                region, access_token, profile.account_id, profile.role_name
            )

        return await self.sessions.with_token(key, fetch)

    async def _assume(self, profile: ChainedProfile) -> RoleCredentials:
        source = await self.credentials(profile.source_profile)
        assert self._config is not None
        root = self._config.sso_root(profile.name)
        region = profile.region or root.region or root.sso_region
        session_name = (
            profile.role_session_name or f"ssod-session-{int(self._clock.now().timestamp())}"
        )
        return await self._aws.assume_role(
            source,
            region,
            profile.role_arn,
            session_name,
            duration_seconds=profile.duration_seconds,
            external_id=profile.external_id,
        )

    # -- sessions by name ------------------------------------------------------------------

    def session_key_for(self, *, sso_session: str | None = None, profile: str | None = None) -> str:
        """The token-cache key of a session named directly or through a profile."""
        config = self._config
        if config is None:
            raise SessionNotFound("no configuration loaded")
        if sso_session is not None:
            if sso_session not in config.sessions:
                raise SessionNotFound(f"no sso-session named {sso_session!r} in {config.path}")
            return token_cache_key(sso_session)
        if profile is None:
            raise SessionNotFound("name an sso-session or a profile")
        self._served(profile)
        return session_key(config, profile)

    def session_state(self, key: str) -> SessionState:
        """The configured session ``key``; LoginRequired if there is none."""
        state = self.sessions.get(key)
        if state is None:
            raise LoginRequired("the profile's SSO session is not configured")
        return state

    # -- status --------------------------------------------------------------------------

    def status(self) -> EngineStatus:
        """A snapshot with stable keys, free of secrets."""
        now = self._clock.now()
        config = self._config
        return {
            "sessions": [session_status(s, now) for s in self.sessions.sessions()],
            "profiles": [
                profile_status(p, self.sessions.get(p.session_key), config, now)
                for p in self._profiles.values()
            ],
            "problems": [p.message for p in (config.problems if config else ())],
        }
