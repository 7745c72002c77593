"""The ~/.aws/config model: grammar (checked against botocore's own loader), model, validation."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from botocore import configloader
from botocore.exceptions import ConfigParseError as BotocoreParseError

from ssod.daemon.config.awsconfig import (
    AwsConfig,
    ChainedProfile,
    SsoProfile,
    SsoSession,
    load,
    parse,
)
from ssod.daemon.config.parse import build_section_map, parse_sections
from ssod.errors import ConfigParseError, ProfileConfigError, ProfileNotFound, SessionNotFound

PATH = "/home/u/.aws/config"

SESSION = """\
[sso-session corp]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access
"""


def cfg(text: str) -> AwsConfig:
    return parse(textwrap.dedent(text), PATH)


def ours(text: str) -> dict[str, Any] | None:
    """Our grammar in the shape of botocore's build_profile_map, or None for a parse error."""
    try:
        sections = build_section_map(parse_sections(text, PATH))
    except ConfigParseError:
        return None
    result: dict[str, Any] = {h: dict(s.values) for h, s in sections.other.items()}
    result["profiles"] = {n: dict(s.values) for n, s in sections.profiles.items()}
    result["sso_sessions"] = {n: dict(s.values) for n, s in sections.sso_sessions.items()}
    result["services"] = {n: dict(s.values) for n, s in sections.services.items()}
    return result


def botocore_map(text: str, tmp_path: Path) -> dict[str, Any] | None:
    """botocore 1.43's reading of the same text, from a real file, or None if it refuses."""
    path = tmp_path / "oracle-config"
    path.write_text(text, encoding="utf-8", newline="")
    try:
        return configloader.build_profile_map(configloader.raw_config_parse(str(path)))  # type: ignore[no-any-return]
    except BotocoreParseError:
        return None


# --- grammar: every case of docs/protocols.md section 8, each checked against botocore ----------

GRAMMAR = [
    ("equals and colon", "[profile a]\nx = 1\ny: 2\nz=3\n", {"a": {"x": "1", "y": "2", "z": "3"}}),
    (
        "full-line comments",
        "# c\n; c\n[profile a]\n  # indented\n;x = 1\nx = 2\n",
        {"a": {"x": "2"}},
    ),
    ("inline # kept", "[profile a]\nregion = us-east-1 # x\n", {"a": {"region": "us-east-1 # x"}}),
    ("url with #", "[profile a]\nu = https://x/start#/\n", {"a": {"u": "https://x/start#/"}}),
    ("inline ; kept", "[profile a]\nu = a ; b\n", {"a": {"u": "a ; b"}}),
    ("quotes kept", '[profile a]\nk = "v"\n', {"a": {"k": '"v"'}}),
    ("keys lower-cased", "[profile a]\nSSO_Region = X\n", {"a": {"sso_region": "X"}}),
    (
        "section names case-sensitive",
        "[profile A]\nk=1\n[profile a]\nk=2\n[Default]\nk=3\n",
        {"A": {"k": "1"}, "a": {"k": "2"}},
    ),
    ("empty value", "[profile a]\nk =\nj=\n", {"a": {"k": "", "j": ""}}),
    (
        "continuation",
        "[profile a]\nmulti = first\n  second\n\tthird\n",
        {"a": {"multi": "first\nsecond\nthird"}},
    ),
    ("blank line inside value", "[profile a]\nm = a\n\n  b\n", {"a": {"m": "a\n\nb"}}),
    (
        "indented key swallowed",
        "[profile a]\nregion = x\n  output = json\n",
        {"a": {"region": "x\noutput = json"}},
    ),
    (
        "nested block",
        "[profile a]\ns3 =\n  addressing_style = path\n  Sig = s3v4=x\n\n  e=\n",
        {"a": {"s3": {"addressing_style": "path", "Sig": "s3v4=x", "e": ""}}},
    ),
    ("quoted profile name", '[profile "my profile"]\nk=1\n', {"my profile": {"k": "1"}}),
    ("single-quoted name", "[profile 'a b']\nk=1\n", {"a b": {"k": "1"}}),
    ("odd characters kept", "[profile me.x@corp+1:/%_-]\nk=1\n", {"me.x@corp+1:/%_-": {"k": "1"}}),
    ("unicode name", "[profile prod-é]\nk=1\n", {"prod-é": {"k": "1"}}),
    ("extra spaces", "[profile   a  ]\nk=1\n", {"a": {"k": "1"}}),
    ("three tokens dropped", "[profile a b]\nk=1\n", {}),
    ("no space dropped", "[profilefoo]\nk=1\n", {}),
    ("bare prefix dropped", "[profile]\nk=1\n", {}),
    ("unterminated quote dropped", "[profile 'a]\nk=1\n", {}),
    ("leading space: not a profile", "[ profile x]\nk=1\n", {}),
    (
        "prefix only checked by startswith",
        "[profiles x]\nk=1\n[profile-y z]\nj=2\n",
        {"x": {"k": "1"}, "z": {"j": "2"}},
    ),
    ("default", "[default]\nk=1\n", {"default": {"k": "1"}}),
    (
        "[default] then [profile default]",
        "[default]\na=1\n[profile default]\nb=2\n",
        {"default": {"b": "2"}},
    ),
    (
        "[profile default] then [default]",
        "[profile default]\nb=2\n[default]\na=1\n",
        {"default": {"a": "1"}},
    ),
    ("same name twice, later wins", '[profile x]\na=1\n[profile "x"]\nb=2\n', {"x": {"b": "2"}}),
    (
        "DEFAULT injected",
        "[DEFAULT]\nregion = eu-west-1\n[profile a]\nk=1\n[default]\nregion=x\n",
        {"a": {"k": "1", "region": "eu-west-1"}, "default": {"region": "x"}},
    ),
    ("CRLF", "[profile a]\r\nk = 1\r\n", {"a": {"k": "1"}}),
    ("lone CR", "[profile a]\rk = 1\r", {"a": {"k": "1"}}),
]


