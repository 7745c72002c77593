"""The ECS container-credentials endpoint: an aiohttp server on 127.0.0.1 serving role credentials.

Owns the ECS HTTP contract: the routes (``/credentials/{profile}``, ``/health``), the
``Authorization`` token check (the main token serves every profile, a scoped one only its own)
and the credentials JSON. The plumbing it shares with the IMDS endpoint lives in ``http/``:
the gate (Host and browser checks against DNS rebinding, the constant-time secret check), the
``{code, message}`` replies and statuses, the wait limit and head deadline, the access log,
and the listeners with their limits against hostile local clients. It also listens on the
link-local container address when configured and present (``listenpolicy``); the Host check
names exactly the addresses being served. It never fetches credentials itself: it asks a
``CredentialProvider`` and waits at most ``wait_limit`` seconds, because SDKs give up after
2 s (docs/protocols.md section 6). It never logs a token, a header value or a credential.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Final, Protocol
from urllib.parse import quote

from aiohttp import web

from ssod import errors
from ssod.daemon.aws.credentials import RoleCredentials
from ssod.daemon.engine.model import CredentialProvider
from ssod.daemon.serve.http.accesslog import AccessLog
from ssod.daemon.serve.http.deadlines import (
    DEFAULT_WAIT_LIMIT,
    HEAD_TIMEOUT,
    MAX_CONNECTIONS,
    credentials_reply,
)
from ssod.daemon.serve.http.endpoint import Endpoint
from ssod.daemon.serve.http.gate import SecretCheck, gate
from ssod.daemon.serve.http.listeners import DEFAULT_RETRY
from ssod.daemon.serve.http.listenpolicy import LOOPBACK, ListenAddress
from ssod.daemon.serve.http.replies import (
    CODE_FORBIDDEN,
    CODE_NOT_FOUND,
    CODE_UNAUTHORIZED,
    error_body,
    reply,
)
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

log = logging.getLogger("ssod.ecs")

_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: What aiohttp's ``{profile}`` route would not match in a path segment (its pattern: [^{}/]+).
_NOT_A_SEGMENT: Final = re.compile(r"[{}/]")

_MISSING_TOKEN: Final = error_body(
    CODE_UNAUTHORIZED,
    'missing Authorization header: run eval "$(ssod env)" (it sets the token variable and file)',
)
_WRONG_TOKEN: Final = error_body(
    CODE_FORBIDDEN, 'wrong authorization token (rotated?): run eval "$(ssod env)" again'
)
# One answer for every refused scoped token: it names no profile and says not why.
_SCOPED_REFUSED: Final = error_body(
    CODE_FORBIDDEN,
    "this scoped token does not serve this path (it serves one profile until it expires or "
    "is revoked): ask its owner for a new one (`ssod token issue`)",
)
_NO_ROUTE: Final = error_body(CODE_NOT_FOUND, "no such path; use /credentials/PROFILE")
_BAD_PROFILE: Final = error_body(
    errors.BadRequest.code,
    f"profile names are at most {MAX_PROFILE_LENGTH} characters without control characters",
)
_HEALTH: Final = json.dumps({"status": "ok", "version": __version__}).encode()


def credentials_path(profile: str) -> str:
    """The URL path serving ``profile``, percent-encoded so any profile name survives."""
    return CREDENTIALS_PREFIX + quote(profile, safe="")


class _EcsAccessLog(AccessLog):
    LINE = "event=ecs_request method=%s path=%s status=%d ms=%.1f"


class ScopedTokens(Protocol):
    """Checks scoped tokens (``ssod.daemon.store.scopedstore``): good for one profile each."""

    def authorizes(self, token: str, profile: str) -> bool:
        """True only for a live scoped token issued for exactly ``profile``."""
        ...


class EcsServer(Endpoint):
    """The container-credentials endpoint on ``127.0.0.1:port`` (and container addresses)."""

    NAME = "ECS endpoint"
    ACCESS_LOG = _EcsAccessLog

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
        super().__init__(
            port=port,
            listen=listen,
            wait_limit=wait_limit,
            max_connections=max_connections,
            head_timeout=head_timeout,
            retry=retry,
            log=log,
        )
        self._provider = provider
        self._authorized = SecretCheck(token)
        self._scoped = scoped
        self._bodies: dict[str, tuple[RoleCredentials, bytes]] = {}

    def url_for(self, profile: str) -> str:
        """The full URL serving ``profile`` (for ``AWS_CONTAINER_CREDENTIALS_FULL_URI``)."""
        return self.base_url + credentials_path(profile)

    async def _handle(self, request: web.BaseRequest) -> web.Response:
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
            return gate(request, self._hosts) or reply(200, _HEALTH)
        return gate(request, self._hosts) or reply(404, _NO_ROUTE)

    async def _credentials(self, request: web.BaseRequest, profile: str) -> web.Response:
        denied = gate(request, self._hosts) or self._check_token(request, profile)
        if denied is not None:
            return denied
        if len(profile) > MAX_PROFILE_LENGTH or _CONTROL_RE.search(profile):
            return reply(400, _BAD_PROFILE)
        return await credentials_reply(
            self._provider, profile, self._wait_limit, lambda c: self._encode(profile, c), log
        )

    def _check_token(self, request: web.BaseRequest, profile: str) -> web.Response | None:
        """401 without an ``Authorization`` header, 403 with a wrong one.

        The main token serves every profile and is checked first, so its path is unchanged; a
        scoped token (``ssod.`` prefix, which the main token never has) serves only the one
        profile it was issued for.
        """
        given = request.headers.get("Authorization")
        if given is None:
            return reply(401, _MISSING_TOKEN)
        if self._authorized(given):
            return None
        if given.startswith(SCOPED_PREFIX):
            if self._scoped is not None and self._scoped.authorizes(given, profile):
                return None
            return reply(403, _SCOPED_REFUSED)
        return reply(403, _WRONG_TOKEN)

    def _encode(self, profile: str, creds: RoleCredentials) -> bytes:
        """The JSON body, re-encoded only when the broker hands out new credentials."""
        cached = self._bodies.get(profile)
        if cached is not None and cached[0] is creds:
            return cached[1]
        body = json.dumps(creds.ecs_json(), separators=(",", ":")).encode()
        self._bodies[profile] = (creds, body)
        return body
