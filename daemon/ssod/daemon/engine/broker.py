"""The credential broker: the only owner of the daemon's mutable state.

It turns an ``AwsConfig`` into sessions (handed to the ``SessionKeeper``) and served profiles,
and answers ``credentials(profile)``: from memory when what it holds has more than the margin
left, otherwise through one shared fetch per profile (single flight: a thousand concurrent
requests for a cold profile make one GetRoleCredentials call). Profiles used recently are
refreshed in the background so requests never wait on AWS. Role credentials live in memory
only. Role chaining (``role_arn`` + ``source_profile``) goes through STS AssumeRole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from ssod.daemon.aws.api import AwsApi, TokenRejected
from ssod.daemon.aws.credentials import RoleCredentials
from ssod.daemon.config.awsconfig import AwsConfig, ChainedProfile, SsoProfile
from ssod.daemon.engine import schedule
from ssod.daemon.engine.model import Clock
from ssod.daemon.engine.schedule import RefreshPolicy
from ssod.daemon.engine.sessions import Notify, SessionKeeper, SessionSpec, SessionState
from ssod.daemon.engine.status import profile_status, session_status
from ssod.daemon.store.cachefiles import CliCacheDir, TokenCacheDir
from ssod.daemon.store.tokencache import format_timestamp, role_cache_key, token_cache_key
from ssod.errors import AwsError, LoginRequired, ProfileNotFound, SessionNotFound, SsodError
from ssod.replies import EngineStatus, SessionLogout

log = logging.getLogger("ssod.broker")

#: When AWS cannot be reached or the session needs a login, credentials with at least this much
#: left are still served (below the margin, but still valid).
LAST_RESORT_FLOOR = timedelta(seconds=30)

Profile = SsoProfile | ChainedProfile


@dataclass
class ServedProfile:
    """One profile's served credentials and their refresh bookkeeping."""

    profile: Profile
    session_key: str
    creds: RoleCredentials | None = None
    issued_at: datetime | None = None
    last_used: datetime | None = None
    last_error: str | None = None
    last_error_code: str | None = None
    fetches: int = 0
    inflight: asyncio.Task[RoleCredentials] | None = None
    refresher: asyncio.Task[None] | None = None
    #: ``(creds, issued_at, schedule.serve_until(...))`` for the creds last asked about: the
    #: ECS hot path compares one datetime instead of redoing the margin arithmetic.
    servable_until: tuple[RoleCredentials, datetime | None, datetime] | None = None


def session_specs(config: AwsConfig) -> dict[str, SessionSpec]:
    """Every session the config describes: each sso-session, and each legacy start URL."""
    specs: dict[str, SessionSpec] = {}
    for session in config.sessions.values():
        key = token_cache_key(session.name)
        specs[key] = SessionSpec(
            key=key,
            name=session.name,
            start_url=session.start_url,
            region=session.region,
            scopes=tuple(session.registration_scopes),
            refreshable=True,
            login_hint=f"ssod login --sso-session {session.name}",
        )
    for profile in config.profiles.values():
        if isinstance(profile, SsoProfile) and profile.sso_session is None:
            key = token_cache_key(profile.start_url)
            specs.setdefault(
                key,
                SessionSpec(
                    key=key,
                    name=profile.start_url,
                    start_url=profile.start_url,
                    region=profile.sso_region,
                    scopes=(),
                    refreshable=False,
                    login_hint=f"ssod login --profile {profile.name}",
                ),
            )
    return specs


def _session_key(config: AwsConfig, name: str) -> str:
    root = config.sso_root(name)
    return token_cache_key(root.token_key_source)


