"""The services' error shapes, as pure (status, headers, body) triples.

sso-oidc and the portal are rest-json: botocore reads the error type from ``x-amzn-ErrorType``
(text before the first ``:``), so both send it (docs/protocols.md §1.5, §2). STS is the query
protocol: an XML ``ErrorResponse``. Messages are the real services' texts; none holds a secret.
"""

from __future__ import annotations

import json
import uuid
from xml.sax.saxutils import escape

Wire = tuple[int, dict[str, str], bytes]

_OIDC_NS = "http://internal.amazon.com/coral/com.amazonaws.sso.oidc/"
_PORTAL_NS = "com.amazonaws.switchboard.portal"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"

# exception name -> (HTTP status, OAuth ``error`` value), from the sso-oidc model.
_OIDC: dict[str, tuple[int, str]] = {
    "AuthorizationPendingException": (400, "authorization_pending"),
    "SlowDownException": (400, "slow_down"),
    "ExpiredTokenException": (400, "expired_token"),
    "AccessDeniedException": (400, "access_denied"),
    "InvalidGrantException": (400, "invalid_grant"),
    "InvalidClientException": (401, "invalid_client"),
    "InvalidRequestException": (400, "invalid_request"),
    "UnauthorizedClientException": (400, "unauthorized_client"),
    "UnsupportedGrantTypeException": (400, "unsupported_grant_type"),
    "InvalidScopeException": (400, "invalid_scope"),
    "InvalidClientMetadataException": (400, "invalid_client_metadata"),
    "InvalidRedirectUriException": (400, "invalid_redirect_uri"),
    "InternalServerException": (500, "server_error"),
}

# portal exception name -> HTTP status (sso model, plus ForbiddenException which the real
# service answers for an unassigned role: "(ForbiddenException) ... GetRoleCredentials: No access").
_PORTAL: dict[str, int] = {
    "InvalidRequestException": 400,
    "UnauthorizedException": 401,
    "ForbiddenException": 403,
    "ResourceNotFoundException": 404,
    "TooManyRequestsException": 429,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
}


def request_id() -> str:
    """A fresh request id, as every AWS answer carries."""
    return str(uuid.uuid4())


class OidcError(Exception):
    """An sso-oidc error, named by its model exception."""

    def __init__(self, exception: str, description: str, status: int | None = None) -> None:
        super().__init__(description)
        self.exception = exception
        self.description = description
        self.status = status if status is not None else _OIDC[exception][0]

    def wire(self) -> Wire:
        """The HTTP answer."""
        body = {"error": _OIDC[self.exception][1], "error_description": self.description}
        headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": f"{self.exception}:{_OIDC_NS}",
            "x-amzn-RequestId": request_id(),
        }
        return self.status, headers, json.dumps(body).encode()


class PortalError(Exception):
    """An SSO portal error, named by its exception type."""

    def __init__(self, exception: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.exception = exception
        self.message = message
        self.status = status if status is not None else _PORTAL[exception]

    def wire(self) -> Wire:
        """The HTTP answer."""
        body = {"message": self.message, "__type": f"{_PORTAL_NS}#{self.exception}"}
        headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": f"{self.exception}:http://internal.amazon.com/coral/{_PORTAL_NS}/",
            "x-amzn-RequestId": request_id(),
        }
        return self.status, headers, json.dumps(body).encode()


class StsError(Exception):
    """An STS error: code, message, HTTP status, and Sender or Receiver fault."""

    def __init__(self, code: str, message: str, status: int = 400, fault: str = "Sender") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fault = fault

    def wire(self) -> Wire:
        """The HTTP answer."""
        rid = request_id()
        body = (
            f'<ErrorResponse xmlns="{STS_NS}">\n'
            f"  <Error>\n    <Type>{self.fault}</Type>\n    <Code>{escape(self.code)}</Code>\n"
            f"    <Message>{escape(self.message)}</Message>\n  </Error>\n"
            f"  <RequestId>{rid}</RequestId>\n</ErrorResponse>\n"
        )
        headers = {"Content-Type": "text/xml", "x-amzn-RequestId": rid}
        return self.status, headers, body.encode()


def unauthorized() -> PortalError:
    """The portal's answer to an unknown, expired or logged-out access token."""
    return PortalError("UnauthorizedException", "Session token not found or invalid")


class SigninError(Exception):
    """A federation endpoint (``/federation``) error: an HTTP status and a short HTML page.

    The real endpoint answers a bad ``Session`` with "400 - Invalid credentials parameter" in a
    page, not a structured error; clients can rely on the status only.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def wire(self) -> Wire:
        """The HTTP answer."""
        text = escape(f"HTTP Status {self.status} - {self.message}")
        body = f"<html><head><title>{text}</title></head><body><h1>{text}</h1></body></html>\n"
        headers = {"Content-Type": "text/html;charset=utf-8", "x-amzn-RequestId": request_id()}
        return self.status, headers, body.encode()
