"""How botocore 1.43 classifies each profile and sso-session: served, unserved, or a problem.

The rules of ``SSOProvider``, ``SSOTokenProvider`` and ``AssumeRoleProvider`` (docs/protocols.md
sections 4.2, 4.3 and 8), applied to the section map from ``ssod.daemon.config.parse`` to build the
``AwsConfig`` model of ``ssod.daemon.config.model``. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ssod.daemon.config.model import AwsConfig, ChainedProfile, Profile, SsoProfile, SsoSession
from ssod.daemon.config.parse import RawSection, SectionMap, Value
from ssod.errors import ProfileConfigError


def resolve(sections: SectionMap, path: str) -> AwsConfig:
    """The model of the config whose sections are ``sections``."""
    return _Resolver(sections, path).config()


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
