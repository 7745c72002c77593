"""Login flows run by the daemon: device code and authorization code with PKCE.

``LoginManager`` runs at most one flow per session; every ``ssod login`` (or credential request)
for that session joins it, so one browser tab opens, never a storm. Progress is an event stream
(``verification`` with the URL and user code, then ``done`` or ``failed``) that late joiners
replay. The PKCE callback server binds 127.0.0.1 on a free port *before* the URL is shown and
checks ``state``. The result is written to the AWS CLI's token cache and handed to the
``SessionKeeper``. Drives the pure steps in ``oidc.py`` through ``AwsApi``.

A cached client registration IAM Identity Center no longer knows (``invalid_client``: the
application deleted, the instance re-created, a cache from another instance) is replaced by a
new one within the same login. The device flow learns it from StartDeviceAuthorization; a
browser would only show an error page, so before a cached registration goes into an authorize
URL it is checked with a CreateToken for a code that cannot exist (a known client gets
``invalid_grant``, a forgotten one ``invalid_client``).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Literal

from aiohttp import web

from ssod.daemon.aws import oidc, starturl
from ssod.daemon.aws.api import AwsApi, OidcProblem
from ssod.daemon.engine.model import Clock
from ssod.daemon.engine.sessions import SessionKeeper, SessionSpec
from ssod.daemon.store.tokencache import (
    Registration,
    SsoToken,
    format_timestamp,
    registration_cache_key,
)
from ssod.daemon.store.tokenstore import TokenStore
from ssod.errors import (
    AwsUnavailable,
    ConfigError,
    LoginCancelled,
    LoginFailed,
    LoginRequired,
    SsodError,
    error_from_code,
)
from ssod.replies import LoginReply

#: A token a login obtained, and the lifetime (``expiresIn``) AWS issued it for.
Obtained = tuple[SsoToken, timedelta]

log = logging.getLogger("ssod.login")

#: The whole PKCE wait, as the AWS CLI allows (AuthCodeFetcher: 10 minutes).
PKCE_TIMEOUT = timedelta(minutes=10)

Flow = Literal["device", "pkce"]

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>ssod sign-in</title></head>
<body style="font-family:sans-serif;margin:3em"><h1>{heading}</h1><p>{text}</p></body></html>"""


