"""The answers both HTTP endpoints (ECS, IMDS) give: JSON ``{code, message}`` bodies and statuses.

Owns the reply shape every SDK understands (``application/json`` exactly, or Go ignores the
error body; ``Cache-Control: no-store``; docs/protocols.md §6), the codes for answers no
``ssod.errors`` class stands for, and the one mapping from an ``ssod.errors`` class to an HTTP
status. No message here names a secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from aiohttp import web

from ssod import errors

# Codes for answers no ssod.errors class stands for.
CODE_UNAUTHORIZED: Final = "unauthorized"
CODE_FORBIDDEN: Final = "forbidden"
CODE_NOT_FOUND: Final = "not_found"
CODE_METHOD_NOT_ALLOWED: Final = "method_not_allowed"
CODE_INTERNAL: Final = "internal_error"

JSON: Final = (
    "application/json"  # exactly this, or Go ignores the error body (docs/protocols.md §6)
)
NO_STORE: Final = {"Cache-Control": "no-store"}


def error_body(code: str, message: str) -> bytes:
    """The ``{code, message}`` error body every SDK understands (docs/protocols.md §6)."""
    return json.dumps({"code": code, "message": message}).encode()


def reply(status: int, body: bytes, headers: Mapping[str, str] = NO_STORE) -> web.Response:
    """A JSON answer (``body`` from :func:`error_body` for errors), not cached."""
    return web.Response(status=status, body=body, content_type=JSON, headers=headers)


INTERNAL: Final = error_body(CODE_INTERNAL, "internal error; see the ssod log")


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


def error_reply(err: errors.SsodError) -> web.Response:
    """``err`` as its status and ``{code, message}`` body."""
    return reply(status_for(err), error_body(err.code, err.message))
