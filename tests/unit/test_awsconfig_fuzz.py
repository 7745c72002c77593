"""Differential tests: generated config texts read by ssod and by botocore 1.43 must agree.

Two oracles: botocore's loader (``raw_config_parse`` + ``build_profile_map``) for the grammar,
and a real ``botocore.session.Session.get_credentials()`` for which profiles are SSO, role
chains, something else, or refused. botocore creates credential objects lazily, so no AWS
call is made; IMDS is disabled so nothing waits on the network.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import botocore.session
from botocore import configloader
from botocore.credentials import create_credential_resolver
from botocore.exceptions import BotoCoreError
from botocore.exceptions import ConfigParseError as BotocoreParseError
from botocore.tokens import SSOTokenProvider
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssod.daemon.config.awsconfig import AwsConfig, ChainedProfile, SsoProfile, parse
from ssod.daemon.config.parse import build_section_map, parse_sections
from ssod.errors import ConfigParseError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def config_file(text: str) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config"
        path.write_text(text, encoding="utf-8", newline="")
        yield str(path)


def ours(text: str) -> dict[str, Any] | None:
    try:
        sections = build_section_map(parse_sections(text, "config"))
    except ConfigParseError:
        return None
    result: dict[str, Any] = {h: dict(s.values) for h, s in sections.other.items()}
    result["profiles"] = {n: dict(s.values) for n, s in sections.profiles.items()}
    result["sso_sessions"] = {n: dict(s.values) for n, s in sections.sso_sessions.items()}
    result["services"] = {n: dict(s.values) for n, s in sections.services.items()}
    return result


def theirs(path: str) -> dict[str, Any] | None:
    try:
        return configloader.build_profile_map(configloader.raw_config_parse(path))  # type: ignore[no-any-return]
    except BotocoreParseError:
        return None


# --- grammar --------------------------------------------------------------------------------

HEADERS = [
    "[default]",
    "[DEFAULT]",
    "[Default]",
    "[profile a]",
    "[profile A]",
    '[profile "a b"]',
    "[profile  a ]",
    "[profiles a]",
    "[profile]",
    "[profile a b]",
    "[profile 'x]",
    "[profile default]",
    "[sso-session s]",
    "[sso-session 's t']",
    "[sso-sessions s]",
    "[services dev]",
    "[plugins]",
    " [profile c]",
    "[profile a#b]",
    "[ default ]",
]
KEYS = ["region", "Region", "sso_session", "sso_region", "s3", "k", "a b", "x#y"]
VALUES = ["", "us-east-1", "v # c", "https://x/start#/", '"q"', "a=b", "a:b", " spaced "]
LINE = st.one_of(
    st.sampled_from(HEADERS),
    st.builds(
        lambda k, d, v: f"{k}{d}{v}",
        st.sampled_from(KEYS),
        st.sampled_from(["=", " = ", ":", " : ", "=="]),
        st.sampled_from(VALUES),
    ),
    st.builds(
        lambda i, k, d, v: f"{i}{k}{d}{v}",
        st.sampled_from(["  ", "\t", "    "]),
        st.sampled_from([*KEYS, ""]),
        st.sampled_from([" = ", ":", ""]),
        st.sampled_from(VALUES),
    ),
    st.sampled_from(["", "# c", "; c", "  # c", "junk", "=v", "\ufeff[default]", "  "]),
)


@st.composite
def ini_texts(draw: st.DrawFn) -> str:
    lines = draw(st.lists(LINE, max_size=14))
    if draw(st.booleans()):
        lines.insert(0, draw(st.sampled_from(HEADERS)))
    ending = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    return ending.join(lines) + draw(st.sampled_from(["", ending]))


@SETTINGS
@given(ini_texts())
def test_grammar_agrees_with_botocore(text: str) -> None:
    with config_file(text) as path:
        expected = theirs(path)
    assert ours(text) == expected


@SETTINGS
@given(st.text(alphabet="[]=:#;' \"\t\nprofilesdaut-xyAB\r\x0b", max_size=60))
def test_grammar_agrees_with_botocore_on_noise(text: str) -> None:
    with config_file(text) as path:
        expected = theirs(path)
    assert ours(text) == expected


@SETTINGS
@given(ini_texts())
def test_parse_either_builds_a_model_or_raises_config_parse_error(text: str) -> None:
    try:
        config = parse(text, "config")
    except ConfigParseError as exc:
        assert exc.line is None or exc.line >= 1
        return
    for name in config.profiles:
        assert config.sso_root(name).name in config.profiles


# --- credential resolution --------------------------------------------------------------------

NAMES = ["default", "a", "b", "c"]


def _maybe(values: list[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.sampled_from(values))


PROFILE_KEYS = {
    "sso_session": _maybe(["s", "t", "ghost"]),
    "sso_account_id": _maybe(["111"]),
    "sso_role_name": _maybe(["R"]),
    "sso_start_url": _maybe(["u1", "u2"]),
    "sso_region": _maybe(["r1", "r2"]),
    "region": _maybe(["r1", "x"]),
    "role_arn": _maybe(["arn:aws:iam::1:role/x"]),
    "source_profile": _maybe([*NAMES, "ghost"]),
    "duration_seconds": _maybe(["900"]),
    "aws_access_key_id": _maybe(["AKIA"]),
}
SESSION_KEYS = {
    "sso_start_url": _maybe(["u1", "u2"]),
    "sso_region": _maybe(["r1", "r2"]),
    "region": _maybe(["r1"]),
    "sso_registration_scopes": _maybe(["sso:account:access", " a, ,b"]),
}


def _section(header: str, values: dict[str, str | None]) -> str:
    lines = [header]
    for key, value in values.items():
        if value is None:
            continue
        lines.append(f"{key} = {value}")
        if key == "aws_access_key_id":
            lines.append("aws_secret_access_key = S")  # static keys only ever come in pairs
    return "\n".join(lines) + "\n"


@st.composite
def sso_configs(draw: st.DrawFn) -> str:
    parts = []
    if draw(st.integers(0, 4)) == 0:
        parts.append(_section("[DEFAULT]", draw(st.fixed_dictionaries(SESSION_KEYS))))
    for name in draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4)):
        header = "[default]" if name == "default" else f"[profile {name}]"
        parts.append(_section(header, draw(st.fixed_dictionaries(PROFILE_KEYS))))
    for name in draw(st.lists(st.sampled_from(["s", "t"]), unique=True, max_size=2)):
        parts.append(_section(f"[sso-session {name}]", draw(st.fixed_dictionaries(SESSION_KEYS))))
    return "".join(draw(st.permutations(parts)))


def botocore_verdicts(path: str) -> dict[str, str]:
    """For each profile: botocore's credential method, "none", or "error"."""
    env = {
        "AWS_CONFIG_FILE": path,
        "AWS_SHARED_CREDENTIALS_FILE": path + ".missing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    verdicts: dict[str, str] = {}
    with mock.patch.dict(os.environ, env):
        # One session per file (it caches the parsed config); one resolver per profile.
        session = botocore.session.Session()
        profiles = session.full_config["profiles"]
        for name in profiles:
            try:
                session.set_config_variable("profile", name)
                creds = create_credential_resolver(session).load_credentials()
                verdict = creds.method if creds is not None else "none"
                root = _sso_root(profiles, name) if verdict in ("sso", "assume-role") else None
                if root is not None:
                    # The token provider checks its sso-session only when a token is needed.
                    SSOTokenProvider(session, profile_name=root)._load_sso_config()
            except BotoCoreError:
                verdict = "error"
            verdicts[name] = verdict
    return verdicts


def _sso_root(profiles: dict[str, dict[str, str]], name: str) -> str | None:
    """The profile whose SSO settings botocore ends up using for NAME, if any."""
    root = name
    if "role_arn" in profiles[name]:
        # AssumeRoleProvider: follow source_profile until a profile with static keys or
        # without role_arn; that one is resolved by the per-profile providers.
        while True:
            root = profiles[root]["source_profile"]
            source = profiles[root]
            if "aws_access_key_id" in source or "role_arn" not in source:
                break
    if any(key in profiles[root] for key in ("sso_account_id", "sso_role_name")):
        return root
    return None


def our_verdict(config: AwsConfig, name: str) -> str:
    profile = config.profiles.get(name)
    if isinstance(profile, SsoProfile):
        return "sso"
    if isinstance(profile, ChainedProfile):
        return "assume-role"
    if name in config.profile_problems:
        return "error"
    return "unserved"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sso_configs())
def test_credential_resolution_agrees_with_botocore(text: str) -> None:
    config = parse(text, "config")
    with config_file(text) as path:
        expected = botocore_verdicts(path)
    assert set(expected) == set(config.profiles) | set(config.unserved) | set(
        config.profile_problems
    )
    for name, theirs_verdict in expected.items():
        mine = our_verdict(config, name)
        if mine == "unserved":
            assert theirs_verdict not in ("sso", "error"), (name, config.unserved[name])
        else:
            assert mine == theirs_verdict, (name, config.profile_problems.get(name))