@pytest.mark.parametrize(
    ("text", "profiles"), [c[1:] for c in GRAMMAR], ids=[c[0] for c in GRAMMAR]
)
def test_grammar_matches_botocore(text: str, profiles: dict[str, Any], tmp_path: Path) -> None:
    mine = ours(text)
    assert mine is not None
    assert mine["profiles"] == profiles
    assert mine == botocore_map(text, tmp_path)


def test_sessions_services_and_other_sections(tmp_path: Path) -> None:
    text = (
        "[DEFAULT]\nregion = r\n[sso-session a]\nx=1\n[sso-session 'b c']\ny=2\n"
        "[sso-session]\nz=3\n[services dev]\ns3 =\n  endpoint_url = http://l\n[plugins]\np=1\n"
    )
    mine = ours(text)
    assert mine is not None
    assert mine["sso_sessions"] == {
        "a": {"x": "1", "region": "r"},
        "b c": {"y": "2", "region": "r"},
    }
    assert mine["services"] == {"dev": {"s3": {"endpoint_url": "http://l"}, "region": "r"}}
    assert mine["plugins"] == {"p": "1", "region": "r"}
    assert mine == botocore_map(text, tmp_path)


PARSE_ERRORS = [
    ("duplicate section", "[profile a]\nk=1\n\n[profile a]\n", 4, "appears more than once"),
    ("duplicate key", "[profile a]\nk=1\nK=2\n", 3, "'k' appears more than once in [profile a]"),
    ("duplicate DEFAULT key", "[DEFAULT]\nk=1\n[DEFAULT]\nk=2\n", 4, "more than once"),
    ("key before first section", "# c\n\nk = 1\n[profile a]\n", 3, "before the first"),
    ("BOM", "\ufeff[default]\nregion = x\n", 1, "byte-order mark"),
    ("line without delimiter", "[profile a]\nk=1\njunk\nmore junk\n", 3, "1 more such line"),
    ("empty key", "[profile a]\n= 1\n", 2, "not a [section] header"),
    ("nested line without =", "[profile a]\nk = 1\ns3 =\n  a = 1\n  b : 2\n", 5, "no '='"),
    ("nested error from DEFAULT", "[DEFAULT]\ns3 =\n  bad\n[profile a]\n", 3, "no '='"),
]


