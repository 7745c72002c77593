"""The pure parts of the sso-oidc login flows, exactly as the AWS CLI does them.

PKCE verifier and challenge, the authorize URL, the loopback redirect URI, client names, and
the device-flow polling decision (docs/protocols.md sections 1.4, 5.2). No I/O, no clock.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import uuid
from dataclasses import dataclass
from urllib.parse import quote

#: RFC 7636 unreserved characters (CLI-bc utils.py `SSOTokenFetcherAuth._generate_code_verifier`).
_VERIFIER_ALPHABET = string.ascii_letters + string.digits + "-._~"
#: The scope PKCE registrations get when none is configured (CLI-bc `_register_client`).
DEFAULT_SCOPES = ("sso:account:access",)
PKCE_GRANT_TYPES = ("authorization_code", "refresh_token")
#: Registered without a port; the authorize and token requests add the bound port.
REDIRECT_URI_BASE = "http://127.0.0.1/oauth/callback"
CALLBACK_PATH = "/oauth/callback"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: Added to the polling interval after each SlowDown (RFC 8628 section 3.5).
SLOW_DOWN_STEP = 5


def code_verifier() -> str:
    """A 64-character PKCE code verifier."""
    return "".join(secrets.choice(_VERIFIER_ALPHABET) for _ in range(64))


def code_challenge(verifier: str) -> str:
    """S256 challenge: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def new_state() -> str:
    """The ``state`` parameter: a UUID4, as the CLI sends."""
    return str(uuid.uuid4())


def redirect_uri(port: int) -> str:
    """The loopback redirect URI with the bound port."""
    return f"http://127.0.0.1:{port}{CALLBACK_PATH}"


def client_name(session_name: str | None, epoch_seconds: int) -> str:
    """``botocore-client-<session>``, or ``botocore-client-<epoch>`` for legacy profiles."""
    return f"botocore-client-{session_name if session_name else epoch_seconds}"


def _q(value: str) -> str:
    return quote(value, safe="-_.~")


@dataclass(frozen=True)
class AuthorizeRequest:
    """The parameters of one PKCE authorization."""

    oidc_endpoint: str
    client_id: str
    redirect_uri: str
    state: str
    scopes: tuple[str, ...]
    challenge: str

    def url(self) -> str:
        """The authorize URL, parameters in the CLI's order, the challenge appended last."""
        params = [
            ("response_type", "code"),
            ("client_id", self.client_id),
            ("redirect_uri", self.redirect_uri),
            ("state", self.state),
            ("code_challenge_method", "S256"),
            ("scopes", " ".join(self.scopes)),
        ]
        query = "&".join(f"{k}={_q(v)}" for k, v in params)
        return f"{self.oidc_endpoint.rstrip('/')}/authorize?{query}&code_challenge={self.challenge}"


@dataclass(frozen=True)
class PollStep:
    """What to do after one device-flow CreateToken attempt that did not yield a token."""

    wait: int  # seconds until the next attempt (the new interval)
    fail: str | None = None  # a reason to give up, or None to keep polling


def after_poll(kind: str, interval: int) -> PollStep:
    """Decide after a CreateToken error ``kind`` in the device flow."""
    if kind == "authorization_pending":
        return PollStep(wait=interval)
    if kind == "slow_down":
        return PollStep(wait=interval + SLOW_DOWN_STEP)
    if kind == "expired_token":
        return PollStep(wait=0, fail="the device authorization expired before it was approved")
    if kind == "access_denied":
        return PollStep(wait=0, fail="the authorization was denied")
    return PollStep(wait=0, fail=f"IAM Identity Center refused the login: {kind}")
