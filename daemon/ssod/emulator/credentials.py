"""Role credentials the emulator has issued (GetRoleCredentials and AssumeRole), by access key id.

STS looks keys up here to verify signatures and to answer GetCallerIdentity with the identity the
key belongs to. Identities follow the real shapes: SSO roles appear as
``assumed-role/AWSReservedSSO_<role>_<16 hex>/<user>`` and UserIds as ``AROA...:<session>``.
Pure; time comes from the injected clock.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class IssuedCredentials:
    """One set of temporary credentials and whose they are."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: float
    account_id: str
    arn: str
    user_id: str
    #: Issued by AssumeRole with role credentials (role chaining), not by GetRoleCredentials.
    chained: bool = False


def role_id(account_id: str, role_name: str) -> str:
    """A stable fake unique role id (``AROA`` + 17 characters)."""
    digest = hashlib.sha256(f"{account_id}/{role_name}".encode()).digest()
    return "AROA" + base64.b32encode(digest).decode()[:17]


def sso_role_name(account_id: str, permission_set: str) -> str:
    """The IAM role name IAM Identity Center provisions for a permission set."""
    suffix = hashlib.sha256(f"{account_id}/{permission_set}".encode()).hexdigest()[:16]
    return f"AWSReservedSSO_{permission_set}_{suffix}"


class CredentialStore:
    """Issues and looks up temporary credentials."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self.issued: dict[str, IssuedCredentials] = {}

    def issue(
        self,
        account_id: str,
        role_name: str,
        session_name: str,
        lifetime: int,
        *,
        chained: bool = False,
    ) -> IssuedCredentials:
        """New credentials for ``role_name`` in ``account_id`` under ``session_name``."""
        key_id = "ASIA" + base64.b32encode(secrets.token_bytes(10)).decode()
        creds = IssuedCredentials(
            access_key_id=key_id,
            secret_access_key=base64.b64encode(secrets.token_bytes(30)).decode(),
            session_token="IQoJb3JpZ2luX2VjE" + base64.b64encode(secrets.token_bytes(180)).decode(),
            expires_at=int(self._now()) + lifetime,
            account_id=account_id,
            arn=f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}",
            user_id=f"{role_id(account_id, role_name)}:{session_name}",
            chained=chained,
        )
        self.issued[key_id] = creds
        return creds

    def lookup(self, access_key_id: str) -> IssuedCredentials | None:
        """The credentials with this key id, expired or not."""
        return self.issued.get(access_key_id)

    def expired(self, creds: IssuedCredentials) -> bool:
        """Has ``creds`` expired?"""
        return self._now() >= creds.expires_at