@pytest.mark.parametrize(
    ("text", "line", "fragment"), [c[1:] for c in PARSE_ERRORS], ids=[c[0] for c in PARSE_ERRORS]
)
def test_whole_file_errors(text: str, line: int, fragment: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigParseError) as caught:
        parse(text, PATH)
    assert caught.value.line == line
    assert caught.value.path == PATH
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"{PATH}, line {line}: ")
    assert botocore_map(text, tmp_path) is None


def test_parse_error_message_never_quotes_the_line() -> None:
    with pytest.raises(ConfigParseError) as caught:
        parse("[default]\naws_secret_access_key wJalrXUtnFEMI\n", PATH)
    assert "wJalrXUtnFEMI" not in str(caught.value)


def test_nested_error_only_without_sections_is_fine(tmp_path: Path) -> None:
    # botocore parses nested values per section, so a bad block in [DEFAULT] alone passes.
    text = "[DEFAULT]\ns3 =\n  bad\n"
    assert ours(text) == botocore_map(text, tmp_path)


def test_section_lines_are_recorded() -> None:
    text = "# top\n[default]\nk=1\n  [profile fake]\n\n[profile real]\nk=2\n[profile fake]\n"
    sections = parse_sections(text, PATH)
    assert [(s.header, s.line) for s in sections] == [
        ("default", 2),
        ("profile real", 6),
        ("profile fake", 8),
    ]


# --- the model ------------------------------------------------------------------------------


def test_sso_session_form_as_aws_configure_sso_writes_it() -> None:
    config = cfg(
        """\
        [profile my-dev]
        sso_session = my-sso
        sso_account_id = 123456789011
        sso_role_name = ReadOnly
        region = us-west-2
        output = json
        [sso-session my-sso]
        sso_start_url = https://d-1234567890.awsapps.com/start
        sso_region = us-east-1
        sso_registration_scopes = sso:account:access
        """
    )
    assert config.problems == ()
    assert config.profile("my-dev") == SsoProfile(
        name="my-dev",
        account_id="123456789011",
        role_name="ReadOnly",
        sso_session="my-sso",
        start_url="https://d-1234567890.awsapps.com/start",
        sso_region="us-east-1",
        region="us-west-2",
        output="json",
        line=1,
    )
    assert config.session("my-sso") == SsoSession(
        "my-sso", "https://d-1234567890.awsapps.com/start", "us-east-1", ("sso:account:access",), 7
    )
    profile = config.profile("my-dev")
    assert isinstance(profile, SsoProfile)
    assert profile.refreshable
    assert profile.token_key_source == "my-sso"


def test_legacy_form() -> None:
    config = cfg(
        """\
        [default]
        sso_start_url = https://x.awsapps.com/start#/
        sso_region = eu-west-1
        sso_account_id = 111122223333
        sso_role_name = Admin
        """
    )
    profile = config.profile("default")
    assert isinstance(profile, SsoProfile)
    assert profile.sso_session is None
    assert not profile.refreshable
    # The start URL exactly as written, "#/" included: botocore hashes it verbatim.
    assert profile.token_key_source == "https://x.awsapps.com/start#/"
    assert (profile.region, profile.output) == (None, None)


@pytest.mark.parametrize(
    ("raw", "scopes"),
    [
        ("sso:account:access", ("sso:account:access",)),
        (" a , b,, ,c ", ("a", "b", "c")),
        ("", ()),
        (None, ()),
    ],
)
def test_registration_scopes(raw: str | None, scopes: tuple[str, ...]) -> None:
    text = "[sso-session s]\nsso_start_url = u\nsso_region = r\n"
    if raw is not None:
        text += f"sso_registration_scopes = {raw}\n"
    assert parse(text, PATH).session("s").registration_scopes == scopes


def test_default_section_is_injected_into_sso_session() -> None:
    config = cfg(
        """\
        [DEFAULT]
        sso_region = ap-southeast-2
        [sso-session s]
        sso_start_url = https://s/start
        [profile p]
        sso_session = s
        sso_account_id = 1
        sso_role_name = R
        """
    )
    assert config.problems == ()
    assert config.session("s").region == "ap-southeast-2"
    assert config.sso_root("p").sso_region == "ap-southeast-2"


