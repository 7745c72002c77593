"""The ``~/.aws/config`` model: the immutable ``AwsConfig`` and the profiles it serves.

Owns the frozen value types (``AwsConfig``, ``SsoProfile``, ``ChainedProfile``, ``SsoSession``)
and the lookups on them, with the errors botocore would raise for a missing or invalid profile.
Built by ``ssod.daemon.config.rules``; read from a file by ``ssod.daemon.config.awsconfig``, the
config layer's entry point, which re-exports these types. Pure.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeAlias

from ssod.errors import ProfileConfigError, ProfileNotFound, SessionNotFound


@dataclass(frozen=True)
class SsoSession:
    """An ``[sso-session NAME]`` with both required keys."""

    name: str
    start_url: str
    region: str
    registration_scopes: tuple[str, ...]
    line: int | None


@dataclass(frozen=True)
class SsoProfile:
    """A profile whose credentials come straight from IAM Identity Center."""

    name: str
    account_id: str
    role_name: str
    sso_session: str | None
    start_url: str
    sso_region: str
    region: str | None
    output: str | None
    line: int | None

    @property
    def refreshable(self) -> bool:
        """True for the sso-session form; the legacy form's token cannot be refreshed."""
        return self.sso_session is not None

    @property
    def token_key_source(self) -> str:
        """What the token file name is the SHA-1 of: session name, or start URL as written."""
        return self.sso_session if self.sso_session is not None else self.start_url


@dataclass(frozen=True)
class ChainedProfile:
    """A profile that assumes ``role_arn`` with credentials from ``source_profile``."""

    name: str
    role_arn: str
    source_profile: str
    role_session_name: str | None
    duration_seconds: int | None
    external_id: str | None
    region: str | None
    output: str | None
    line: int | None


Profile: TypeAlias = SsoProfile | ChainedProfile


@dataclass(frozen=True)
class AwsConfig:
    """Everything ssod takes from one config file. ``profiles`` holds only what ssod serves."""

    path: str
    sessions: Mapping[str, SsoSession]
    profiles: Mapping[str, Profile]
    problems: tuple[ProfileConfigError, ...] = ()
    #: Profiles that work elsewhere but not through ssod, with the reason (for messages).
    unserved: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: The entries of ``problems`` again, by profile and by sso-session name.
    profile_problems: Mapping[str, ProfileConfigError] = field(
        default_factory=lambda: MappingProxyType({})
    )
    session_problems: Mapping[str, ProfileConfigError] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @classmethod
    def empty(cls, path: str) -> AwsConfig:
        """A config with nothing in it (what a missing file means)."""
        return cls(path=path, sessions=MappingProxyType({}), profiles=MappingProxyType({}))

    def profile(self, name: str) -> Profile:
        """The served profile NAME; its ProfileConfigError if invalid, else ProfileNotFound."""
        found = self.profiles.get(name)
        if found is not None:
            return found
        if name in self.profile_problems:
            raise _fresh(self.profile_problems[name])
        if name in self.unserved:
            raise ProfileNotFound(
                f'The profile "{name}" is not served by ssod: it {self.unserved[name]}.'
            )
        raise ProfileNotFound(f"The config profile ({name}) could not be found in {self.path}")

    def session(self, name: str) -> SsoSession:
        """The sso-session NAME; its ProfileConfigError if incomplete, else SessionNotFound."""
        found = self.sessions.get(name)
        if found is not None:
            return found
        if name in self.session_problems:
            raise _fresh(self.session_problems[name])
        raise SessionNotFound(f'The sso-session "{name}" could not be found in {self.path}')

    def sso_root(self, profile_name: str) -> SsoProfile:
        """The SSO profile at the root of PROFILE_NAME's source_profile chain (or itself)."""
        current = self.profile(profile_name)
        # parse() admits a chained profile only once its whole chain resolved without a
        # loop, so this walk ends.
        while isinstance(current, ChainedProfile):
            current = self.profiles[current.source_profile]
        return current


def _fresh(problem: ProfileConfigError) -> ProfileConfigError:
    # Raising the stored instance would grow its traceback on every lookup in a long-lived
    # daemon and tie the frozen config to frames; raise an equal copy instead.
    return copy.copy(problem)
