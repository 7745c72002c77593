"""SSO sessions: each sso-session's (or legacy start URL's) token, kept fresh ahead of expiry.

The keeper owns one ``SessionState`` per token-cache key and one refresh task per session. It
reads and writes the AWS CLI's token cache, so a token written by ``aws sso login`` or an SDK
is picked up, and what ssod refreshes serves them too. It never lets a token drift into
botocore's own refresh window: refresh happens at ``schedule.token_refresh_plan``, which gets
the token's lifetime only when ssod obtained the token itself (a token read from the cache has
an unknown lifetime and the full margin). A session that cannot be refreshed becomes
login-required, keeps serving what is still valid, and says so once (log event and desktop
notification).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

from ssod.daemon.aws.api import AwsApi, OidcProblem, TokenRejected
from ssod.daemon.engine import schedule
from ssod.daemon.engine.model import Clock
from ssod.daemon.engine.schedule import RefreshPolicy
from ssod.daemon.store.tokencache import SsoToken, format_timestamp
from ssod.daemon.store.tokenstore import TokenStore
from ssod.errors import (
    AwsUnavailable,
    CacheError,
    KeyringError,
    LoginRequired,
    TokenCacheError,
)

log = logging.getLogger("ssod.sessions")

#: OAuth errors after which the refresh token will never work again.
_FATAL_REFRESH = frozenset(
    {"invalid_grant", "invalid_client", "unauthorized_client", "access_denied"}
)

#: Pauses between re-reads of the cache after the refresh token was refused: a process that
#: won the race to rotate it writes its new token milliseconds after AWS answered (a few
#: hundred on a loaded machine). Half a second in all, so a real revocation is still reported
#: within the ECS endpoint's one-second answer limit.
_ROTATION_REREADS = (0.05, 0.15, 0.3)

Notify = Callable[[str, str], None]

T = TypeVar("T")


@dataclass(frozen=True)
class SessionSpec:
    """One session as the config describes it."""

    key: str  # token cache key: SHA-1 of the sso-session name, or of the legacy start URL
    name: str  # the sso-session name, or the legacy start URL
    start_url: str
    region: str
    scopes: tuple[str, ...]
    refreshable: bool  # the sso-session form; legacy tokens cannot be refreshed
    login_hint: str  # the command that logs this session in


@dataclass
class SessionState:
    """What the keeper knows about one session. Mutated only by the keeper."""

    spec: SessionSpec
    token: SsoToken | None = None
    #: The lifetime ssod saw in its own CreateToken answer for ``token``; None when the token
    #: came from the cache (another tool, or an earlier run), whose lifetime is unknown.
    lifetime: timedelta | None = None
    login_required: str | None = None
    last_refresh: datetime | None = None
    next_refresh: datetime | None = None
    #: Why ``next_refresh`` is when it is, for ``ssod status``.
    refresh_why: str | None = None
    last_error: str | None = None
    cache_error: str | None = None  # why the token file could not be read, until it can be
    #: Why our token could not be written to the cache file (other tools read an older one
    #: meanwhile), until a write succeeds.
    write_error: str | None = None
    #: Why the session's secrets cannot be reached in the token store ("the keyring is locked").
    secrets_error: str | None = None
    failures: int = 0
    notified: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def login_required_error(self, reason: str | None = None) -> LoginRequired:
        """The error clients get while this session has no usable token."""
        unreadable = self.cache_error and f"its token file cannot be read: {self.cache_error}"
        why = reason or self.login_required or unreadable or "not logged in"
        if self.secrets_error:
            why = f"{why}; {self.secrets_error}"
        kind = "sso-session" if self.spec.refreshable else "SSO start URL"
        return LoginRequired(
            f"{kind} {self.spec.name} needs a login ({why}): run `{self.spec.login_hint}`"
        )


class SessionKeeper:
    """Loads, refreshes and hands out SSO tokens, one refresh task per session."""

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
        self._cache = cache
        self._clock = clock
        self._policy = policy
        self._notify = notify
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)
        self._sessions: dict[str, SessionState] = {}

    # -- configuration -------------------------------------------------------------------

    async def apply(self, specs: Mapping[str, SessionSpec]) -> None:
        """Start sessions that are new or changed, stop those that are gone."""
        for key in list(self._sessions):
            state = self._sessions[key]
            if specs.get(key) != state.spec:
                await self._stop(state)
                del self._sessions[key]
        for key, spec in specs.items():
            if key not in self._sessions:
                state = SessionState(spec=spec)
                self._sessions[key] = state
                await self._load(state)
                state.task = asyncio.create_task(self._run(state), name=f"session {spec.name}")

    def sessions(self) -> list[SessionState]:
        """Every session, in configuration order."""
        return list(self._sessions.values())

    def get(self, key: str) -> SessionState | None:
        """The session with this token-cache key, if configured."""
        return self._sessions.get(key)

    async def close(self) -> None:
        """Stop every refresh task (in-flight cache writes finish first: they hold the lock)."""
        for state in self._sessions.values():
            await self._stop(state)

    async def _stop(self, state: SessionState) -> None:
        if state.task is None:
            return
        async with state.lock:  # never cancel in the middle of a refresh and its cache write
            state.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await state.task
        state.task = None

    # -- serving -------------------------------------------------------------------------

    def usable_token(self, key: str) -> SsoToken:
        """The session's token if it is still valid now; otherwise LoginRequired."""
        state = self._sessions[key]
        token = state.token
        if token is None or token.expires_at <= self._clock.now():
            raise state.login_required_error(
                None if token is None or state.login_required else "token expired"
            )
        return token

    async def fresh_token(self, key: str) -> SsoToken:
        """A valid token, refreshing at once one that expired (say, while the laptop slept)."""
        state = self._sessions[key]
        token = state.token
        if token is not None and token.expires_at <= self._clock.now():
            async with state.lock:
                if state.token is token and self._can_refresh(state, token, self._clock.now()):
                    await self._refresh_locked(state, reason="token expired before refresh")
            state.wake.set()
            current, now = state.token, self._clock.now()
            if (
                current is not None
                and current.expires_at <= now
                and self._can_refresh(state, current, now)
            ):
                # The refresh failed (AWS unreachable) but the login is fine: a retryable error,
                # not a login prompt the user would answer for nothing.
                raise AwsUnavailable(
                    f"the token of sso-session {state.spec.name} expired and could not be "
                    f"refreshed yet ({state.last_error or 'AWS unreachable'})"
                )
        return self.usable_token(key)

    async def with_token(self, key: str, call: Callable[[str], Awaitable[T]]) -> T:
        """``call(access_token)`` with the session's token: the one rule for a rejected token.

        The portal may refuse a token before its expiry (a logout elsewhere): the token is then
        refreshed once and the call retried; a second refusal means a login is needed.
        """
        state = self._sessions[key]
        token = await self.fresh_token(key)
        try:
            return await call(token.access_token)
        except TokenRejected:
            retry = await self.token_rejected(key, token)
        try:
            return await call(retry.access_token)
        except TokenRejected:
            await self.token_rejected(key, retry)
            raise state.login_required_error() from None

    async def token_rejected(self, key: str, token: SsoToken) -> SsoToken:
        """The portal refused ``token`` before its expiry: refresh at once or require a login.

        Returns a new token to retry with, or raises LoginRequired.
        """
        state = self._sessions[key]
        async with state.lock:
            current = state.token
            if current is not None and current.access_token != token.access_token:
                return current  # someone already replaced it
            if state.spec.refreshable and token.refresh_token:
                await self._refresh_locked(state, reason="token rejected by the portal")
                if state.token is not None and state.token.access_token != token.access_token:
                    return state.token
            self._require_login(state, "the portal rejected the token")
        raise state.login_required_error()

    # -- events from outside ---------------------------------------------------------------

    def cache_changed(self, key: str) -> None:
        """The token file for ``key`` changed on disk (another tool wrote it): re-read soon."""
        state = self._sessions.get(key)
        if state is not None:
            state.wake.set()

    def adopt(self, key: str, token: SsoToken, lifetime: timedelta) -> None:
        """A login produced ``token`` (already written to the cache), issued for ``lifetime``."""
        state = self._sessions[key]
        self._take(state, token, "login", lifetime=lifetime)
        self._written(state)
        state.wake.set()

    def forget(self, key: str, reason: str) -> None:
        """After a logout: the session has no token any more."""
        state = self._sessions[key]
        state.token = None
        state.lifetime = None
        self._unschedule(state)
        self._require_login(state, reason, notify=False)

    # -- the refresh loop ------------------------------------------------------------------

    async def _run(self, state: SessionState) -> None:
        while True:
            state.wake.clear()
            now = self._clock.now()
            wake_at = await self._tick(state, now)
            delay = schedule.sleep_for(wake_at, now) if wake_at else schedule.MAX_SLEEP.seconds
            await self._clock.wait(state.wake, delay)

    async def _tick(self, state: SessionState, now: datetime) -> datetime | None:
        """One evaluation; while the keyring is out of reach, look again every retry period."""
        wake = await self._evaluate(state, now)
        if state.secrets_error is not None:  # the keyring may be unlocked meanwhile
            retry = now + timedelta(seconds=self._cache.retry)
            return retry if wake is None else min(wake, retry)
        return wake

    async def _evaluate(self, state: SessionState, now: datetime) -> datetime | None:
        """Re-read the cache, refresh when due. Returns when to look again."""
        async with state.lock:
            await self._load(state)
            token = state.token
            if token is None:
                self._unschedule(state)
                return None
            if not self._can_refresh(state, token, now):
                self._unschedule(state)
                if token.expires_at <= now:
                    if state.secrets_error is None:  # else: its secrets may come back (unlock)
                        self._require_login(state, "token expired")
                    return None
                self._warn_before_expiry(state, token, now)
                return token.expires_at
            if state.next_refresh is None:
                self._schedule(state, token)
            due = state.next_refresh
            assert due is not None
            if due <= now:
                await self._refresh_locked(state, reason="refresh ahead of expiry")
                due = state.next_refresh
            elif state.write_error is not None:
                await self._write_again(state)
            if state.write_error is not None and due is not None:
                return min(due, now + schedule.CACHE_WRITE_RETRY)
            return due

    async def _write_again(self, state: SessionState) -> None:
        """Write our token after a failed write, unless the file holds it (or a newer one)."""
        ours = state.token
        if ours is None:
            return

        def ours_unless_newer(disk: SsoToken | None) -> SsoToken | None:
            if disk is not None and disk.expires_at >= ours.expires_at.replace(microsecond=0):
                return None
            base = disk if disk is not None and disk.client_id == ours.client_id else ours
            return replace(
                base,
                access_token=ours.access_token,
                expires_at=ours.expires_at,
                refresh_token=ours.refresh_token,
            )

        try:
            await asyncio.to_thread(
                self._cache.update_token, state.spec.key, state.spec.name, ours_unless_newer
            )
        except CacheError as err:
            state.write_error = _write_error(err)
            return
        self._written(state)

    def _written(self, state: SessionState) -> None:
        if state.write_error is not None:
            state.write_error = None
            log.info("event=cache_written session=%s", state.spec.name)

    def _schedule(self, state: SessionState, token: SsoToken) -> None:
        """Set the next refresh of ``token`` (and why then) from its lifetime, if ssod knows it."""
        plan = schedule.token_refresh_plan(
            token.expires_at, state.lifetime, self._policy, self._rng
        )
        state.next_refresh = plan.at
        state.refresh_why = plan.why

    def _unschedule(self, state: SessionState) -> None:
        state.next_refresh = None
        state.refresh_why = None

    def _can_refresh(self, state: SessionState, token: SsoToken, now: datetime) -> bool:
        return state.spec.refreshable and state.login_required is None and token.can_refresh(now)

    async def _refresh_locked(self, state: SessionState, *, reason: str) -> None:
        """Refresh with the refresh-token grant and write the cache. Caller holds state.lock."""
        token = state.token
        if token is None or not token.can_refresh(self._clock.now()):
            return
        try:
            grant = await self._aws.create_token(
                state.spec.region,
                clientId=token.client_id or "",
                clientSecret=token.client_secret or "",
                grantType="refresh_token",
                refreshToken=token.refresh_token or "",
            )
        except OidcProblem as problem:
            if problem.kind not in _FATAL_REFRESH:
                self._failed(state, f"refresh failed: {problem.kind}")
                return
            # Another writer may have rotated the refresh token under us, and may not have
            # written its new token yet: re-read now and a few times more before giving up.
            for pause in (0.0, *_ROTATION_REREADS):
                await self._clock.sleep(pause)
                await self._load(state)
                if state.token is not None and state.token.refresh_token != token.refresh_token:
                    log.info("event=refresh_token_rotated_elsewhere session=%s", state.spec.name)
                    self._schedule(state, state.token)
                    return
            self._require_login(state, f"refresh refused: {problem.kind}")
            return
        except AwsUnavailable as err:
            self._failed(state, err.message)
            return
        now = self._clock.now()
        lifetime = timedelta(seconds=grant.expires_in)
        expires_at = now + lifetime
        # Keep the old refresh token when the service sends none: it stays valid (the SDKs drop
        # it, which only makes them unable to refresh).
        refresh_token = grant.refresh_token or token.refresh_token

        def renew(disk: SsoToken | None) -> SsoToken:
            # Keep fields another writer added since we read the file (the JS SDK keeps
            # unknown fields), but only if it still belongs to the same client registration.
            base = disk if disk is not None and disk.client_id == token.client_id else token
            return replace(
                base,
                access_token=grant.access_token,
                expires_at=expires_at,
                refresh_token=refresh_token,
            )

        fresh = renew(None)
        try:
            written = await asyncio.to_thread(
                self._cache.update_token, state.spec.key, state.spec.name, renew
            )
            fresh = written or fresh
        except CacheError as err:
            # The token still works from memory; status says so until a write lands (the
            # loop tries again every CACHE_WRITE_RETRY, and so does the next refresh).
            state.write_error = _write_error(err)
            log.warning(
                "event=cache_write_failed session=%s error=%r", state.spec.name, err.message
            )
        else:
            self._written(state)
        self._take(state, fresh, reason, lifetime=lifetime)
        state.last_refresh = now
        log.info(
            "event=token_refreshed session=%s expires_at=%s reason=%r",
            state.spec.name,
            format_timestamp(fresh.expires_at),
            reason,
        )

    async def _load(self, state: SessionState) -> None:
        """Adopt the cache file's token if it is newer than ours (another tool wrote it)."""
        spec = state.spec
        try:
            loaded = await asyncio.to_thread(self._cache.read_token, spec.key, spec.name)
        except TokenCacheError as err:
            state.cache_error = err.message
            log.warning("event=cache_unreadable session=%s error=%r", spec.name, err.message)
            return
        except KeyringError as err:  # what the store did not absorb into `loaded.locked`
            self._secrets_reachable(state, err.message)
            return
        if state.cache_error is not None:  # fixed (or removed): the error is no longer true
            state.cache_error = None
            log.info("event=cache_readable session=%s", spec.name)
        self._secrets_reachable(state, self._cache.error if loaded.locked else None)
        disk = loaded.token
        ours = state.token
        if disk is None:
            return
        if ours is not None and disk.access_token == ours.access_token:
            if disk.refresh_token is None and loaded.locked:
                return  # a sealed file whose secrets are out of reach: keep what we hold
            if not ours.can_refresh(self._clock.now()) and disk.can_refresh(self._clock.now()):
                # The secrets of a sealed file came within reach (the keyring was unlocked).
                self._take(state, disk, "secrets from the token store", lifetime=state.lifetime)
            elif disk.refresh_token != ours.refresh_token:
                state.token = replace(ours, refresh_token=disk.refresh_token)
            return
        # Files hold whole seconds; ours may carry a fraction. A token another tool wrote in the
        # same second is as new as ours (and its refresh token may be the only live one).
        newer = (
            ours is None
            or disk.expires_at >= ours.expires_at.replace(microsecond=0)
            or state.login_required
        )
        # An expired token that can still be refreshed is as good as a valid one: after a night
        # with no daemon running, the refresh token still works and no login is needed.
        now = self._clock.now()
        if newer and (disk.expires_at > now or (state.spec.refreshable and disk.can_refresh(now))):
            self._take(state, disk, "read from cache")
            self._written(state)  # the file holds the token we serve

    def _secrets_reachable(self, state: SessionState, error: str | None) -> None:
        if error is not None and state.secrets_error is None:
            log.warning("event=secrets_unreachable session=%s error=%r", state.spec.name, error)
        elif error is None and state.secrets_error is not None:
            log.info("event=secrets_reachable session=%s", state.spec.name)
        state.secrets_error = error

    def _take(
        self, state: SessionState, token: SsoToken, how: str, *, lifetime: timedelta | None = None
    ) -> None:
        """Serve ``token`` from now on; ``lifetime`` only when ssod obtained it itself."""
        was_required = state.login_required is not None
        state.token = token
        state.lifetime = lifetime
        state.login_required = None
        state.failures = 0
        state.last_error = None
        state.notified = False
        if state.spec.refreshable and token.can_refresh(self._clock.now()):
            self._schedule(state, token)
        else:
            self._unschedule(state)
        if was_required:
            log.info("event=session_ready session=%s via=%r", state.spec.name, how)

    def _failed(self, state: SessionState, message: str) -> None:
        state.failures += 1
        state.last_error = message
        delay = schedule.backoff(state.failures, self._policy, self._rng)
        state.next_refresh = self._clock.now() + delay
        state.refresh_why = f"retry {state.failures} after a failed refresh"
        log.warning(
            "event=refresh_failed session=%s failures=%d retry_in=%.1fs error=%r",
            state.spec.name,
            state.failures,
            delay.total_seconds(),
            message,
        )

    def _require_login(self, state: SessionState, reason: str, *, notify: bool = True) -> None:
        if state.login_required is None:
            log.warning("event=login_required session=%s reason=%r", state.spec.name, reason)
        state.login_required = reason
        state.last_error = reason
        self._unschedule(state)
        if notify and not state.notified:
            state.notified = True
            self._notify(
                f"ssod: {state.spec.name} needs a login",
                f"{reason}. Run: {state.spec.login_hint}",
            )

    def _warn_before_expiry(self, state: SessionState, token: SsoToken, now: datetime) -> None:
        """Notify once shortly before a token that cannot be refreshed expires."""
        if state.notified or token.expires_at - now > self._policy.token_margin:
            return
        state.notified = True
        self._notify(
            f"ssod: {state.spec.name} expires soon",
            f"The SSO token cannot be refreshed and expires at "
            f"{format_timestamp(token.expires_at)}. Run: {state.spec.login_hint}",
        )


def _write_error(err: CacheError) -> str:
    return (
        f"the token cache could not be written ({err.message}); other tools read an older "
        "token until it can"
    )