def test_default_section_can_make_a_profile_inconsistent() -> None:
    # [DEFAULT] region reaches the sso-session too, so overriding it in the profile makes
    # botocore see two different values.
    config = cfg(
        f"""\
        [DEFAULT]
        region = us-east-1
        [profile p]
        sso_session = corp
        sso_account_id = 1
        sso_role_name = R
        region = eu-west-1
        {textwrap.indent(SESSION, "        ").strip()}
        """
    )
    with pytest.raises(ProfileConfigError, match=r"region is inconsistent .* \(eu-west-1\)"):
        config.profile("p")


def test_default_and_profile_default_later_wins_in_the_model() -> None:
    legacy = "sso_start_url = u\nsso_region = r\nsso_account_id = 1\nsso_role_name = {}\n"
    text = "[default]\n" + legacy.format("First") + "[profile default]\n" + legacy.format("Second")
    profile = parse(text, PATH).sso_root("default")
    assert (profile.role_name, profile.line) == ("Second", 6)
    text = "[profile default]\n" + legacy.format("First") + "[default]\n" + legacy.format("Second")
    assert parse(text, PATH).sso_root("default").role_name == "Second"


def test_profile_names_list_only_what_ssod_serves() -> None:
    config = cfg(
        f"""\
        [default]
        region = us-east-1
        [profile static]
        aws_access_key_id = AKIA
        aws_secret_access_key = s
        [profile proc]
        credential_process = /bin/creds
        [profile web]
        role_arn = arn:aws:iam::1:role/r
        web_identity_token_file = /t
        [profile login-only]
        sso_session = corp
        [profile sso]
        sso_session = corp
        sso_account_id = 1
        sso_role_name = R
        [profile chained]
        role_arn = arn:aws:iam::2:role/r
        source_profile = sso
        [profile "odd name;#"]
        sso_session = corp
        sso_account_id = 1
        sso_role_name = R
        {textwrap.indent(SESSION, "        ").strip()}
        """
    )
    assert tuple(config.profiles) == ("sso", "chained", "odd name;#")
    assert config.problems == ()
    assert config.unserved == {
        "default": "configures no credentials",
        "static": "uses static access keys",
        "proc": "uses credential_process",
        "web": "uses web_identity_token_file",
        "login-only": "has sso_session but neither sso_account_id nor sso_role_name",
    }
    with pytest.raises(ProfileNotFound, match="not served by ssod: it uses static access keys"):
        config.profile("static")
    with pytest.raises(ProfileNotFound, match=r"could not be found"):
        config.profile("nope")


def test_sso_keys_beat_static_keys_like_botocores_chain() -> None:
    config = cfg(
        """\
        [profile both]
        aws_access_key_id = AKIA
        aws_secret_access_key = s
        credential_process = /bin/x
        sso_start_url = u
        sso_region = r
        sso_account_id = 1
        sso_role_name = R
        """
    )
    assert isinstance(config.profile("both"), SsoProfile)


def test_chained_profile_and_helpers() -> None:
    config = cfg(
        f"""\
        [profile base]
        sso_session = corp
        sso_account_id = 111111111111
        sso_role_name = Base
        [profile mid]
        role_arn = arn:aws:iam::222222222222:role/Mid
        source_profile = base
        [profile top]
        role_arn = arn:aws:iam::333333333333:role/Top
        source_profile = mid
        role_session_name = me
        duration_seconds = 900
        external_id = ext
        region = eu-central-1
        output = text
        [profile other]
        sso_start_url = https://legacy/start
        sso_region = us-east-1
        sso_account_id = 1
        sso_role_name = R
        {textwrap.indent(SESSION, "        ").strip()}
        """
    )
    assert config.problems == ()
    assert config.profile("top") == ChainedProfile(
        name="top",
        role_arn="arn:aws:iam::333333333333:role/Top",
        source_profile="mid",
        role_session_name="me",
        duration_seconds=900,
        external_id="ext",
        region="eu-central-1",
        output="text",
        line=8,
    )
    assert config.sso_root("top").name == "base"
    assert config.sso_root("base").name == "base"


