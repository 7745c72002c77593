"""The federation endpoint's state: console sign-in tokens made from credentials issued here.

``getSigninToken`` takes the session credentials as JSON (``sessionId``, ``sessionKey``,
``sessionToken``) of credentials issued here (GetRoleCredentials or AssumeRole) and not expired,
and an optional ``SessionDuration`` (900 to 43200 seconds; refused for role-chained credentials,
as AWS does), and hands out a sign-in token that lives 15 minutes. ``Action=login`` redeems a
token once. Pure: the HTTP side is ``signin.py``; time comes from the injected clock.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from ssod.emulator.credentials import CredentialStore, IssuedCredentials
from ssod.emulator.errors import SigninError

#: How long a sign-in token can be redeemed (AWS: 15 minutes).
SIGNIN_TOKEN_LIFETIME = 900
MIN_SESSION_DURATION = 900
MAX_SESSION_DURATION = 43200
_BAD_CREDENTIALS = "Invalid credentials parameter"


@dataclass
class SigninGrant:
    """One sign-in token and whose console session it opens."""

    token: str
    creds: IssuedCredentials
    expires_at: float
    session_duration: int | None
    used: bool = False


class SigninTokens:
    """Issues and redeems sign-in tokens."""

    def __init__(self, creds: CredentialStore, now: Callable[[], float]) -> None:
        self._creds = creds
        self._now = now
        self.grants: dict[str, SigninGrant] = {}

    def issue(self, session: str | None, duration: str | None) -> SigninGrant:
        """getSigninToken; raises ``SigninError`` for anything AWS would refuse."""
        creds = self._credentials(session)
        seconds = None
        if duration is not None:
            try:
                seconds = int(duration)
            except ValueError:
                raise SigninError("Invalid SessionDuration parameter") from None
            if not MIN_SESSION_DURATION <= seconds <= MAX_SESSION_DURATION:
                raise SigninError("Invalid SessionDuration parameter")
            if creds.chained:
                # Credentials from role chaining cannot ask for a console session duration.
                raise SigninError(_BAD_CREDENTIALS)
        grant = SigninGrant(
            token=secrets.token_urlsafe(96),
            creds=creds,
            expires_at=self._now() + SIGNIN_TOKEN_LIFETIME,
            session_duration=seconds,
        )
        self.grants[grant.token] = grant
        return grant

    def _credentials(self, session: str | None) -> IssuedCredentials:
        try:
            fields = json.loads(session or "")
        except ValueError:
            raise SigninError(_BAD_CREDENTIALS) from None
        if not isinstance(fields, dict):
            raise SigninError(_BAD_CREDENTIALS)
        values = [fields.get(k) for k in ("sessionId", "sessionKey", "sessionToken")]
        if not all(isinstance(v, str) for v in values):
            raise SigninError(_BAD_CREDENTIALS)
        key_id, secret, token = (str(v) for v in values)
        creds = self._creds.lookup(key_id)
        if (
            creds is None
            or not secrets.compare_digest(creds.secret_access_key, secret)
            or not secrets.compare_digest(creds.session_token, token)
        ):
            raise SigninError(_BAD_CREDENTIALS)
        if self._creds.expired(creds):
            raise SigninError("The session credentials have expired")
        return creds

    def redeem(self, token: str | None) -> SigninGrant:
        """Action=login: the grant of a live, unused token; ``SigninError`` otherwise."""
        grant = self.grants.get(token or "")
        if grant is None or grant.used or self._now() >= grant.expires_at:
            raise SigninError("The sign-in token is invalid or has expired")
        grant.used = True
        return grant
