"""The optional EC2 instance-metadata (IMDSv2) endpoint, serving one profile's credentials.

For tools that speak only instance metadata (docs/protocols.md §7). Off unless the daemon is given
``--imds-profile``; SDKs reach it through ``AWS_EC2_METADATA_SERVICE_ENDPOINT``. IMDSv2 only:
``PUT /latest/api/token`` with ``X-aws-ec2-metadata-token-ttl-seconds`` (1..21600) answers a
session token and echoes the TTL header (Go needs it); every ``GET`` needs that token in
``X-aws-ec2-metadata-token``, and without one (IMDSv1) or with a bad or expired one answers
401. Session tokens are stateless: the expiry and an HMAC of it under a key that lives only in
this process, compared in constant time, so there is nothing to store or bound.

IMDS has no client secret, so the token PUT is the gate: on loopback it is answered only for
connections whose client socket the calling user owns (``peercred``: other users on the
machine get 403); a client that is not on this host's network namespace (a container) is
served only on a container address the user chose with ``--imds-listen``. The Host/Origin
gate, the replies, the wait limit, the access log, the size limits and the connection guard
are shared with the ECS endpoint (``http/``). Nothing secret is logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import struct
import time
from collections.abc import Callable, Sequence
from typing import Final

from aiohttp import web

from ssod import errors
from ssod.daemon.aws.credentials import RoleCredentials, format_expiration
from ssod.daemon.engine.model import CredentialProvider
from ssod.daemon.serve.http import peercred
from ssod.daemon.serve.http.accesslog import AccessLog
from ssod.daemon.serve.http.deadlines import (
    DEFAULT_WAIT_LIMIT,
    HEAD_TIMEOUT,
    MAX_CONNECTIONS,
    credentials_reply,
)
from ssod.daemon.serve.http.endpoint import Endpoint
from ssod.daemon.serve.http.gate import GET_HEAD, gate
from ssod.daemon.serve.http.listeners import DEFAULT_RETRY
from ssod.daemon.serve.http.listenpolicy import ListenAddress
from ssod.daemon.serve.http.replies import (
    CODE_FORBIDDEN,
    CODE_METHOD_NOT_ALLOWED,
    CODE_NOT_FOUND,
    CODE_UNAUTHORIZED,
    NO_STORE,
    error_body,
    reply,
)

TOKEN_PATH: Final = "/latest/api/token"  # noqa: S105 (a path, not a secret)
ROLES_PATH: Final = "/latest/meta-data/iam/security-credentials/"
AZ_PATH: Final = "/latest/meta-data/placement/availability-zone"
REGION_PATH: Final = "/latest/meta-data/placement/region"
IDENTITY_PATH: Final = "/latest/dynamic/instance-identity/document"
TTL_HEADER: Final = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER: Final = "X-aws-ec2-metadata-token"  # noqa: S105
MAX_TTL: Final = 21600
#: IAM role names: the only names an IMDS role path carries.
ROLE_NAME_RE: Final = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)

log = logging.getLogger("ssod.imds")

_TEXT: Final = {"Cache-Control": "no-store", "Content-Type": "text/plain"}
_NO_TOKEN: Final = error_body(
    CODE_UNAUTHORIZED,
    "IMDSv1 is not served: PUT /latest/api/token first (IMDSv2), then send the token in "
    "X-aws-ec2-metadata-token",
)
_BAD_TOKEN: Final = error_body(
    CODE_UNAUTHORIZED, "invalid or expired IMDS session token: PUT /latest/api/token again"
)
_BAD_TTL: Final = error_body(
    errors.BadRequest.code, f"{TTL_HEADER} must be a whole number of seconds from 1 to {MAX_TTL}"
)
_FORWARDED: Final = error_body(CODE_FORBIDDEN, "forwarded token requests are refused")
_OTHER_USER: Final = error_body(
    CODE_FORBIDDEN, "this IMDS endpoint serves only the user who runs ssod"
)
_NOT_ALLOWED: Final = error_body(
    CODE_METHOD_NOT_ALLOWED, "only PUT /latest/api/token, GET and HEAD are allowed"
)
_NO_ROUTE: Final = error_body(CODE_NOT_FOUND, "no such metadata path")
_NO_REGION: Final = error_body(CODE_NOT_FOUND, "the served profile has no region")
_ALLOW: Final = {**NO_STORE, "Allow": "GET, HEAD, PUT"}
_PUT: Final = ("PUT",)


class _ImdsAccessLog(AccessLog):
    """The endpoints' access log, under IMDS's event name (no token, no query)."""

    LINE = "event=imds_request method=%s path=%s status=%d ms=%.1f"


def check_role_name(profile: str) -> str:
    """The role name IMDS serves for ``profile``: the profile name, if it is a legal one."""
    if not ROLE_NAME_RE.fullmatch(profile):
        raise errors.BadRequest(
            f"--imds-profile {profile!r}: IMDS serves a role name, so the profile name must be "
            "1 to 64 letters, digits or +=,.@_-"
        )
    return profile


def imds_json(creds: RoleCredentials, now: float) -> dict[str, str]:
    """The credentials document every SDK accepts (Go needs ``Code``: ``Success``)."""
    return {
        "Code": "Success",
        "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "Type": "AWS-HMAC",
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "Token": creds.session_token,
        "Expiration": format_expiration(creds.expiration),
    }


class SessionTokens:
    """Stateless IMDS session tokens: ``expiry || HMAC(key, expiry)``, base64url."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._key = secrets.token_bytes(32)
        self._clock = clock

    def issue(self, ttl: int) -> str:
        """A token good for ``ttl`` seconds (from this process's monotonic clock)."""
        expiry = struct.pack(">d", self._clock() + ttl)
        mac = hmac.new(self._key, expiry, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(expiry + mac).decode().rstrip("=")

    def valid(self, token: str) -> bool:
        """True for a token this process issued that has not expired."""
        if len(token) > 128:
            return False
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except ValueError:
            return False
        if len(raw) != 40:
            return False
        expiry, mac = raw[:8], raw[8:]
        if not hmac.compare_digest(mac, hmac.new(self._key, expiry, hashlib.sha256).digest()):
            return False
        return bool(self._clock() < struct.unpack(">d", expiry)[0])


class ImdsServer(Endpoint):
    """The IMDSv2 endpoint for one profile."""

    NAME = "IMDS endpoint"
    ACCESS_LOG = _ImdsAccessLog

    def __init__(
        self,
        provider: CredentialProvider,
        profile: str,
        region: Callable[[], str | None],
        *,
        port: int,
        listen: Sequence[ListenAddress],
        wait_limit: float = DEFAULT_WAIT_LIMIT,
        max_connections: int = MAX_CONNECTIONS,
        head_timeout: float = HEAD_TIMEOUT,
        retry: float = DEFAULT_RETRY,
        peer_uid: Callable[[tuple[str, int], tuple[str, int]], int | None] = peercred.peer_uid,
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
        self.profile = profile
        self.role = check_role_name(profile)
        self._region = region
        self._loopback = frozenset(a.host for a in self._listen if a.loopback)
        self._peer_uid = peer_uid
        self._uid = os.getuid()
        self._tokens = SessionTokens()

    async def start(self, port: int | None = None) -> None:
        """Listen on 127.0.0.1 (and chosen container addresses); SsodError if it cannot."""
        if not peercred.supported():
            raise errors.SsodError(
                "the IMDS endpoint needs /proc/net/tcp (Linux) to tell your processes from "
                "other users'; use the ECS endpoint (ssod env) here"
            )
        await super().start(port)

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.method == "PUT" and request.path == TOKEN_PATH:
            return gate(request, self._hosts, _PUT) or self._issue_token(request)
        denied = gate(request, self._hosts, GET_HEAD, (_NOT_ALLOWED, _ALLOW))
        if denied is not None:
            return denied
        given = request.headers.get(TOKEN_HEADER)
        if given is None:
            return reply(401, _NO_TOKEN)
        if not self._tokens.valid(given):
            return reply(401, _BAD_TOKEN)
        return await self._route(request.path.rstrip("/"))

    def _issue_token(self, request: web.BaseRequest) -> web.Response:
        # Real IMDS refuses token requests that went through a proxy (an SSRF guard).
        if "X-Forwarded-For" in request.headers:
            return reply(403, _FORWARDED)
        raw = request.headers.get(TTL_HEADER, "")
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_TTL):
            return reply(400, _BAD_TTL)
        if not self._same_user(request):
            log.info("event=imds_refused reason=other_user")
            return reply(403, _OTHER_USER)
        ttl = int(raw)
        return web.Response(
            status=200, text=self._tokens.issue(ttl), headers={**_TEXT, TTL_HEADER: str(ttl)}
        )

    def _same_user(self, request: web.BaseRequest) -> bool:
        """Is the client socket ours? Unlisted clients pass only on a container address."""
        transport = request.transport
        if transport is None:
            return False
        client = transport.get_extra_info("peername")
        server = transport.get_extra_info("sockname")
        if not client or not server:
            return False
        owner = self._peer_uid(tuple(client[:2]), tuple(server[:2]))
        if owner is not None:
            return bool(owner == self._uid)
        return str(server[0]) not in self._loopback

    async def _route(self, path: str) -> web.Response:
        # Trailing slashes are optional, as on EC2; botocore asks for the list with one.
        if path == ROLES_PATH.rstrip("/"):
            return web.Response(text=self.role, headers=_TEXT)
        if path == ROLES_PATH + self.role:
            return await self._credentials()
        if path in (AZ_PATH, REGION_PATH, IDENTITY_PATH):
            return self._placement(path)
        return reply(404, _NO_ROUTE)

    def _placement(self, path: str) -> web.Response:
        """The profile's region, as each SDK asks for it (botocore chops the zone's letter)."""
        region = self._region()
        if not region:
            return reply(404, _NO_REGION)
        if path == IDENTITY_PATH:
            document = {"region": region, "availabilityZone": region + "a"}
            return reply(200, json.dumps(document).encode())
        return web.Response(text=region + "a" if path == AZ_PATH else region, headers=_TEXT)

    async def _credentials(self) -> web.Response:
        return await credentials_reply(
            self._provider,
            self.profile,
            self._wait_limit,
            lambda creds: json.dumps(imds_json(creds, time.time())).encode(),
            log,
        )
