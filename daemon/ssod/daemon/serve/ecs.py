"""The ECS container-credentials endpoint: an aiohttp server on 127.0.0.1 serving role credentials.

Owns the HTTP contract (routes, statuses, ``{code, message}`` error bodies), the request gate
(Host and browser checks against DNS rebinding, the constant-time token check; the IMDS
endpoint shares the gate) and the limits against hostile local clients (line sizes,
connection cap, a deadline for each request head; binding and limits live in ``listeners``).
It also listens on the link-local container address when configured and present
(``listenpolicy``); the Host check names exactly the addresses being served.
It never fetches credentials itself: it asks a ``CredentialProvider`` and waits at most
``wait_limit`` seconds, because SDKs give up after 2 s (docs/protocols.md section 6). It never logs
a token, a header value or a credential.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Final, Protocol
from urllib.parse import quote

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from ssod import errors
from ssod.daemon.aws.credentials import RoleCredentials
from ssod.daemon.engine.model import CredentialProvider
from ssod.daemon.serve.http.listeners import DEFAULT_RETRY, Listeners
from ssod.daemon.serve.http.listenpolicy import LOOPBACK, ListenAddress, host_headers, url_host
from ssod.scoped import PREFIX as SCOPED_PREFIX
from ssod.version import __version__

#: Where the endpoint listens unless told otherwise (``AWS_CONTAINER_CREDENTIALS_FULL_URI``).
DEFAULT_ECS_PORT: Final = 9179
#: The address `ssod env` points at, always served: AWS CLI v2 2.9.19 accepts no other loopback
#: host (docs/protocols.md §10). Container addresses come from ``listenpolicy``.
ECS_HOST: Final = LOOPBACK
CREDENTIALS_PREFIX: Final = "/credentials/"
HEALTH_PATH: Final = "/health"

MAX_PROFILE_LENGTH: Final = 256
#: Open connections beyond this are reset at once; each SDK process holds one.
MAX_CONNECTIONS: Final = 256
#: Each request head must be complete within this many seconds of the connection opening or of
#: the previous head (slowloris); it also closes idle keep-alive connections.
HEAD_TIMEOUT: Final = 5.0
DEFAULT_WAIT_LIMIT: Final = 1.0

# Codes for answers no ssod.errors class stands for.
CODE_UNAUTHORIZED: Final = "unauthorized"
CODE_FORBIDDEN: Final = "forbidden"
CODE_NOT_FOUND: Final = "not_found"
CODE_METHOD_NOT_ALLOWED: Final = "method_not_allowed"
CODE_INTERNAL: Final = "internal_error"

log = logging.getLogger("ssod.ecs")

#: Exactly this, or Go ignores the error body (docs/protocols.md §6).
_JSON: Final = "application/json"
_NO_STORE: Final = {"Cache-Control": "no-store"}
_ALLOW: Final = {"Cache-Control": "no-store", "Allow": "GET, HEAD"}
_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: What aiohttp's ``{profile}`` route would not match in a path segment (its pattern: [^{}/]+).
_NOT_A_SEGMENT: Final = re.compile(r"[{}/]")


def credentials_path(profile: str) -> str:
    """The URL path serving ``profile``, percent-encoded so any profile name survives."""
    return CREDENTIALS_PREFIX + quote(profile, safe="")


def _body(code: str, message: str) -> bytes:
    return json.dumps({"code": code, "message": message}).encode()


def _reply(status: int, body: bytes, headers: dict[str, str] = _NO_STORE) -> web.Response:
    return web.Response(status=status, body=body, content_type=_JSON, headers=headers)


_MISSING_TOKEN: Final = _body(
    CODE_UNAUTHORIZED,
    'missing Authorization header: run eval "$(ssod env)" (it sets the token variable and file)',
)
_WRONG_TOKEN: Final = _body(
    CODE_FORBIDDEN, 'wrong authorization token (rotated?): run eval "$(ssod env)" again'
)
# One answer for every refused scoped token: it names no profile and says not why.
_SCOPED_REFUSED: Final = _body(
    CODE_FORBIDDEN,
    "this scoped token does not serve this path (it serves one profile until it expires or "
    "is revoked): ask its owner for a new one (`ssod token issue`)",
)
_BAD_HOST: Final = _body(
    CODE_FORBIDDEN, "the Host header must name an address the endpoint serves (127.0.0.1:PORT)"
)
_CROSS_SITE: Final = _body(CODE_FORBIDDEN, "requests from web pages are refused")
_NOT_ALLOWED: Final = _body(CODE_METHOD_NOT_ALLOWED, "only GET and HEAD are allowed")
_NO_ROUTE: Final = _body(CODE_NOT_FOUND, "no such path; use /credentials/PROFILE")
_BAD_PROFILE: Final = _body(
    errors.BadRequest.code,
    f"profile names are at most {MAX_PROFILE_LENGTH} characters without control characters",
)
_INTERNAL: Final = _body(CODE_INTERNAL, "internal error; see the ssod log")
_HEALTH: Final = json.dumps({"status": "ok", "version": __version__}).encode()


def reply(status: int, body: bytes, headers: Mapping[str, str] = _NO_STORE) -> web.Response:
    """A JSON answer (``body`` from :func:`error_body` for errors), not cached."""
    return web.Response(status=status, body=body, content_type=_JSON, headers=headers)


def error_body(code: str, message: str) -> bytes:
    """The ``{code, message}`` error body every SDK understands (docs/protocols.md §6)."""
    return _body(code, message)


def gate(
    request: web.BaseRequest,
    hosts: frozenset[str],
    methods: tuple[str, ...] = ("GET", "HEAD"),
    not_allowed: tuple[bytes, dict[str, str]] | None = None,
) -> web.Response | None:
    """Refuse DNS-rebinding and browser requests (403) and other methods (405).

    Shared by the ECS and IMDS endpoints; one call per request on the hot path.
    """
    headers = request.headers
    # DNS rebinding: a web page can reach 127.0.0.1 under its own name, but cannot forge
    # Host (aws-vault added this check after 99designs/aws-vault#578).
    if headers.get("Host") not in hosts:
        return _reply(403, _BAD_HOST)
    # No browser has a reason to be here; Origin and Sec-Fetch-Site betray page scripts.
    if "Origin" in headers or headers.get("Sec-Fetch-Site", "none") not in (
        "none",
        "same-origin",
    ):
        return _reply(403, _CROSS_SITE)
    if request.method not in methods:
        body, allow = not_allowed or (_NOT_ALLOWED, _ALLOW)
        return _reply(405, body, allow)
    return None


def status_for(err: errors.SsodError) -> int:
    """The HTTP status an ssod error is answered with."""
    # 404 is final for Java (no retry); 503 is retried by every SDK; 502: AWS refused.
    if isinstance(err, errors.ProfileNotFound | errors.SessionNotFound):
        return 404
    if isinstance(err, errors.RoleAccessDenied):
        return 403
    if isinstance(err, errors.AuthError | errors.AwsUnavailable):
        return 503
    if isinstance(err, errors.AwsError):
        return 502
    return 500


def _consume(task: asyncio.Task[RoleCredentials]) -> None:
    # A fetch that outlived its request still has its exception read, so asyncio stays quiet.
    if not task.cancelled():
        task.exception()


async def _done_within(task: asyncio.Task[RoleCredentials], limit: float) -> bool:
    """Wait until ``task`` is done or ``limit`` seconds pass, never cancelling it.

    Same meaning as ``wait_for(shield(task), limit)``, with one future and one timer instead
    of the three futures and extra loop turns of that chain (this is the hot path).
    """
    if task.done():
        return True
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake(_: object) -> None:
        if not waiter.done():
            waiter.set_result(None)

    task.add_done_callback(wake)
    timer = asyncio.get_running_loop().call_later(limit, wake, None)
    try:
        await waiter
    finally:
        timer.cancel()
        task.remove_done_callback(wake)
    return task.done()


class _AccessLog(AbstractAccessLogger):
    """One line per request: method, path (no query: a token may hide there), status, time.

    Refusals and errors are logged at INFO; answered requests only at DEBUG: every SDK process
    makes one, and formatting and writing that line took 40% of the hot path's CPU time
    (bench/ecs_load.py, docs/performance.md).
    """

    LINE: str = "event=ecs_request method=%s path=%s status=%d ms=%.1f"

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        level = logging.INFO if response.status >= 400 else logging.DEBUG
        if not self.logger.isEnabledFor(level):
            return
        self.logger.log(
            level,
            self.LINE,
            request.method,
            request.rel_url.raw_path[:512],
            response.status,
            time * 1000.0,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


class ScopedTokens(Protocol):
    """Checks scoped tokens (``ssod.daemon.store.scopedstore``): good for one profile each."""

    def authorizes(self, token: str, profile: str) -> bool:
        """True only for a live scoped token issued for exactly ``profile``."""
        ...


class EcsServer:
    """The container-credentials endpoint on ``127.0.0.1:port`` (and container addresses)."""

    def __init__(
        self,
        provider: CredentialProvider,
        token: Callable[[], str],
        *,
        port: int = DEFAULT_ECS_PORT,
        wait_limit: float = DEFAULT_WAIT_LIMIT,
        max_connections: int = MAX_CONNECTIONS,
        head_timeout: float = HEAD_TIMEOUT,
        scoped: ScopedTokens | None = None,
        listen: Sequence[ListenAddress] = (ListenAddress(ECS_HOST, required=True),),
        retry: float = DEFAULT_RETRY,
    ) -> None:
        self._provider = provider
        self._token = token
        self._scoped = scoped
        self._port = port
        self._wait_limit = wait_limit
        self._max_connections = max_connections
        # A request being handled must never hit the head deadline.
        self._head_timeout = max(head_timeout, wait_limit + 0.5)
        self._hosts: frozenset[str] = frozenset()
        self._known_token = ""
        self._token_digest = b""
        self._bodies: dict[str, tuple[RoleCredentials, bytes]] = {}
        self._listen = tuple(listen)
        self._retry = retry
        self._listeners: Listeners | None = None

    @property
    def port(self) -> int:
        """The bound port once started (the requested one before)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{ECS_HOST}:{self._port}"

    def url_for(self, profile: str) -> str:
        """The full URL serving ``profile`` (for ``AWS_CONTAINER_CREDENTIALS_FULL_URI``)."""
        return self.base_url + credentials_path(profile)

    @property
    def served(self) -> list[str]:
        """The addresses listening now (127.0.0.1 first)."""
        return self._listeners.served if self._listeners is not None else []

    @property
    def waiting(self) -> list[str]:
        """Configured link-local addresses not listening yet (not on this host)."""
        return self._listeners.waiting if self._listeners is not None else []

    @property
    def sockets(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every listening socket."""
        return self._listeners.sockets if self._listeners is not None else []

    def base_url_on(self, host: str) -> str:
        """``http://HOST:PORT`` for one of the served addresses."""
        return f"http://{url_host(host)}:{self._port}"

    async def start(self) -> None:
        """Bind 127.0.0.1 (and container addresses present) and serve; SsodError if taken."""
        # aiohttp's low-level server with one handler that routes by itself (``_route``): the
        # Application's router, match info and middleware chain cost about a tenth of the hot
        # path's CPU for three fixed routes.
        listeners = Listeners(
            self._route,
            self._listen,
            self._port,
            name="ECS endpoint",
            access_log_class=_AccessLog,
            access_log=log,
            max_connections=self._max_connections,
            head_timeout=self._head_timeout,
            shutdown_timeout=self._wait_limit + 1.0,
            on_change=self._served_changed,
            retry=self._retry,
        )
        await listeners.start()
        self._listeners = listeners
        self._served_changed()

    def _served_changed(self) -> None:
        listeners = self._listeners
        if listeners is None:
            return
        self._port = listeners.port
        self._hosts = host_headers(listeners.served, listeners.port)

    async def stop(self) -> None:
        """Stop listening, finish in-flight requests briefly, close every connection."""
        listeners, self._listeners = self._listeners, None
        if listeners is not None:
            await listeners.stop()

    def _authorized(self, given: str) -> bool:
        """Constant-time check of the raw ``Authorization`` value against the current token."""
        token = self._token()
        if not token:
            return False
        if token != self._known_token:
            self._known_token = token
            self._token_digest = hashlib.sha256(token.encode()).digest()
        # Comparing digests keeps the time independent of the length of the guess too.
        offered = hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest()
        return hmac.compare_digest(offered, self._token_digest)

    async def _route(self, request: web.BaseRequest) -> web.Response:
        """``/credentials/{profile}``, ``/health``, else 404: aiohttp's routing, done by hand.

        As aiohttp's router does, it matches the decoded path with ``%2F`` and ``%25`` kept
        (``path_safe``), takes one segment without ``/``, ``{`` or ``}`` as the profile and
        then decodes those two.
        """
        path = request.rel_url.path_safe
        if path.startswith(CREDENTIALS_PREFIX):
            segment = path[len(CREDENTIALS_PREFIX) :]
            if segment and _NOT_A_SEGMENT.search(segment) is None:
                if "%" in segment:
                    segment = segment.replace("%2F", "/").replace("%25", "%")
                return await self._credentials(request, segment)
        elif path == HEALTH_PATH:
            return gate(request, self._hosts) or _reply(200, _HEALTH)
        return gate(request, self._hosts) or _reply(404, _NO_ROUTE)

    async def _credentials(self, request: web.BaseRequest, profile: str) -> web.Response:
        denied = gate(request, self._hosts) or self._check_token(request, profile)
        if denied is not None:
            return denied
        if len(profile) > MAX_PROFILE_LENGTH or _CONTROL_RE.search(profile):
            return _reply(400, _BAD_PROFILE)
        return await self._serve(profile)

    def _check_token(self, request: web.BaseRequest, profile: str) -> web.Response | None:
        """401 without an ``Authorization`` header, 403 with a wrong one.

        The main token serves every profile and is checked first, so its path is unchanged; a
        scoped token (``ssod.`` prefix, which the main token never has) serves only the one
        profile it was issued for.
        """
        given = request.headers.get("Authorization")
        if given is None:
            return _reply(401, _MISSING_TOKEN)
        if self._authorized(given):
            return None
        if given.startswith(SCOPED_PREFIX):
            if self._scoped is not None and self._scoped.authorizes(given, profile):
                return None
            return _reply(403, _SCOPED_REFUSED)
        return _reply(403, _WRONG_TOKEN)

    async def _serve(self, profile: str) -> web.Response:
        """Ask the provider, waiting at most ``wait_limit``; map its errors to statuses."""
        held = self._provider.held(profile)
        if held is not None:
            # The common case: answered from memory with no Task, future or timer.
            return _reply(200, self._encode(profile, held))
        task = asyncio.ensure_future(self._provider.credentials(profile))
        task.add_done_callback(_consume)
        if not await _done_within(task, self._wait_limit):
            # The fetch goes on (as with asyncio.shield); the broker hands it to the next request.
            message = f"still fetching credentials for {profile} from AWS; retry"
            return _reply(503, _body(errors.AwsUnavailable.code, message))
        if task.cancelled():
            log.error("credential fetch cancelled")
            return _reply(500, _INTERNAL)
        err = task.exception()
        if err is None:
            return _reply(200, self._encode(profile, task.result()))
        if isinstance(err, errors.SsodError):
            return _reply(status_for(err), _body(err.code, err.message))
        log.error("unexpected %s serving credentials", type(err).__name__)
        return _reply(500, _INTERNAL)

    def _encode(self, profile: str, creds: RoleCredentials) -> bytes:
        """The JSON body, re-encoded only when the broker hands out new credentials."""
        cached = self._bodies.get(profile)
        if cached is not None and cached[0] is creds:
            return cached[1]
        body = json.dumps(creds.ecs_json(), separators=(",", ":")).encode()
        self._bodies[profile] = (creds, body)
        return body