def test_lookups_on_an_empty_config() -> None:
    config = AwsConfig.empty(PATH)
    assert tuple(config.profiles) == ()
    assert config.problems == ()
    with pytest.raises(ProfileNotFound):
        config.profile("default")
    with pytest.raises(ProfileNotFound):
        config.sso_root("default")
    with pytest.raises(SessionNotFound):
        config.session("s")
    assert parse("", PATH) == config
    assert parse("# only a comment\n\n", PATH) == config


# --- validation: each a ProfileConfigError, the rest still served -----------------------------

SSO = "sso_session = corp\nsso_account_id = 1\nsso_role_name = R\n"

INVALID = [
    (
        "account id only",
        "[profile bad]\nsso_account_id = 1\n",
        'The profile "bad" is configured to use SSO but is missing required configuration: '
        "sso_role_name, sso_start_url, sso_region",
    ),
    (
        "role name only, legacy",
        "[profile bad]\nsso_role_name = R\nsso_start_url = u\n",
        "missing required configuration: sso_account_id, sso_region",
    ),
    (
        "session form without role",
        "[profile bad]\nsso_session = corp\nsso_account_id = 1\n",
        "missing required configuration: sso_role_name",
    ),
    (
        "unknown sso-session",
        "[profile bad]\nsso_session = nope\nsso_account_id = 1\n",
        'The specified sso-session does not exist: "nope"',
    ),
    (
        "inconsistent sso_region",
        "[profile bad]\n" + SSO + "sso_region = eu-west-1\n",
        "The value for sso_region is inconsistent between profile (eu-west-1) and sso-session "
        "(us-east-1).",
    ),
    (
        "inconsistent start url",
        "[profile bad]\n" + SSO + "sso_start_url = https://d-1234567890.awsapps.com/start/\n",
        "sso_start_url is inconsistent",
    ),
    (
        "nested sso_role_name",
        "[profile bad]\nsso_session = corp\nsso_account_id = 1\nsso_role_name =\n  a = b\n",
        "sso_role_name must be a single value",
    ),
    (
        "missing source_profile",
        "[profile bad]\nrole_arn = a\nsource_profile = ghost\n",
        'The source_profile "ghost" referenced in the profile "bad" does not exist.',
    ),
    (
        "loop",
        "[profile bad]\nrole_arn = a\nsource_profile = b2\n[profile b2]\nrole_arn = b\n"
        "source_profile = bad\n",
        "Infinite loop in credential configuration detected. Attempting "
        "to load from profile bad which has already been visited. Visited profiles: ['bad', 'b2']",
    ),
    (
        "self loop without keys",
        "[profile bad]\nrole_arn = a\nsource_profile = bad\n" + SSO[19:],
        "Infinite loop",
    ),
    (
        "both sources",
        "[profile bad]\nrole_arn = a\nsource_profile = ok\ncredential_source = Environment\n",
        "contains both source_profile and credential_source",
    ),
    ("no source", "[profile bad]\nrole_arn = a\n", "neither source_profile nor credential_source"),
    (
        "unknown credential_source",
        "[profile bad]\nrole_arn = a\ncredential_source = Magic\n",
        'The credential source "Magic" referenced in profile "bad" is not valid.',
    ),
    (
        "duration not an integer",
        "[profile bad]\nrole_arn = a\nsource_profile = ok\nduration_seconds = 1h\n",
        'duration_seconds in profile "bad" is not an integer',
    ),
    (
        "source without credentials",
        "[profile bad]\nrole_arn = a\nsource_profile = empty\n[profile empty]\nregion = x\n",
        'The source profile "empty" must have credentials.',
    ),
    (
        "root is invalid SSO",
        "[profile bad]\nrole_arn = a\nsource_profile = broken\n"
        "[profile broken]\nsso_role_name = R\n",
        'The source profile "broken" cannot be used: The profile "broken" is configured to use SSO',
    ),
    (
        "deep chain broken",
        "[profile bad]\nrole_arn = a\nsource_profile = m\n[profile m]\n"
        "role_arn = b\nsource_profile = ghost\n",
        'The source_profile "ghost" referenced in the profile "m" does not exist.',
    ),
]


