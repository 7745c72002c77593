"""The gate in front of both HTTP endpoints (ECS, IMDS): Host, browser, method and secret checks.

Owns the checks a request passes before any endpoint looks at its path: the Host header must
name an address being served (DNS rebinding), no browser page may call (``Origin``,
``Sec-Fetch-Site``), only the endpoint's methods are allowed; and :class:`SecretCheck`, the
constant-time comparison of a presented secret against the current one. One call per request
on the hot path; nothing here logs or echoes a header value.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Final

from aiohttp import web

from ssod.daemon.serve.http.replies import (
    CODE_FORBIDDEN,
    CODE_METHOD_NOT_ALLOWED,
    NO_STORE,
    error_body,
    reply,
)

#: What a refused method is answered by default: the body and the ``Allow`` header.
NOT_ALLOWED: Final = error_body(CODE_METHOD_NOT_ALLOWED, "only GET and HEAD are allowed")
ALLOW: Final = {**NO_STORE, "Allow": "GET, HEAD"}
GET_HEAD: Final = ("GET", "HEAD")

_BAD_HOST: Final = error_body(
    CODE_FORBIDDEN, "the Host header must name an address the endpoint serves (127.0.0.1:PORT)"
)
_CROSS_SITE: Final = error_body(CODE_FORBIDDEN, "requests from web pages are refused")


def gate(
    request: web.BaseRequest,
    hosts: frozenset[str],
    methods: tuple[str, ...] = GET_HEAD,
    not_allowed: tuple[bytes, dict[str, str]] | None = None,
) -> web.Response | None:
    """Refuse DNS-rebinding and browser requests (403) and other methods (405); else None."""
    headers = request.headers
    # DNS rebinding: a web page can reach 127.0.0.1 under its own name, but cannot forge
    # Host (aws-vault added this check after 99designs/aws-vault#578).
    if headers.get("Host") not in hosts:
        return reply(403, _BAD_HOST)
    # No browser has a reason to be here; Origin and Sec-Fetch-Site betray page scripts.
    if "Origin" in headers or headers.get("Sec-Fetch-Site", "none") not in (
        "none",
        "same-origin",
    ):
        return reply(403, _CROSS_SITE)
    if request.method not in methods:
        body, allow = not_allowed or (NOT_ALLOWED, ALLOW)
        return reply(405, body, allow)
    return None


class SecretCheck:
    """Constant-time check of a presented value against the current secret (which may rotate)."""

    def __init__(self, secret: Callable[[], str]) -> None:
        self._secret = secret
        self._known = ""
        self._digest = b""

    def __call__(self, given: str) -> bool:
        """True only if ``given`` is exactly the current, non-empty secret."""
        secret = self._secret()
        if not secret:
            return False
        if secret != self._known:
            self._known = secret
            self._digest = hashlib.sha256(secret.encode()).digest()
        # Comparing digests keeps the time independent of the length of the guess too.
        offered = hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest()
        return hmac.compare_digest(offered, self._digest)
