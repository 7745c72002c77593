"""Role credentials as the daemon holds and serves them, and the one expiration format.

Pure and frozen: the value that ``GetRoleCredentials`` (``ssod.daemon.aws.api``) and console
federation hand back, that the broker caches and that every transport serves. It never shows
its secrets in ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ssod.replies import CredentialsReply


def format_expiration(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``: whole seconds, UTC, ``Z`` (the only form every SDK accepts)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RoleCredentials:
    """Temporary AWS credentials for one role, as served to clients."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime
    account_id: str
    role_arn: str | None = None

    def remaining(self, now: datetime) -> timedelta:
        """How long these credentials stay valid after ``now``."""
        return self.expiration - now

    def ecs_json(self) -> dict[str, str]:
        """The container-credentials response body (docs/protocols.md section 6)."""
        body = {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "Token": self.session_token,
            "Expiration": format_expiration(self.expiration),
            "AccountId": self.account_id,
        }
        if self.role_arn:
            body["RoleArn"] = self.role_arn
        return body

    def ipc_reply(self) -> CredentialsReply:
        """The ``credentials`` IPC reply: the ECS body in its order, with the session token last
        under credential_process's name (``SessionToken``)."""
        expiration = format_expiration(self.expiration)
        if self.role_arn:
            return {
                "AccessKeyId": self.access_key_id,
                "SecretAccessKey": self.secret_access_key,
                "Expiration": expiration,
                "AccountId": self.account_id,
                "RoleArn": self.role_arn,
                "SessionToken": self.session_token,
            }
        return {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "Expiration": expiration,
            "AccountId": self.account_id,
            "SessionToken": self.session_token,
        }