@pytest.mark.parametrize(("body", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_profile_is_reported_and_the_rest_served(body: str, message: str) -> None:
    text = "# header\n[profile ok]\n" + SSO + body + SESSION
    config = parse(text, PATH)
    assert "ok" in tuple(config.profiles)
    assert "bad" not in tuple(config.profiles)
    problem = config.profile_problems["bad"]
    assert problem in config.problems
    assert message in problem.message
    assert (problem.path, problem.section, problem.line) == (PATH, "profile bad", 6)
    assert str(problem).startswith(f"{PATH}, [profile bad], line 6: ")
    with pytest.raises(ProfileConfigError) as caught:
        config.profile("bad")
    assert str(caught.value) == str(problem)
    assert (caught.value.section, caught.value.line) == (problem.section, problem.line)


@pytest.mark.parametrize(
    ("session_body", "profile_message"),
    [
        (
            "sso_start_url = u\n",
            "configured to use the SSO token provider but is missing the following "
            "configuration: ['sso_region'].",
        ),
        (
            "sso_region = r\n",
            "configured to use the SSO token provider but is missing the following "
            "configuration: ['sso_start_url'].",
        ),
        ("", 'the "s" sso_session configuration does not exist.'),
    ],
)
def test_incomplete_sso_session(session_body: str, profile_message: str) -> None:
    # The profile supplies start URL and region itself; botocore's SSOProvider accepts that
    # but its token provider reads only the sso-session, so the profile cannot get a token.
    text = (
        "[profile p]\nsso_session = s\nsso_account_id = 1\nsso_role_name = R\n"
        "sso_start_url = u\nsso_region = r\n[sso-session s]\n" + session_body
    )
    config = parse(text, PATH)
    assert tuple(config.profiles) == ()
    assert config.sessions == {}
    profile_problem, session_problem = sorted(config.problems, key=lambda p: p.section)
    assert (session_problem.section, session_problem.line) == ("sso-session s", 7)
    assert 'The sso-session "s" is missing required configuration: ' in session_problem.message
    assert (profile_problem.section, profile_problem.line) == ("profile p", 1)
    assert profile_message in profile_problem.message
    with pytest.raises(ProfileConfigError, match="missing required"):
        config.session("s")


UNSERVED_CHAINS = [
    (
        "static root",
        "[profile x]\nrole_arn = a\nsource_profile = k\n[profile k]\n"
        "aws_access_key_id = A\naws_secret_access_key = S\n",
        'gets its source credentials from profile "k", which uses static access keys',
    ),
    (
        "self with static keys",
        "[profile x]\nrole_arn = a\nsource_profile = x\n"
        "aws_access_key_id = A\naws_secret_access_key = S\n",
        "uses static access keys",
    ),
    (
        "credential_source",
        "[profile x]\nrole_arn = a\ncredential_source = Ec2InstanceMetadata\n",
        "credential_source",
    ),
    (
        "mfa",
        "[profile x]\nrole_arn = a\nsource_profile = ok\nmfa_serial = arn:mfa\n",
        "needs an MFA code",
    ),
    (
        "mfa in the middle",
        "[profile x]\nrole_arn = a\nsource_profile = m\n[profile m]\n"
        "role_arn = b\nsource_profile = ok\nmfa_serial = arn:mfa\n",
        'source profile "m"',
    ),
    (
        "static source with role_arn and sso",
        "[profile x]\nrole_arn = a\nsource_profile = k\n"
        "[profile k]\nrole_arn = b\nsource_profile = k\naws_access_key_id = A\n"
        "aws_secret_access_key = S\n" + SSO,
        "mixes static keys, role_arn and SSO settings",
    ),
]


@pytest.mark.parametrize(
    ("body", "reason"), [c[1:] for c in UNSERVED_CHAINS], ids=[c[0] for c in UNSERVED_CHAINS]
)
def test_role_chains_ssod_does_not_serve(body: str, reason: str) -> None:
    config = parse("[profile ok]\n" + SSO + body + SESSION, PATH)
    assert "x" not in config.profile_problems
    assert "x" not in tuple(config.profiles)
    assert reason in config.unserved["x"]


def test_inconsistency_message_redacts_secrets() -> None:
    text = (
        "[DEFAULT]\naws_secret_access_key = SHARED-SECRET\n[profile p]\n"
        + SSO
        + "aws_secret_access_key = OWN-SECRET\n"
        + SESSION
    )
    [problem] = parse(text, PATH).problems
    assert "aws_secret_access_key is inconsistent" in str(problem)
    assert "SECRET" not in str(problem)


def test_problems_are_in_file_order() -> None:
    text = "[profile b]\nsso_role_name = R\n[sso-session s]\n[profile a]\nsso_account_id = 1\n"
    assert [p.line for p in parse(text, PATH).problems] == [1, 3, 4]


def test_sso_activation_needs_role_or_account() -> None:
    # sso_start_url and sso_region alone do not make botocore use SSO.
    config = parse("[profile p]\nsso_start_url = u\nsso_region = r\n", PATH)
    assert config.problems == ()
    assert config.unserved == {"p": "configures no credentials"}


# --- load -----------------------------------------------------------------------------------


def test_load_missing_file_is_empty(clean_environ: Path) -> None:
    config = load()
    assert config == AwsConfig.empty(str(clean_environ / ".aws" / "config"))


def test_load_default_path(clean_environ: Path) -> None:
    (clean_environ / ".aws").mkdir()
    (clean_environ / ".aws" / "config").write_text("[profile p]\n" + SSO + SESSION)
    config = load()
    assert config.path == str(clean_environ / ".aws" / "config")
    assert tuple(config.profiles) == ("p",)


def test_load_expands_vars_and_home(clean_environ: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_environ / "cfgdir").mkdir()
    (clean_environ / "cfgdir" / "aws.ini").write_text("[profile p]\n" + SSO + SESSION)
    monkeypatch.setenv("CFG_DIR_NAME", "cfgdir")
    monkeypatch.setenv("AWS_CONFIG_FILE", "~/$CFG_DIR_NAME/aws.ini")
    assert tuple(load().profiles) == ("p",)


def test_load_explicit_path_and_directory(tmp_path: Path) -> None:
    assert load(tmp_path) == AwsConfig.empty(str(tmp_path))
    file = tmp_path / "config"
    file.write_bytes(b"[profile p]\r\n" + SSO.replace("\n", "\r\n").encode())
    assert load(file).problems[0].line == 1  # CRLF file, missing sso-session


def test_load_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    file = tmp_path / "config"
    file.write_bytes(b"[default]\nregion = x\nname = \xff\n")
    with pytest.raises(ConfigParseError, match="not valid UTF-8") as caught:
        load(file)
    assert caught.value.line == 3


def test_load_bom_file(tmp_path: Path) -> None:
    file = tmp_path / "config"
    file.write_bytes(b"\xef\xbb\xbf[default]\nregion = x\n")
    with pytest.raises(ConfigParseError, match="byte-order mark"):
        load(file)
    assert botocore_map(file.read_text(encoding="utf-8"), tmp_path) is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_load_unreadable_file(tmp_path: Path) -> None:
    file = tmp_path / "config"
    file.write_text("[default]\n")
    file.chmod(0)
    with pytest.raises(ConfigParseError, match="cannot be read"):
        load(file)


# --- scale ----------------------------------------------------------------------------------


def test_ten_thousand_profiles_parse() -> None:
    # Correctness at scale only: how fast is measured by bench/scale.py, side by side, never
    # here (a timed test fails on a loaded machine, and did).
    chunks = [SESSION]
    for i in range(10_000):
        chunks.append(
            f"[profile p{i}]\nsso_session = corp\nsso_account_id = {i:012d}\n"
            f"sso_role_name = Role{i % 7}\nregion = us-east-1\n"
        )
    text = "".join(chunks)
    config = parse(text, PATH)
    assert len(tuple(config.profiles)) == 10_000
    assert config.sso_root("p9999").account_id == "000000009999"
