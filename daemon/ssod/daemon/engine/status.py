"""The status snapshot: what ``ssod status`` shows of sessions and profiles, free of secrets.

Pure functions of the broker's state at ``now``: stable keys (documented for ``--json`` in
ssod.client.output.render), timestamps as ``YYYY-MM-DDTHH:MM:SSZ``, never a token or a key.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ssod.daemon.aws.credentials import RoleCredentials
from ssod.daemon.config.awsconfig import AwsConfig, ChainedProfile, Profile, SsoProfile
from ssod.daemon.engine.sessions import SessionState
from ssod.daemon.store.tokencache import format_timestamp
from ssod.errors import LoginRequired

if TYPE_CHECKING:
    from ssod.replies import ProfileStatus, SessionStatus


class ServedProfile(Protocol):
    """What the status of a served profile reads (the broker's ``ServedProfile`` fits)."""

    @property
    def profile(self) -> Profile: ...

    @property
    def creds(self) -> RoleCredentials | None: ...

    @property
    def last_used(self) -> datetime | None: ...

    @property
    def last_error(self) -> str | None: ...

    @property
    def last_error_code(self) -> str | None: ...


def session_status(state: SessionState, now: datetime) -> SessionStatus:
    """One session: its state, token expiry, refresh schedule and last error."""
    token = state.token
    # "expired" is only for a token ssod can still refresh (AWS unreachable); one that
    # cannot be renewed any more needs a login, whether or not it has expired yet.
    if token is None or state.login_required:
        condition = "login_required"
    elif token.expires_at <= now:
        condition = "expired"
    else:
        condition = "ready"
    return {
        "name": state.spec.name,
        "kind": "sso-session" if state.spec.refreshable else "legacy",
        "start_url": state.spec.start_url,
        "region": state.spec.region,
        "state": condition,
        "token_expires_at": _ts(token.expires_at if token else None),
        "refreshable": bool(
            state.spec.refreshable and token is not None and token.can_refresh(now)
        ),
        "last_refresh": _ts(state.last_refresh),
        "next_refresh": _ts(state.next_refresh),
        "next_refresh_reason": state.refresh_why,
        # A token file that cannot be read is the most pressing error while it lasts; once the
        # file reads again, whatever went wrong before (if anything) is the truth again. A token
        # the file could not take comes next: other tools read an older one meanwhile.
        "last_error": state.cache_error
        or state.write_error
        or state.secrets_error
        or state.last_error,
        "login_command": state.spec.login_hint,
    }


def profile_status(
    served: ServedProfile, session: SessionState | None, config: AwsConfig | None, now: datetime
) -> ProfileStatus:
    """One served profile: account, role, region and its credentials' expiry."""
    profile = served.profile
    creds = served.creds
    if isinstance(profile, SsoProfile):
        account_id: str | None = profile.account_id
    else:
        account_id = creds.account_id if creds else _arn_account(profile.role_arn)
    info: ProfileStatus = {
        "name": profile.name,
        "session": session.spec.name if session else None,
        "kind": "assume_role" if isinstance(profile, ChainedProfile) else "sso",
        "credentials_expire_at": _ts(creds.expiration if creds else None),
        "served": creds is not None and creds.expiration > now,
        "last_used": _ts(served.last_used),
        "last_error": _current_error(served, session, now),
        # The region SDKs should use with this profile's credentials (what `ssod env` exports).
        "region": profile.region or (config.sso_root(profile.name).region if config else None),
        "account_id": account_id,
    }
    if isinstance(profile, SsoProfile):
        info["role_name"] = profile.role_name
    else:
        info["role_arn"] = profile.role_arn
    return info


def _current_error(
    served: ServedProfile, session: SessionState | None, now: datetime
) -> str | None:
    """The profile's last error, unless it was a login its session has since had."""
    if served.last_error_code == LoginRequired.code and session is not None:
        token = session.token
        if token is not None and token.expires_at > now and not session.login_required:
            return None
    return served.last_error


def _ts(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment is not None else None


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None
