"""Which sessions a configuration describes, and which session each profile's token comes from.

Pure functions of an ``AwsConfig``: each sso-session is a refreshable session, each legacy start
URL (a profile with ``sso_start_url`` and no ``sso_session``) a session that cannot be
refreshed; both are keyed by their token-cache key, as the AWS CLI names the cache file.
"""

from __future__ import annotations

from ssod.daemon.config.awsconfig import AwsConfig, SsoProfile
from ssod.daemon.engine.sessions import SessionSpec
from ssod.daemon.store.tokencache import token_cache_key


def session_specs(config: AwsConfig) -> dict[str, SessionSpec]:
    """Every session the config describes: each sso-session, and each legacy start URL."""
    specs: dict[str, SessionSpec] = {}
    for session in config.sessions.values():
        key = token_cache_key(session.name)
        specs[key] = SessionSpec(
            key=key,
            name=session.name,
            start_url=session.start_url,
            region=session.region,
            scopes=tuple(session.registration_scopes),
            refreshable=True,
            login_hint=f"ssod login --sso-session {session.name}",
        )
    for profile in config.profiles.values():
        if isinstance(profile, SsoProfile) and profile.sso_session is None:
            key = token_cache_key(profile.start_url)
            specs.setdefault(
                key,
                SessionSpec(
                    key=key,
                    name=profile.start_url,
                    start_url=profile.start_url,
                    region=profile.sso_region,
                    scopes=(),
                    refreshable=False,
                    login_hint=f"ssod login --profile {profile.name}",
                ),
            )
    return specs


def session_key(config: AwsConfig, profile: str) -> str:
    """The token-cache key of the session ``profile``'s credentials come from (through chains).

    Raises the config's precise error for a profile that is not rooted in SSO.
    """
    root = config.sso_root(profile)
    return token_cache_key(root.token_key_source)
