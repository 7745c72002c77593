"""The ECS container-credentials endpoint: an aiohttp server on 127.0.0.1 serving role credentials.

Owns the HTTP contract (routes, statuses, ``{code, message}`` error bodies), the request gate
(Host and browser checks against DNS rebinding, the constant-time token check) and the limits
against hostile local clients (line sizes, connection cap, a deadline for each request head).
It never fetches credentials itself: it asks a ``CredentialProvider`` and waits at most
``wait_limit`` seconds, because SDKs give up after 2 s (protocols.md section 6). It never logs
a token, a header value or a credential.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable
from typing import Final
from urllib.parse import quote

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from ssod import errors
from ssod.daemon.connguard import ConnectionCount, ConnectionGuard
from ssod.daemon.model import CredentialProvider, RoleCredentials
from ssod.version import __version__

#: Where the endpoint listens unless told otherwise (``AWS_CONTAINER_CREDENTIALS_FULL_URI``).
DEFAULT_ECS_PORT: Final = 9179
#: The only address we bind: AWS CLI v2 2.9.19 accepts no other loopback host (protocols.md §10).
ECS_HOST: Final = "127.0.0.1"
CREDENTIALS_PREFIX: Final = "/credentials/"
HEALTH_PATH: Final = "/health"

MAX_PROFILE_LENGTH: Final = 256
MAX_LINE_SIZE: Final = 8190
MAX_FIELD_SIZE: Final = 8190
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

_JSON: Final = "application/json"  # exactly this, or Go ignores the error body (protocols.md §6)
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
_BAD_HOST: Final = _body(CODE_FORBIDDEN, "the Host header must be 127.0.0.1:PORT")
_CROSS_SITE: Final = _body(CODE_FORBIDDEN, "requests from web pages are refused")
_NOT_ALLOWED: Final = _body(CODE_METHOD_NOT_ALLOWED, "only GET and HEAD are allowed")
_NO_ROUTE: Final = _body(CODE_NOT_FOUND, "no such path; use /credentials/PROFILE")
_BAD_PROFILE: Final = _body(
    errors.BadRequest.code,
    f"profile names are at most {MAX_PROFILE_LENGTH} characters without control characters",
)
_INTERNAL: Final = _body(CODE_INTERNAL, "internal error; see the ssod log")
_HEALTH: Final = json.dumps({"status": "ok", "version": __version__}).encode()


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

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        level = logging.INFO if response.status >= 400 else logging.DEBUG
        if not self.logger.isEnabledFor(level):
            return
        self.logger.log(
            level,
            "event=ecs_request method=%s path=%s status=%d ms=%.1f",
            request.method,
            request.rel_url.raw_path[:512],
            response.status,
            time * 1000.0,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


class EcsServer:
    """The container-credentials endpoint on ``127.0.0.1:port``."""

    def __init__(
        self,
        provider: CredentialProvider,
        token: Callable[[], str],
        *,
        port: int = DEFAULT_ECS_PORT,
        wait_limit: float = DEFAULT_WAIT_LIMIT,
        max_connections: int = MAX_CONNECTIONS,
        head_timeout: float = HEAD_TIMEOUT,
    ) -> None:
        self._provider = provider
        self._token = token
        self._port = port
        self._wait_limit = wait_limit
        self._max_connections = max_connections
        # A request being handled must never hit the head deadline.
        self._head_timeout = max(head_timeout, wait_limit + 0.5)
        self._hosts: frozenset[str] = frozenset()
        self._known_token = ""
        self._token_digest = b""
        self._bodies: dict[str, tuple[RoleCredentials, bytes]] = {}
        self._runner: web.ServerRunner | None = None
        self._server: asyncio.Server | None = None

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

    async def start(self) -> None:
        """Bind 127.0.0.1 and start serving; raises SsodError if the port is taken."""
        # aiohttp's low-level server with one handler that routes by itself (``_route``): the
        # Application's router, match info and middleware chain cost about a tenth of the hot
        # path's CPU for three fixed routes.
        web_server = web.Server(
            self._route,
            access_log_class=_AccessLog,
            access_log=log,
            keepalive_timeout=self._head_timeout,
            max_line_size=MAX_LINE_SIZE,
            max_field_size=MAX_FIELD_SIZE,
            lingering_time=0,  # never wait for a body a GET should not have
        )
        runner = web.ServerRunner(
            web_server, handle_signals=False, shutdown_timeout=self._wait_limit + 1.0
        )
        await runner.setup()
        handler = runner.server
        assert handler is not None
        count = ConnectionCount()
        limit, timeout = self._max_connections, self._head_timeout
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                lambda: ConnectionGuard(handler, count, limit, timeout),
                ECS_HOST,
                self._port,
                reuse_address=True,
                backlog=limit,  # a burst of parallel SDK processes must not wait for SYN retries
            )
        except OSError as err:
            await runner.cleanup()
            raise errors.SsodError(
                f"cannot listen on {ECS_HOST}:{self._port}: {err.strerror or err}"
            ) from err
        self._runner, self._server = runner, server
        self._port = server.sockets[0].getsockname()[1]
        self._hosts = frozenset({f"{ECS_HOST}:{self._port}", f"localhost:{self._port}"})
        log.info("serving container credentials on %s", self.base_url)

    async def stop(self) -> None:
        """Stop listening, finish in-flight requests briefly, close every connection."""
        server, runner = self._server, self._runner
        self._server = self._runner = None
        if server is not None:
            server.close()
        if runner is not None:
            await runner.cleanup()
        if server is not None:
            await server.wait_closed()

    def _gate(self, request: web.BaseRequest) -> web.Response | None:
        """Refuse DNS-rebinding and browser requests and methods other than GET and HEAD."""
        headers = request.headers
        # DNS rebinding: a web page can reach 127.0.0.1 under its own name, but cannot forge
        # Host (aws-vault added this check after 99designs/aws-vault#578).
        if headers.get("Host") not in self._hosts:
            return _reply(403, _BAD_HOST)
        # No browser has a reason to be here; Origin and Sec-Fetch-Site betray page scripts.
        if "Origin" in headers or headers.get("Sec-Fetch-Site", "none") not in (
            "none",
            "same-origin",
        ):
            return _reply(403, _CROSS_SITE)
        if request.method not in ("GET", "HEAD"):
            return _reply(405, _NOT_ALLOWED, _ALLOW)
        return None

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
            return self._gate(request) or _reply(200, _HEALTH)
        return self._gate(request) or _reply(404, _NO_ROUTE)

    async def _credentials(self, request: web.BaseRequest, profile: str) -> web.Response:
        denied = self._gate(request) or self._check_token(request)
        if denied is not None:
            return denied
        if len(profile) > MAX_PROFILE_LENGTH or _CONTROL_RE.search(profile):
            return _reply(400, _BAD_PROFILE)
        return await self._serve(profile)

    def _check_token(self, request: web.BaseRequest) -> web.Response | None:
        """401 without an ``Authorization`` header, 403 with a wrong one."""
        given = request.headers.get("Authorization")
        if given is None:
            return _reply(401, _MISSING_TOKEN)
        if not self._authorized(given):
            return _reply(403, _WRONG_TOKEN)
        return None

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
