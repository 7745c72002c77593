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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TypeAlias

from ssod import paths
from ssod.daemon.awsconfig_parse import (
    RawSection,
    SectionMap,
    Value,
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
    return _Resolver(build_section_map(parse_sections(text, path)), path).config()


def load(path: Path | None = None) -> AwsConfig:
    """Read and parse the config file (default: ``AWS_CONFIG_FILE`` or ``~/.aws/config``)."""
    target = path if path is not None else paths.aws_config_file()
    shown = str(target)
    # botocore treats anything that is not a regular file as an empty config.
    if not target.is_file():
        return AwsConfig.empty(shown)
    try:
        data = target.read_bytes()
    except OSError as exc:
        # botocore would silently read nothing; refusing lets the daemon keep its old config.
        raise ConfigParseError(f"cannot be read ({exc.strerror})", path=shown) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigParseError("is not valid UTF-8", path=shown, line=line) from None
    return parse(text, shown)


# Key sets from botocore 1.43 credentials.py / tokens.py.
_SSO_TRIGGERS = ("sso_role_name", "sso_account_id")
_SSO_REQUIRED = ("sso_role_name", "sso_account_id", "sso_start_url", "sso_region")
_SESSION_REQUIRED = ("sso_start_url", "sso_region")
_STATIC_KEYS = ("aws_secret_access_key", "aws_access_key_id")
_CREDENTIAL_SOURCES = ("Environment", "Ec2InstanceMetadata", "EcsContainer")
_SECRET_HINTS = ("secret", "token", "password")


class _Invalid(Exception):
    """botocore would refuse this profile or sso-session; the message says why."""


class _Unserved(Exception):
    """The profile works elsewhere but not through ssod; the message is the reason."""


def _text(values: Mapping[str, Value], key: str) -> str | None:
    value = values.get(key)
    if isinstance(value, dict):
        raise _Invalid(f"The value for {key} must be a single value, not an indented block.")
    return value


def _required(values: Mapping[str, Value], key: str) -> str:
    value = _text(values, key)
    assert value is not None  # the caller checked presence, with botocore's message
    return value


def _has_static(values: Mapping[str, Value]) -> bool:
    return any(key in values for key in _STATIC_KEYS)


def _assumes_role(values: Mapping[str, Value]) -> bool:
    # AssumeRoleProvider._has_assume_role_config_vars: web identity takes role_arn itself.
    return "role_arn" in values and "web_identity_token_file" not in values


def _shown(key: str, value: Value) -> str:
    # botocore prints both values; a [DEFAULT]-injected secret must not reach a log.
    return "<redacted>" if any(hint in key for hint in _SECRET_HINTS) else str(value)


class _Resolver:
    """Classifies every profile and sso-session the way botocore's providers would."""

    def __init__(self, sections: SectionMap, path: str) -> None:
        self._path = path
        self._profiles = sections.profiles
        self._sessions = sections.sso_sessions
        self._sso_done: dict[str, SsoProfile | _Invalid] = {}

    def config(self) -> AwsConfig:
        sessions: dict[str, SsoSession] = {}
        session_problems: dict[str, ProfileConfigError] = {}
        for name, section in self._sessions.items():
            try:
                sessions[name] = self._session(name, section)
            except _Invalid as exc:
                session_problems[name] = self._error(exc, section)
        profiles: dict[str, Profile] = {}
        unserved: dict[str, str] = {}
        profile_problems: dict[str, ProfileConfigError] = {}
        for name, section in self._profiles.items():
            try:
                profiles[name] = self._profile(name)
            except _Unserved as exc:
                unserved[name] = str(exc)
            except _Invalid as exc:
                profile_problems[name] = self._error(exc, section)
        problems = sorted(
            [*session_problems.values(), *profile_problems.values()],
            key=lambda err: err.line or 0,
        )
        return AwsConfig(
            path=self._path,
            sessions=MappingProxyType(sessions),
            profiles=MappingProxyType(profiles),
            problems=tuple(problems),
            unserved=MappingProxyType(unserved),
            profile_problems=MappingProxyType(profile_problems),
            session_problems=MappingProxyType(session_problems),
        )

    def _error(self, exc: _Invalid, section: RawSection) -> ProfileConfigError:
        return ProfileConfigError(
            str(exc), path=self._path, section=section.header, line=section.line
        )

    def _session(self, name: str, section: RawSection) -> SsoSession:
        values = section.values
        missing = [key for key in _SESSION_REQUIRED if key not in values]
        if missing:
            raise _Invalid(
                f'The sso-session "{name}" is missing required configuration: ' + ", ".join(missing)
            )
        # As the CLI reads them: split on commas, strip, drop empties.
        scopes = _text(values, "sso_registration_scopes") or ""
        return SsoSession(
            name=name,
            start_url=_required(values, "sso_start_url"),
            region=_required(values, "sso_region"),
            registration_scopes=tuple(s.strip() for s in scopes.split(",") if s.strip()),
            line=section.line,
        )

    def _profile(self, name: str) -> Profile:
        # The default chain tries AssumeRoleProvider before the per-profile providers.
        if _assumes_role(self._profiles[name].values):
            return self._chained(name)
        return self._from_profile_chain(name, source=False)

    def _from_profile_chain(self, name: str, *, source: bool) -> SsoProfile:
        # ProfileProviderBuilder.providers order: web identity, SSO, shared credentials
        # file, login, credential_process, static keys in the config file.
        values = self._profiles[name].values
        if "web_identity_token_file" in values:
            raise _Unserved("uses web_identity_token_file")
        if any(key in values for key in _SSO_TRIGGERS):
            profile = self._sso(name)
            if "role_arn" in values:
                # Only a source profile with static keys gets here: botocore then ignores
                # its role_arn, which ssod's model (one kind per profile) cannot express.
                raise _Unserved("mixes static keys, role_arn and SSO settings")
            return profile
        if "login_session" in values:
            raise _Unserved("uses login_session")
        if "credential_process" in values:
            raise _Unserved("uses credential_process")
        if _has_static(values):
            raise _Unserved("uses static access keys")
        if source:
            raise _Invalid(f'The source profile "{name}" must have credentials.')
        if "sso_session" in values:
            raise _Unserved("has sso_session but neither sso_account_id nor sso_role_name")
        raise _Unserved("configures no credentials")

    def _sso(self, name: str) -> SsoProfile:
        done = self._sso_done.get(name)
        if done is None:
            try:
                done = self._check_sso(name)
            except _Invalid as exc:
                done = exc
            self._sso_done[name] = done
        if isinstance(done, _Invalid):
            raise done
        return done

    def _check_sso(self, name: str) -> SsoProfile:
        # SSOProvider._load_sso_config, then SSOTokenProvider._load_sso_config (which
        # botocore runs only when it needs the token, but the profile is useless without it).
        section = self._profiles[name]
        values = section.values
        session_name = _text(values, "sso_session")
        resolved = dict(values)
        if session_name is not None:
            if session_name not in self._sessions:
                raise _Invalid(f'The specified sso-session does not exist: "{session_name}"')
            for key, value in self._sessions[session_name].values.items():
                if resolved.get(key, value) != value:
                    raise _Invalid(
                        f"The value for {key} is inconsistent between profile "
                        f"({_shown(key, resolved[key])}) and sso-session ({_shown(key, value)})."
                    )
                resolved[key] = value
        missing = [key for key in _SSO_REQUIRED if key not in resolved]
        if missing:
            raise _Invalid(
                f'The profile "{name}" is configured to use SSO but is missing required '
                f"configuration: {', '.join(missing)}"
            )
        if session_name is not None:
            session = self._sessions[session_name].values
            if not session:
                raise _Invalid(
                    f'The profile "{name}" is configured to use the SSO token provider but '
                    f'the "{session_name}" sso_session configuration does not exist.'
                )
            missing = [key for key in _SESSION_REQUIRED if key not in session]
            if missing:
                raise _Invalid(
                    f'The profile "{name}" is configured to use the SSO token provider but '
                    f"is missing the following configuration: {missing}."
                )
        return SsoProfile(
            name=name,
            account_id=_required(resolved, "sso_account_id"),
            role_name=_required(resolved, "sso_role_name"),
            sso_session=session_name,
            start_url=_required(resolved, "sso_start_url"),
            sso_region=_required(resolved, "sso_region"),
            region=_text(values, "region"),
            output=_text(values, "output"),
            line=section.line,
        )

    def _chained(self, top: str) -> ChainedProfile:
        # AssumeRoleProvider._load_creds_via_assume_role, walked without calling AWS.
        visited = [top]
        current = top
        while True:
            values = self._profiles[current].values
            source = self._role_source(current, values, visited)
            self._check_role_options(top, current, values)
            visited.append(source)
            source_values = self._profiles[source].values
            if _has_static(source_values) or not _assumes_role(source_values):
                break
            current = source
        try:
            self._from_profile_chain(source, source=True)
        except _Unserved as exc:
            raise _Unserved(
                f'gets its source credentials from profile "{source}", which {exc}'
            ) from None
        except _Invalid as exc:
            if source == top:
                raise
            raise _Invalid(f'The source profile "{source}" cannot be used: {exc}') from None
        values = self._profiles[top].values
        duration = _text(values, "duration_seconds")
        return ChainedProfile(
            name=top,
            role_arn=_required(values, "role_arn"),
            source_profile=_required(values, "source_profile"),
            role_session_name=_text(values, "role_session_name"),
            duration_seconds=int(duration) if duration is not None else None,
            external_id=_text(values, "external_id"),
            region=_text(values, "region"),
            output=_text(values, "output"),
            line=self._profiles[top].line,
        )

    def _role_source(self, name: str, values: Mapping[str, Value], visited: list[str]) -> str:
        # AssumeRoleProvider._get_role_config and _validate_source_profile.
        _required(values, "role_arn")
        source = _text(values, "source_profile")
        credential_source = _text(values, "credential_source")
        if source is not None and credential_source is not None:
            raise _Invalid(
                f'The profile "{name}" contains both source_profile and credential_source.'
            )
        if source is None:
            if credential_source is None:
                raise _Invalid(
                    f'The profile "{name}" has role_arn but neither source_profile nor '
                    "credential_source."
                )
            if credential_source not in _CREDENTIAL_SOURCES:
                raise _Invalid(
                    f'The credential source "{credential_source}" referenced in profile '
                    f'"{name}" is not valid.'
                )
            raise _Unserved(f"takes its source credentials from credential_source (via {name})")
        if source not in self._profiles:
            raise _Invalid(
                f'The source_profile "{source}" referenced in the profile "{name}" does not exist.'
            )
        if source in visited and (source != name or not _has_static(self._profiles[source].values)):
            raise _Invalid(
                "Infinite loop in credential configuration detected. Attempting to load from "
                f"profile {source} which has already been visited. Visited profiles: {visited}"
            )
        return source

    def _check_role_options(self, top: str, name: str, values: Mapping[str, Value]) -> None:
        duration = _text(values, "duration_seconds")
        if duration is not None:
            # botocore silently drops a value int() refuses; ssod reports it instead.
            try:
                int(duration)
            except ValueError:
                raise _Invalid(
                    f'The value for duration_seconds in profile "{name}" is not an integer.'
                ) from None
        if "mfa_serial" in values:
            # botocore prompts on the terminal for the code; a daemon has no terminal.
            where = "" if name == top else f' (in source profile "{name}")'
            raise _Unserved(f"needs an MFA code for mfa_serial{where}")
