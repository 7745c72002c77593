"""The ``~/.aws/config`` model: which profiles and sso-sessions ssod can serve, and why not.

Owns the immutable ``AwsConfig`` built from the file and the validation botocore 1.43 applies
when it loads SSO and role-chaining credentials (``SSOProvider``, ``SSOTokenProvider``,
``AssumeRoleProvider``; protocols.md sections 4.2, 4.3 and 8). A profile botocore would refuse
becomes a ``ProfileConfigError`` in ``problems`` and the rest is still served; a profile that
works but uses no IAM Identity Center (static keys, credential_process, ...) is listed in
``unserved``. Pure apart from reading the file in ``load``; the grammar is in awsconfig_parse.
"""

from __future__ import annotations

import copy
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TypeAlias

from ssod import paths
from ssod.daemon.config.parse import (
    build_section_map,
    parse_sections,
)
from ssod.errors import ConfigParseError, ProfileConfigError, ProfileNotFound, SessionNotFound

__all__ = [
    "AwsConfig",
    "ChainedProfile",
    "Profile",
    "SsoProfile",
    "SsoSession",
    "load",
    "parse",
]


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

    @property
    def profile_names(self) -> tuple[str, ...]:
        """Names of the profiles ssod can serve, in file order."""
        return tuple(self.profiles)

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

    def profiles_of_session(self, name: str) -> tuple[Profile, ...]:
        """Served profiles whose credentials need sso-session NAME's token (chained ones too)."""
        return tuple(
            profile
            for profile_name, profile in self.profiles.items()
            if self.sso_root(profile_name).sso_session == name
        )


def _fresh(problem: ProfileConfigError) -> ProfileConfigError:
    # Raising the stored instance would grow its traceback on every lookup in a long-lived
    # daemon and tie the frozen config to frames; raise an equal copy instead.
    return copy.copy(problem)


def parse(text: str, path: str) -> AwsConfig:
    """Build the model from config text; raise ConfigParseError if botocore would reject it."""
    # The rules module builds this module's types, so it is imported here, not at the top.
    from ssod.daemon.config.rules import resolve

    return resolve(build_section_map(parse_sections(text, path)), path)


#: Larger config files are refused unparsed: ten thousand profiles take about 2 MiB, and 10 MiB
#: of profiles would keep the parser busy for twenty seconds and the model in memory for good.
MAX_CONFIG_BYTES = 4 << 20


def load(path: Path | None = None) -> AwsConfig:
    """Read and parse the config file (default: ``AWS_CONFIG_FILE`` or ``~/.aws/config``)."""
    target = path if path is not None else paths.aws_config_file()
    shown = str(target)
    # botocore treats anything that is not a regular file as an empty config.
    if not target.is_file():
        return AwsConfig.empty(shown)
    try:
        # Non-blocking, then checked again: a FIFO swapped in after is_file() must not hang us.
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return AwsConfig.empty(shown)
            data = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        # botocore would silently read nothing; refusing lets the daemon keep its old config.
        raise ConfigParseError(f"cannot be read ({exc.strerror})", path=shown) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigParseError(
            f"is larger than {MAX_CONFIG_BYTES >> 20} MiB; ssod does not parse files this large",
            path=shown,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigParseError("is not valid UTF-8", path=shown, line=line) from None
    return parse(text, shown)
