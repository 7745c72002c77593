"""The records the sso-oidc state keeps: registrations, authorizations, sessions and tokens.

Plain mutable dataclasses with no behaviour; ``state.py`` owns every transition between them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Client:
    """A RegisterClient result."""

    client_id: str
    secret: str
    name: str
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...] | None
    redirect_uris: tuple[str, ...]
    issued_at: int
    expires_at: int


@dataclass
class DeviceAuth:
    """A StartDeviceAuthorization in progress."""

    device_code: str
    user_code: str
    client_id: str
    start_url: str
    expires_at: float
    interval: int
    approve_at: float | None = None
    user: str = ""
    denied: bool = False
    consumed: bool = False
    last_poll: float | None = None
    early_poll_used: bool = False


@dataclass
class AuthCode:
    """An authorization code handed out by /authorize (PKCE)."""

    client_id: str
    redirect_uri: str
    challenge: str
    user: str
    expires_at: float
    used: bool = False


@dataclass
class Session:
    """A user's sign-in; Logout or revocation ends it, and every token of it."""

    session_id: str
    client_id: str
    user: str
    scopes: tuple[str, ...]
    ended: bool = False


@dataclass
class TokenGrant:
    """What CreateToken answers."""

    access_token: str
    expires_in: int
    refresh_token: str | None


@dataclass
class AccessRecord:
    """An issued access token."""

    session: Session
    expires_at: float


@dataclass
class RefreshRecord:
    """An issued refresh token."""

    session: Session
    revoked: bool = False