@dataclass
class LoginRun:
    """One running flow, its event history and its listeners."""

    spec: SessionSpec
    flow: Flow
    #: The start URL IAM Identity Center is sent: the configured one, or where a vanity one leads.
    issuer: str = ""
    history: list[Mapping[str, Any]] = field(default_factory=list)
    listeners: set[asyncio.Queue[Mapping[str, Any]]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None

    def emit(self, event: Mapping[str, Any]) -> None:
        self.history.append(event)
        for queue in self.listeners:
            queue.put_nowait(event)

    @property
    def finished(self) -> bool:
        return bool(self.history) and self.history[-1]["event"] in {"done", "failed"}


RegionChanged = Callable[[SessionSpec, str], Awaitable[None]]


class LoginManager:
    """Starts, shares and cancels login flows."""

    def __init__(
        self,
        aws: AwsApi,
        cache: TokenStore,
        sessions: SessionKeeper,
        clock: Clock,
        *,
        fetch: starturl.Fetch | None = None,
        region_changed: RegionChanged | None = None,
    ) -> None:
        self._aws = aws
        self._cache = cache
        self._sessions = sessions
        self._clock = clock
        self._fetch = fetch or starturl.http_fetch()
        self._region_changed = region_changed
        self._runs: dict[str, LoginRun] = {}

    def start(self, spec: SessionSpec, *, use_device_code: bool) -> LoginRun:
        """Start a flow for ``spec``, or join the one already running for it."""
        run = self._runs.get(spec.key)
        if run is not None and not run.finished:
            return run
        flow: Flow = "pkce" if spec.refreshable and not use_device_code else "device"
        run = LoginRun(spec=spec, flow=flow)
        self._runs[spec.key] = run
        run.task = asyncio.create_task(self._drive(run), name=f"login {spec.name}")
        return run

    async def events(self, run: LoginRun) -> AsyncIterator[Mapping[str, Any]]:
        """Every event of ``run`` from its start, ending with ``done`` or ``failed``."""
        queue: asyncio.Queue[Mapping[str, Any]] = asyncio.Queue()
        for event in run.history:
            queue.put_nowait(event)
        run.listeners.add(queue)
        try:
            while True:
                event = await queue.get()
                yield event
                if event["event"] in {"done", "failed"}:
                    return
        finally:
            run.listeners.discard(queue)

    async def follow(self, key: str, *, use_device_code: bool) -> AsyncIterator[dict[str, Any]]:
        """Start or join the login of session ``key`` and yield its events up to ``done``.

        Progress events carry ``first``: whether this call started the flow (clients that join a
        running flow must not open another browser tab). A failed flow raises its error.
        """
        state = self._sessions.get(key)
        if state is None:
            raise LoginRequired("that session is not configured")
        first = not self.running(key)
        run = self.start(state.spec, use_device_code=use_device_code)
        async for event in self.events(run):
            if event["event"] == "failed":
                raise error_from_code(str(event["code"]), str(event["message"]))
            if event["event"] == "done":
                yield dict(event)
                return
            yield {**event, "first": first}

    def running(self, key: str) -> bool:
        """Whether a flow for the session is in progress (``start`` would join it)."""
        run = self._runs.get(key)
        return run is not None and not run.finished

    def cancel(self, key: str) -> bool:
        """Cancel the running flow for a session; False if none runs."""
        run = self._runs.get(key)
        if run is None or run.finished or run.task is None:
            return False
        run.task.cancel()
        return True

    async def close(self) -> None:
        """Cancel every running flow."""
        for run in self._runs.values():
            if run.task is not None and not run.task.done():
                run.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run.task

    async def _drive(self, run: LoginRun) -> None:
        log.info("event=login_started session=%s flow=%s", run.spec.name, run.flow)
        configured = run.spec.region
        try:
            # As `aws sso login`: a vanity start URL is looked up each time (starturl.py).
            resolved = await starturl.resolve(run.spec.start_url, configured, self._fetch)
            run.issuer = resolved.url
            run.spec = replace(run.spec, region=resolved.region)
            token, lifetime = await (self._pkce(run) if run.flow == "pkce" else self._device(run))
            await asyncio.to_thread(self._cache.write_token, run.spec.key, run.spec.name, token)
        except asyncio.CancelledError:
            self._fail(run, LoginCancelled(f"login for {run.spec.name} was cancelled"))
            return
        except SsodError as err:
            self._fail(run, err)
            return
        except Exception as bug:  # every flow must end with an event, or clients wait forever
            log.exception("event=login_crashed session=%s", run.spec.name)
            self._fail(run, LoginFailed(f"login for {run.spec.name} failed: {type(bug).__name__}"))
            return
        self._sessions.adopt(run.spec.key, token, lifetime)
        done: LoginReply = {
            "event": "done",
            "session": run.spec.name,
            "start_url": run.spec.start_url,
            "expires_at": format_timestamp(token.expires_at),
        }
        if run.spec.region != configured and self._region_changed is not None:
            # Only after a successful login, as the CLI does; the token already says it.
            try:
                await self._region_changed(run.spec, run.spec.region)
                done["region_updated"] = run.spec.region
            except SsodError as err:
                log.warning("event=region_not_saved session=%s error=%r", run.spec.name, err)
        run.emit(done)
        log.info("event=login_done session=%s", run.spec.name)

    def _fail(self, run: LoginRun, err: SsodError) -> None:
        run.emit({"event": "failed", "code": err.code, "message": err.message})
        log.warning("event=login_failed session=%s error=%r", run.spec.name, err.message)

    # -- registration --------------------------------------------------------------------

    async def _registration(
        self, spec: SessionSpec, flow: Flow, issuer: str, *, fresh: bool = False
    ) -> tuple[Registration, bool]:
        """A registration for ``flow`` (a new one if ``fresh``), and whether it came from the
        cache."""
        if not await self._aws.has_oidc_endpoint(spec.region):
            # Said now: botocore would build a host name for it and fail to connect, retrying.
            raise ConfigError(
                f"the sso_region {spec.region} of {spec.name} has no IAM Identity Center "
                "endpoint: set it to the region of your Identity Center instance"
            )
        session_name = spec.name if spec.refreshable else None
        configured = list(spec.scopes) or None
        key = registration_cache_key(spec.start_url, spec.region, configured, session_name)
        now = self._clock.now()
        try:
            cached = await asyncio.to_thread(self._cache.read_registration, key)
        except SsodError:
            cached = None
        if not fresh and cached is not None and cached.usable_for(flow, now):
            return cached, True
        name = oidc.client_name(session_name, int(now.timestamp()))
        try:
            if flow == "pkce":
                scopes = tuple(spec.scopes) or oidc.DEFAULT_SCOPES
                result = await self._aws.register_client(
                    spec.region,
                    name,
                    scopes,
                    grant_types=oidc.PKCE_GRANT_TYPES,
                    redirect_uris=[oidc.REDIRECT_URI_BASE],
                    issuer_url=issuer,
                )
                reg = Registration(
                    client_id=result.client_id,
                    client_secret=result.client_secret,
                    expires_at=result.expires_at,
                    scopes=scopes,
                    grant_types=oidc.PKCE_GRANT_TYPES,
                )
            else:
                result = await self._aws.register_client(spec.region, name, spec.scopes or None)
                reg = Registration(
                    client_id=result.client_id,
                    client_secret=result.client_secret,
                    expires_at=result.expires_at,
                    scopes=tuple(spec.scopes) or None,
                )
        except OidcProblem as problem:
            raise LoginFailed(f"client registration refused: {problem.kind}") from None
        await asyncio.to_thread(self._cache.write_registration, key, reg, spec.name)
        return reg, False

    def _forgotten(self, spec: SessionSpec) -> None:
        # IAM Identity Center no longer knows the cached client: register again.
        log.warning("event=registration_forgotten session=%s reason=invalid_client", spec.name)

    async def _known(self, spec: SessionSpec, reg: Registration) -> bool:
        """Does IAM Identity Center still know ``reg``? Unsure (AWS down) counts as yes."""
        try:
            await self._aws.create_token(
                spec.region,
                clientId=reg.client_id,
                clientSecret=reg.client_secret,
                grantType="authorization_code",
                redirectUri=oidc.REDIRECT_URI_BASE,
                codeVerifier=oidc.code_verifier(),
                code=secrets.token_urlsafe(32),  # no such code: only the client is judged
            )
        except OidcProblem as problem:
            return problem.kind != "invalid_client"
        except AwsUnavailable:
            return True
        return True

    def _token(self, spec: SessionSpec, reg: Registration, grant: Any) -> Obtained:
        """The cache token for a CreateToken answer, and the lifetime AWS issued it for."""
        now = self._clock.now()
        lifetime = timedelta(seconds=grant.expires_in)
        token = SsoToken(
            start_url=spec.start_url,
            region=spec.region,
            access_token=grant.access_token,
            expires_at=now + lifetime,
            client_id=reg.client_id,
            client_secret=reg.client_secret,
            registration_expires_at=reg.expires_at,
            refresh_token=grant.refresh_token,
        )
        return token, lifetime

    # -- device code ---------------------------------------------------------------------

    async def _device(self, run: LoginRun) -> Obtained:
        spec = run.spec
        reg, cached = await self._registration(spec, "device", run.issuer)
        try:
            try:
                auth = await self._aws.start_device_authorization(
                    spec.region, reg.client_id, reg.client_secret, run.issuer
                )
            except OidcProblem as problem:
                if not (cached and problem.kind == "invalid_client"):
                    raise
                self._forgotten(spec)
                reg, _ = await self._registration(spec, "device", run.issuer, fresh=True)
                auth = await self._aws.start_device_authorization(
                    spec.region, reg.client_id, reg.client_secret, run.issuer
                )
        except OidcProblem as problem:
            raise LoginFailed(f"device authorization refused: {problem.kind}") from None
        run.emit(
            {
                "event": "verification",
                "flow": "device",
                "url": auth.verification_uri_complete,
                "verification_uri": auth.verification_uri,
                "user_code": auth.user_code,
                "expires_in": auth.expires_in,
            }
        )
        deadline = self._clock.monotonic() + auth.expires_in
        interval = max(1, auth.interval)
        while True:
            try:
                grant = await self._aws.create_token(
                    spec.region,
                    clientId=reg.client_id,
                    clientSecret=reg.client_secret,
                    grantType=oidc.DEVICE_GRANT,
                    deviceCode=auth.device_code,
                )
                return self._token(spec, reg, grant)
            except OidcProblem as problem:
                step = oidc.after_poll(problem.kind, interval)
            if step.fail is not None:
                raise LoginFailed(f"login for {spec.name} failed: {step.fail}")
            interval = step.wait
            if self._clock.monotonic() > deadline:
                raise LoginFailed(f"login for {spec.name} failed: the device code expired")
            await self._clock.sleep(interval)

    # -- authorization code with PKCE ------------------------------------------------------

    async def _pkce(self, run: LoginRun) -> Obtained:
        spec = run.spec
        reg, cached = await self._registration(spec, "pkce", run.issuer)
        if cached and not await self._known(spec, reg):
            self._forgotten(spec)
            reg, _ = await self._registration(spec, "pkce", run.issuer, fresh=True)
        verifier = oidc.code_verifier()
        state = oidc.new_state()
        callback: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        async with _callback_server(state, callback) as port:
            request = oidc.AuthorizeRequest(
                oidc_endpoint=self._aws.oidc_endpoint(spec.region),
                client_id=reg.client_id,
                redirect_uri=oidc.redirect_uri(port),
                state=state,
                scopes=tuple(spec.scopes) or oidc.DEFAULT_SCOPES,
                challenge=oidc.code_challenge(verifier),
            )
            run.emit({"event": "verification", "flow": "pkce", "url": request.url()})
            try:
                result = await asyncio.wait_for(callback, PKCE_TIMEOUT.total_seconds())
            except TimeoutError:
                raise LoginFailed(f"login for {spec.name} timed out in the browser") from None
        if "error" in result:
            raise LoginFailed(f"login for {spec.name} failed in the browser: {result['error']}")
        try:
            grant = await self._aws.create_token(
                spec.region,
                clientId=reg.client_id,
                clientSecret=reg.client_secret,
                grantType="authorization_code",
                redirectUri=request.redirect_uri,
                codeVerifier=verifier,
                code=result["code"],
            )
        except OidcProblem as problem:
            raise LoginFailed(f"login for {spec.name} failed: {problem.kind}") from None
        return self._token(spec, reg, grant)


@contextlib.asynccontextmanager
async def _callback_server(
    state: str, result: asyncio.Future[dict[str, str]]
) -> AsyncIterator[int]:
    """Serve the OAuth callback on 127.0.0.1 (only) and a free port; yields the port."""

    async def handle(request: web.Request) -> web.Response:
        query = request.query
        if query.get("state") != state:
            # Not our flow, or a forged request (any web page can send one to 127.0.0.1):
            # refuse without ending the wait, errors included, or a page could cancel the login.
            return _page("Sign-in failed", "This request does not match the login in progress.")
        if "error" in query:
            if not result.done():
                result.set_result({"error": query.get("error", "error")[:200]})
            return _page("Sign-in failed", "The authentication redirect reported an error.")
        if "code" not in query:
            return _page("Sign-in failed", "This request does not match the login in progress.")
        if not result.done():
            result.set_result({"code": query["code"]})
        return _page(
            "Signed in to AWS",
            "Your credentials have been shared with ssod. You can close this tab.",
        )

    app = web.Application()
    app.router.add_get(oidc.CALLBACK_PATH, handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        yield int(sockets[0].getsockname()[1])
    finally:
        await runner.cleanup()


def _page(heading: str, text: str) -> web.Response:
    body = _PAGE.format(heading=html.escape(heading), text=html.escape(text))
    return web.Response(text=body, content_type="text/html", headers={"Cache-Control": "no-store"})