class Broker:
    """Serves role credentials per profile and keeps every session's token fresh."""

    def __init__(
        self,
        aws: AwsApi,
        cache: TokenCacheDir,
        cli_cache: CliCacheDir,
        clock: Clock,
        policy: RefreshPolicy,
        notify: Notify,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._aws = aws
        self._cache = cache
        self._cli_cache = cli_cache
        self._clock = clock
        self._policy = policy
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)
        self.sessions = SessionKeeper(aws, cache, clock, policy, notify, rng=self._rng)
        self._config: AwsConfig | None = None
        self._profiles: dict[str, ServedProfile] = {}

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
                wanted[name] = (profile, _session_key(config, name))
            except SsodError as err:  # a chain not rooted in SSO: reported in config.problems
                log.warning("event=profile_skipped profile=%s error=%r", name, err.message)
        for name in list(self._profiles):
            served = self._profiles[name]
            if wanted.get(name) != (served.profile, served.session_key):
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
        if served.refresher is not None:
            served.refresher.cancel()
            served.refresher = None
        served.creds = None

    async def close(self) -> None:
        """Stop every background task."""
        for served in self._profiles.values():
            self._drop(served)
            if served.inflight is not None:
                served.inflight.cancel()
        await self.sessions.close()
        await asyncio.sleep(0)

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
            self._ensure_refresher(served)
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

    async def _shared_fetch(self, served: ServedProfile) -> RoleCredentials:
        if served.inflight is None:
            task = asyncio.create_task(self._fetch(served), name=f"fetch {served.profile.name}")
            served.inflight = task
            task.add_done_callback(lambda _t: setattr(served, "inflight", None))
        return await asyncio.shield(served.inflight)

    async def _fetch(self, served: ServedProfile) -> RoleCredentials:
        profile = served.profile
        try:
            if isinstance(profile, ChainedProfile):
                creds = await self._assume(profile)
            else:
                creds = await self._role_credentials(profile, served.session_key)
        except SsodError as err:
            served.last_error = err.message
            served.last_error_code = err.code
            raise
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
        self._ensure_refresher(served)
        return creds

    async def _role_credentials(self, profile: SsoProfile, key: str) -> RoleCredentials:
        session = self._session_state(key)
        token = await self.sessions.fresh_token(key)
        region = session.spec.region
        try:
            return await self._aws.get_role_credentials(
                region, token.access_token, profile.account_id, profile.role_name
            )
        except TokenRejected:
            retry = await self.sessions.token_rejected(key, token)
        try:
            return await self._aws.get_role_credentials(
                region, retry.access_token, profile.account_id, profile.role_name
            )
        except TokenRejected:
            await self.sessions.token_rejected(key, retry)
            raise session.login_required_error() from None

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

    def _session_state(self, key: str) -> SessionState:
        state = self.sessions.get(key)
        if state is None:
            raise LoginRequired("the profile's SSO session is not configured")
        return state

    # -- background refresh ----------------------------------------------------------------

    def _ensure_refresher(self, served: ServedProfile) -> None:
        if served.refresher is None or served.refresher.done():
            served.refresher = asyncio.create_task(
                self._refresh_loop(served), name=f"refresh {served.profile.name}"
            )

    async def _refresh_loop(self, served: ServedProfile) -> None:
        """Fetch new credentials before the old fall under the margin, while the profile is used."""
        failures = 0
        while True:
            creds, issued = served.creds, served.issued_at
            if creds is None:
                return
            due = schedule.credential_refresh_at(creds.expiration, issued, self._policy, self._rng)
            if failures:
                due = self._clock.now() + schedule.backoff(failures, self._policy, self._rng)
            now = self._clock.now()
            if due > now:
                await asyncio.sleep(schedule.sleep_for(due, now))
                continue
            last_used = served.last_used
            if last_used is None or now - last_used > self._policy.recent_use:
                log.info("event=refresh_idle_profile_stopped profile=%s", served.profile.name)
                served.refresher = None
                return
            try:
                await self._shared_fetch(served)
                failures = 0
            except LoginRequired:
                served.refresher = None
                return
            except SsodError as err:
                failures += 1
                log.warning(
                    "event=background_refresh_failed profile=%s failures=%d error=%r",
                    served.profile.name,
                    failures,
                    err.message,
                )
            if served.creds is creds and not failures:
                return  # nothing new to schedule from; the next request will restart us

    # -- logout --------------------------------------------------------------------------

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
        return _session_key(config, profile)

    async def logout(self, key: str) -> SessionLogout:
        """Revoke the session's token, delete its cache files and forget its credentials."""
        state = self._session_state(key)
        token = state.token
        revoked = False
        if token is not None and token.expires_at > self._clock.now():
            try:
                await self._aws.logout(state.spec.region, token.access_token)
                revoked = True
            except (TokenRejected, AwsError) as err:
                log.info("event=logout_revoke_failed session=%s error=%s", state.spec.name, err)
        await asyncio.to_thread(self._cache.delete_token, key)
        cli_keys = []
        for served in self._profiles.values():
            if served.session_key != key:
                continue
            self._drop(served)
            served.issued_at = None
            profile = served.profile
            if isinstance(profile, SsoProfile):
                if profile.sso_session is not None:
                    cli_keys.append(
                        role_cache_key(
                            profile.account_id, profile.role_name, session_name=profile.sso_session
                        )
                    )
                else:
                    cli_keys.append(
                        role_cache_key(
                            profile.account_id, profile.role_name, start_url=profile.start_url
                        )
                    )
        removed = await asyncio.to_thread(self._cli_cache.delete_sso_entries, cli_keys)
        self.sessions.forget(key, "logged out")
        log.info("event=logged_out session=%s revoked=%s", state.spec.name, revoked)
        return {"session": state.spec.name, "revoked": revoked, "cli_cache_removed": len(removed)}

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

    async def wait_idle(self) -> None:
        """Let in-flight fetches finish (used at shutdown)."""
        pending = [p.inflight for p in self._profiles.values() if p.inflight is not None]
        if pending:
            with contextlib.suppress(Exception):
                await asyncio.wait(pending, timeout=5)
