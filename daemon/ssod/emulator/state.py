"""The emulator's sso-oidc state: client registrations, device and PKCE authorizations, sessions,
access and refresh tokens, and the counters, faults, credentials and sign-in tokens the other
services share.

Pure and synchronous: handlers call these methods and render what comes back or what is raised
(``OidcError``/``PortalError``). Time comes only from the injected ``now`` (epoch seconds), so
lifetimes are testable without sleeping. Approval is a timestamp, not a timer: a device code is
approved once ``now`` passes its ``approve_at``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ssod.emulator.config import EmulatorConfig
from ssod.emulator.credentials import CredentialStore
from ssod.emulator.errors import OidcError, unauthorized
from ssod.emulator.faults import FaultBook
from ssod.emulator.federation import SigninTokens
from ssod.emulator.records import (
    AccessRecord,
    AuthCode,
    Client,
    DeviceAuth,
    RefreshRecord,
    Session,
    TokenGrant,
)
from ssod.emulator.redirects import is_loopback_http

Clock = Callable[[], float]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_TYPES = frozenset({DEVICE_GRANT, "authorization_code", "refresh_token"})
# Polls closer together than the interval by more than this are "too fast".
_POLL_TOLERANCE = 0.2


PendingKey = tuple[str, str, str, str]  # client_id, redirect_uri, state, code_challenge


@dataclass
class EmulatorState:
    """All mutable emulator state; one instance per running emulator."""

    config: EmulatorConfig = field(default_factory=EmulatorConfig)
    now: Clock = time.time
    clients: dict[str, Client] = field(default_factory=dict)
    devices: dict[str, DeviceAuth] = field(default_factory=dict)
    pending_authorize: dict[PendingKey, str | None] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    access_tokens: dict[str, AccessRecord] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshRecord] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    #: Each EKS cluster's Kubernetes API stub (``https://127.0.0.1:PORT``) and their CA (PEM).
    kube_endpoints: dict[str, str] = field(default_factory=dict)
    kube_ca: bytes = b""
    #: Calls being answered now, and the most answered at once, per operation (since a reset).
    in_flight: Counter[str] = field(default_factory=Counter)
    peaks: Counter[str] = field(default_factory=Counter)
    faults: FaultBook = field(default_factory=FaultBook)
    creds: CredentialStore = field(init=False)
    signin: SigninTokens = field(init=False)

    def __post_init__(self) -> None:
        self.creds = CredentialStore(self.now)
        self.signin = SigninTokens(self.creds, self.now)

    # -- sso-oidc -------------------------------------------------------------------------

    def register(
        self,
        name: str,
        client_type: str,
        scopes: list[str],
        grant_types: list[str] | None,
        redirect_uris: list[str],
    ) -> Client:
        """RegisterClient."""
        if client_type != "public":
            raise OidcError("InvalidClientMetadataException", "Invalid client type")
        if any(not s or any(c.isspace() for c in s) for s in scopes):
            raise OidcError("InvalidScopeException", "Invalid scope requested")
        if grant_types is not None and not set(grant_types) <= GRANT_TYPES:
            raise OidcError("UnsupportedGrantTypeException", "Unsupported grant type")
        if not all(is_loopback_http(uri) for uri in redirect_uris):
            raise OidcError("InvalidRedirectUriException", "Invalid redirect URI")
        issued = int(self.now())
        client = Client(
            client_id=_token(22),
            secret=_token(96),
            name=name,
            scopes=tuple(scopes),
            grant_types=tuple(grant_types) if grant_types is not None else None,
            redirect_uris=tuple(redirect_uris),
            issued_at=issued,
            expires_at=issued + self.config.registration_lifetime,
        )
        self.clients[client.client_id] = client
        return client

    def client(self, client_id: str, secret: str | None) -> Client:
        """The registered client these credentials name; InvalidClient otherwise."""
        client = self.clients.get(client_id)
        if client is None or (
            secret is not None and not secrets.compare_digest(client.secret, secret)
        ):
            raise OidcError("InvalidClientException", "Invalid client provided")
        if self.now() >= client.expires_at:
            raise OidcError("InvalidClientException", "Client registration has expired")
        return client

    def start_device(self, client: Client, start_url: str) -> DeviceAuth:
        """StartDeviceAuthorization."""
        if not start_url.startswith("https://"):
            raise OidcError("InvalidRequestException", "Invalid start URL")
        now = self.now()
        letters = string.ascii_uppercase
        user_code = "".join(secrets.choice(letters) for _ in range(8))
        auth = DeviceAuth(
            device_code=_token(64),
            user_code=f"{user_code[:4]}-{user_code[4:]}",
            client_id=client.client_id,
            start_url=start_url,
            expires_at=now + self.config.device_expires_in,
            interval=self.config.device_interval,
        )
        if self.config.auto_approve:
            auth.approve_at = now + self.config.approve_delay
            auth.user = self.config.directory.default_user
        self.devices[auth.device_code] = auth
        return auth

    def poll_device(self, client: Client, device_code: str) -> TokenGrant:
        """CreateToken with the device_code grant."""
        if client.grant_types is not None and DEVICE_GRANT not in client.grant_types:
            raise OidcError("UnauthorizedClientException", "Client is not authorized")
        auth = self.devices.get(device_code)
        if auth is None or auth.client_id != client.client_id or auth.consumed:
            raise OidcError("InvalidGrantException", "Invalid device code provided")
        now = self.now()
        if now >= auth.expires_at:
            raise OidcError("ExpiredTokenException", "Device code has expired")
        if auth.denied:
            raise OidcError("AccessDeniedException", "Access denied")
        too_fast = auth.last_poll is not None and now - auth.last_poll < (
            auth.interval - _POLL_TOLERANCE
        )
        auth.last_poll = now
        if too_fast:
            # The AWS CLI v2 polls twice back to back at the start; let that one through.
            if auth.early_poll_used:
                raise OidcError("SlowDownException", "Client is polling too fast")
            auth.early_poll_used = True
        if auth.approve_at is None or now < auth.approve_at:
            raise OidcError("AuthorizationPendingException", "Authorization is still pending")
        auth.consumed = True
        return self._grant(Session(_token(16), client.client_id, auth.user, client.scopes))

    def authorize(
        self, client_id: str, redirect_uri: str, state: str, challenge: str
    ) -> str | None:
        """GET /authorize, already validated: the new code, or None while approval is pending."""
        key = (client_id, redirect_uri, state, challenge)
        user: str | None
        if self.config.auto_approve:
            user = self.config.directory.default_user
        else:
            user = self.pending_authorize.setdefault(key, None)
            if user is None:
                return None
        self.pending_authorize.pop(key, None)
        code = _token(48)
        self.codes[code] = AuthCode(
            client_id, redirect_uri, challenge, user, self.now() + self.config.code_lifetime
        )
        return code

    def exchange_code(
        self, client: Client, code: str, redirect_uri: str | None, verifier: str | None
    ) -> TokenGrant:
        """CreateToken with the authorization_code grant (PKCE S256)."""
        if client.grant_types is None or "authorization_code" not in client.grant_types:
            raise OidcError("UnauthorizedClientException", "Client is not authorized")
        found = self.codes.get(code)
        if found is None or found.used or found.client_id != client.client_id:
            raise OidcError("InvalidGrantException", "Invalid authorization code provided")
        found.used = True
        if self.now() >= found.expires_at:
            raise OidcError("InvalidGrantException", "Authorization code has expired")
        if redirect_uri != found.redirect_uri:
            raise OidcError("InvalidGrantException", "Redirect URI does not match")
        if verifier is None or pkce_challenge(verifier) != found.challenge:
            raise OidcError("InvalidGrantException", "Code verifier does not match")
        return self._grant(Session(_token(16), client.client_id, found.user, client.scopes))

    def refresh(self, client: Client, refresh_token: str) -> TokenGrant:
        """CreateToken with the refresh_token grant."""
        found = self.refresh_tokens.get(refresh_token)
        if (
            found is None
            or found.revoked
            or found.session.ended
            or found.session.client_id != client.client_id
        ):
            raise OidcError("InvalidGrantException", "Invalid refresh token provided")
        if not self.config.refresh_rotation:
            return self._grant(found.session, keep_refresh=refresh_token)
        found.revoked = True
        return self._grant(found.session)

    def _grant(self, session: Session, keep_refresh: str | None = None) -> TokenGrant:
        access = "aoa" + _token(120)
        lifetime = self.config.token_lifetime
        self.access_tokens[access] = AccessRecord(session, self.now() + lifetime)
        refresh = keep_refresh
        if refresh is None and (session.scopes or self.config.refresh_without_scopes):
            refresh = "aor" + _token(120)
            self.refresh_tokens[refresh] = RefreshRecord(session)
        return TokenGrant(access, lifetime, refresh)

    # -- approval and revocation (control API) -------------------------------------------

    def approve(self, user: str | None = None, user_code: str | None = None) -> int:
        """Approve pending device codes and authorize requests; returns how many."""
        who = user or self.config.directory.default_user
        count = 0
        now = self.now()
        for auth in self.devices.values():
            waiting = auth.approve_at is None or auth.approve_at > now
            if waiting and not auth.consumed and user_code in (None, auth.user_code):
                auth.approve_at, auth.user, auth.denied = now, who, False
                count += 1
        if user_code is None:
            for key, approved in self.pending_authorize.items():
                if approved is None:
                    self.pending_authorize[key] = who
                    count += 1
        return count

    def deny(self, user_code: str | None = None) -> int:
        """Deny pending device codes; returns how many."""
        count = 0
        for auth in self.devices.values():
            if not auth.consumed and user_code in (None, auth.user_code):
                auth.denied, auth.approve_at = True, None
                count += 1
        return count

    def forget_clients(self) -> int:
        """Forget every client registration (the application deleted, the instance re-created);
        their device codes, authorization codes and refresh tokens stop working with them."""
        count = len(self.clients)
        self.clients.clear()
        return count

    def revoke(
        self, access_token: str | None = None, refresh_token: str | None = None, *, end: bool
    ) -> int:
        """Revoke refresh tokens (all, or one session's); ``end`` ends the sessions too."""
        target: Session | None = None
        if access_token is not None:
            found = self.access_tokens.get(access_token)
            target = found.session if found else None
        elif refresh_token is not None:
            ref = self.refresh_tokens.get(refresh_token)
            target = ref.session if ref else None
        if (access_token or refresh_token) and target is None:
            return 0
        count = 0
        for ref in self.refresh_tokens.values():
            if target is None or ref.session is target:
                count += not ref.revoked
                ref.revoked = True
                ref.session.ended = ref.session.ended or end
        if end:
            for acc in self.access_tokens.values():
                if target is None or acc.session is target:
                    acc.session.ended = True
        return count

    # -- portal ---------------------------------------------------------------------------

    def session_for(self, access_token: str | None) -> Session:
        """The live session of a portal bearer token; UnauthorizedException otherwise."""
        found = self.access_tokens.get(access_token or "")
        if found is None or found.session.ended or self.now() >= found.expires_at:
            raise unauthorized()
        return found.session

    def logout(self, access_token: str | None) -> None:
        """Portal Logout: ends the token's session, its refresh tokens included."""
        self.session_for(access_token).ended = True


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a verifier: base64url(SHA-256), no padding."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _token(nbytes: int) -> str:
    return secrets.token_urlsafe(nbytes)
