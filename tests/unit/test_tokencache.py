"""The pure token-cache formats: keys, timestamps, token, registration and CLI credential files."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssod.daemon.store import tokencache as tc
from ssod.errors import TokenCacheError

URL = "https://d-1234567890.awsapps.com/start"
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
SECRETS = ("AT-secret-access", "RT-secret-refresh", "CS-secret-client")


def full_token(**changes: object) -> tc.SsoToken:
    token = tc.SsoToken(
        start_url=URL,
        region="us-east-1",
        access_token=SECRETS[0],
        expires_at=NOW + timedelta(hours=1),
        client_id="client-id",
        client_secret=SECRETS[2],
        registration_expires_at=NOW + timedelta(days=90),
        refresh_token=SECRETS[1],
    )
    return dataclasses.replace(token, **changes)  # type: ignore[arg-type]


# ---- keys (example hashes from docs/protocols.md 3.1, 3.3, 4.2) ----


@pytest.mark.parametrize(
    ("source", "key"),
    [
        ("my-sso", "0ad374308c5a4e22f723adf10145eafad7c4031c"),
        (URL, "7487b5b67d5fa1132cf33fa93ae51ef38cc37752"),
    ],
)
def test_token_cache_key(source: str, key: str) -> None:
    assert tc.token_cache_key(source) == key


def test_token_cache_key_takes_the_url_literally() -> None:
    keys = {tc.token_cache_key(u) for u in (URL, URL + "/", URL + "#/", URL.upper())}
    assert len(keys) == 4


@pytest.mark.parametrize(
    ("scopes", "session", "key"),
    [
        (["sso:account:access"], "my-sso", "a8343d65418848d0bc13a5f25cbb32508ceec5d1"),
        (None, None, "365414a68be7c9bfc776c660981dbdbd942acea4"),
    ],
)
def test_registration_cache_key(scopes: list[str] | None, session: str | None, key: str) -> None:
    assert tc.registration_cache_key(URL, "us-east-1", scopes, session) == key


def test_registration_cache_key_accepts_any_sequence() -> None:
    as_tuple = tc.registration_cache_key(URL, "us-east-1", ("sso:account:access",), "my-sso")
    assert as_tuple == "a8343d65418848d0bc13a5f25cbb32508ceec5d1"


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"session_name": "my-sso"}, "31b260dab331b2af063485cea75f7b8b3cf54c71"),
        ({"start_url": URL}, "30bbb2b1278a4c1fb1b943c46c1ef6501807f657"),
        ({"session_name": "my-sso", "start_url": URL}, "31b260dab331b2af063485cea75f7b8b3cf54c71"),
    ],
)
def test_role_cache_key(kwargs: dict[str, str], key: str) -> None:
    assert tc.role_cache_key("123456789012", "ReadOnly", **kwargs) == key


def test_role_cache_key_needs_a_source() -> None:
    with pytest.raises(ValueError, match="session_name or start_url"):
        tc.role_cache_key("123456789012", "ReadOnly")


# ---- timestamps ----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-02T04:04:05Z", datetime(2025, 1, 2, 4, 4, 5, tzinfo=UTC)),
        ("2025-01-02T04:04:53.860Z", datetime(2025, 1, 2, 4, 4, 53, 860000, tzinfo=UTC)),
        ("2025-01-02T04:04:05.123456789Z", datetime(2025, 1, 2, 4, 4, 5, 123456, tzinfo=UTC)),
        ("2025-01-02T04:04:05+00:00", datetime(2025, 1, 2, 4, 4, 5, tzinfo=UTC)),
        ("2025-01-02T09:34:05+05:30", datetime(2025, 1, 2, 4, 4, 5, tzinfo=UTC)),
        ("2025-01-01T23:04:05-05:00", datetime(2025, 1, 2, 4, 4, 5, tzinfo=UTC)),
        ("2025-01-02 04:04:05z", datetime(2025, 1, 2, 4, 4, 5, tzinfo=UTC)),
        ("2025-01-02T04:04:05UTC", datetime(2025, 1, 2, 4, 4, 5, tzinfo=UTC)),
    ],
)
def test_parse_timestamp(text: str, expected: datetime) -> None:
    parsed = tc.parse_timestamp(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-02T04:04:05",  # no zone: botocore TypeError, JS local time
        "2025-01-02",
        "2025-01-02T04:04Z",
        "20250102T040405Z",
        "2025-13-02T04:04:05Z",
        "2025-01-02T04:04:60Z",
        "2025-01-02T04:04:05Z ",
        "2025-01-02T04:04:05+24:00",
        "0001-01-01T00:00:00+01:00",
        "\u0662025-01-02T04:04:05Z",  # ARABIC-INDIC DIGIT TWO
        "yesterday",
        "",
    ],
)
def test_parse_timestamp_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        tc.parse_timestamp(text)


def test_format_timestamp_truncates_and_converts() -> None:
    dt = datetime(2025, 1, 2, 9, 34, 5, 999999, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert tc.format_timestamp(dt) == "2025-01-02T04:04:05Z"


def test_format_timestamp_refuses_naive() -> None:
    with pytest.raises(ValueError):
        tc.format_timestamp(datetime(2025, 1, 2))


@given(st.datetimes(timezones=st.just(UTC)))
def test_timestamp_round_trip(dt: datetime) -> None:
    assert tc.parse_timestamp(tc.format_timestamp(dt)) == dt.replace(microsecond=0)


# ---- token files ----

CLI_LINE = (
    '{"startUrl": "https://d-1234567890.awsapps.com/start", "region": "us-east-1", '
    '"accessToken": "AT-secret-access", "expiresAt": "2025-01-02T04:04:05Z", '
    '"clientId": "client-id", "clientSecret": "CS-secret-client", '
    '"registrationExpiresAt": "2025-04-02T03:04:05Z", "refreshToken": "RT-secret-refresh"}'
)


def test_serialize_token_is_exactly_the_cli_line() -> None:
    assert tc.serialize_token(full_token()).decode() == CLI_LINE


def test_serialize_omits_absent_fields_and_appends_extras() -> None:
    token = tc.SsoToken(
        access_token="AT", expires_at=NOW, extra={"zeta": 1, "alpha": {"x": [1, 2]}}
    )
    assert tc.serialize_token(token) == (
        b'{"accessToken": "AT", "expiresAt": "2025-01-02T03:04:05Z", '
        b'"zeta": 1, "alpha": {"x": [1, 2]}}'
    )


def test_parse_cli_line_round_trips_byte_for_byte() -> None:
    token = tc.parse_token(CLI_LINE.encode(), path="t.json")
    assert token == full_token()
    assert tc.serialize_token(token) == CLI_LINE.encode()


def test_parse_botocore_compact_form() -> None:
    compact = json.dumps(json.loads(CLI_LINE), separators=(",", ":")).encode()
    assert tc.parse_token(compact, path="t.json") == full_token()


def test_parse_js_pretty_form_keeps_unknown_fields() -> None:
    js = {
        "accessToken": "AT",
        "expiresAt": "2025-01-02T04:04:53.860Z",
        "refreshToken": "RT",
        "clientId": "cid",
        "clientSecret": "cs",
        "registrationExpiresAt": "2025-04-02T03:04:05.000Z",
        "region": "eu-west-1",
        "startUrl": URL,
        "customField": {"nested": True},
    }
    token = tc.parse_token(json.dumps(js, indent=2).encode() + b"\n", path="t.json")
    assert token.expires_at == datetime(2025, 1, 2, 4, 4, 53, 860000, tzinfo=UTC)
    assert token.extra == {"customField": {"nested": True}}
    written = json.loads(tc.serialize_token(token))
    assert list(written)[-1] == "customField"
    assert written["expiresAt"] == "2025-01-02T04:04:53Z"


def test_parse_minimal_and_null_optional_fields() -> None:
    data = b'{"accessToken": "AT", "expiresAt": "2025-01-02T04:04:05+00:00", "refreshToken": null}'
    token = tc.parse_token(data, path="t.json")
    assert token.refresh_token is None
    assert token.start_url is None
    assert token.extra == {}


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b'{"accessToken": "AT-secret-access", "expiresAt": "2025-01', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'"AT-secret-access"', "not a JSON object"),
        (b'{"expiresAt": "2025-01-02T04:04:05Z"}', "missing accessToken"),
        (b'{"accessToken": "AT-secret-access"}', "missing expiresAt"),
        (b'{"accessToken": "", "expiresAt": "2025-01-02T04:04:05Z"}', "accessToken"),
        (b'{"accessToken": 5, "expiresAt": "2025-01-02T04:04:05Z"}', "accessToken"),
        (b'{"accessToken": "AT-secret-access", "expiresAt": 1735790645}', "expiresAt"),
        (b'{"accessToken": "AT-secret-access", "expiresAt": "2025-01-02T04:04:05"}', "time zone"),
        (
            b'{"accessToken": "AT-secret-access", "expiresAt": "2025-01-02T04:04:05Z", '
            b'"registrationExpiresAt": "soon"}',
            "registrationExpiresAt",
        ),
        (
            b'{"accessToken": "AT-secret-access", "expiresAt": "2025-01-02T04:04:05Z", '
            b'"refreshToken": ["RT-secret-refresh"]}',
            "refreshToken",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "JSON"),
    ],
)
def test_parse_token_rejects(data: bytes, why: str) -> None:
    with pytest.raises(TokenCacheError, match=why) as info:
        tc.parse_token(data, path="/cache/abc.json")
    message = str(info.value)
    assert message.startswith("/cache/abc.json: ")
    assert not any(s in message for s in SECRETS)
    assert info.value.__cause__ is None  # a JSONDecodeError would carry the whole document


def test_parse_token_rejects_huge_files() -> None:
    pad = "x" * tc.MAX_CACHE_FILE_BYTES
    data = json.dumps({"accessToken": "AT", "expiresAt": "2025-01-02T04:04:05Z", "pad": pad})
    with pytest.raises(TokenCacheError, match="larger than"):
        tc.parse_token(data.encode(), path="t.json")


def test_token_repr_hides_secrets() -> None:
    token = full_token(extra={"secretish": "AT-secret-access"})
    text = repr(token)
    assert not any(s in text for s in SECRETS)
    assert "client-id" in text and "secretish" in text
    assert str(token) == text


def test_token_validation() -> None:
    with pytest.raises(ValueError, match="aware"):
        tc.SsoToken(access_token="AT", expires_at=datetime(2025, 1, 2))
    with pytest.raises(ValueError, match="known fields"):
        tc.SsoToken(access_token="AT", expires_at=NOW, extra={"accessToken": "x"})


def test_token_extra_is_a_frozen_copy() -> None:
    extra: dict[str, object] = {"a": 1}
    token = tc.SsoToken(access_token="AT", expires_at=NOW, extra=extra)
    extra["b"] = 2
    assert dict(token.extra) == {"a": 1}
    with pytest.raises(TypeError):
        token.extra["c"] = 3  # type: ignore[index]


def test_remaining() -> None:
    token = full_token()
    assert token.remaining(NOW) == timedelta(hours=1)
    assert token.remaining(NOW + timedelta(hours=2)) == -timedelta(hours=1)


@pytest.mark.parametrize(
    ("changes", "now", "expected"),
    [
        ({}, NOW, True),
        ({"refresh_token": None}, NOW, False),
        ({"client_id": None}, NOW, False),
        ({"client_secret": None}, NOW, False),
        ({"registration_expires_at": None}, NOW, False),
        ({}, NOW + timedelta(days=90), False),  # registration expires exactly now
        ({}, NOW + timedelta(days=90, seconds=-1), True),
        ({}, NOW + timedelta(hours=5), True),  # access token expiry does not matter
    ],
)
def test_can_refresh(changes: dict[str, object], now: datetime, expected: bool) -> None:
    assert full_token(**changes).can_refresh(now) is expected


# ---- registrations ----


def registration(**changes: object) -> tc.Registration:
    reg = tc.Registration(
        client_id="cid", client_secret=SECRETS[2], expires_at=NOW + timedelta(days=90)
    )
    return dataclasses.replace(reg, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reg", "line"),
    [
        (
            registration(),
            '{"clientId": "cid", "clientSecret": "CS-secret-client", '
            '"expiresAt": "2025-04-02T03:04:05Z"}',
        ),
        (
            registration(scopes=("sso:account:access",)),
            '{"clientId": "cid", "clientSecret": "CS-secret-client", '
            '"expiresAt": "2025-04-02T03:04:05Z", "scopes": ["sso:account:access"]}',
        ),
        (
            registration(
                scopes=("sso:account:access",), grant_types=("authorization_code", "refresh_token")
            ),
            '{"clientId": "cid", "clientSecret": "CS-secret-client", '
            '"expiresAt": "2025-04-02T03:04:05Z", "scopes": ["sso:account:access"], '
            '"grantTypes": ["authorization_code", "refresh_token"]}',
        ),
    ],
)
def test_registration_round_trip(reg: tc.Registration, line: str) -> None:
    assert tc.serialize_registration(reg).decode() == line
    assert tc.parse_registration(line.encode(), path="r.json") == reg


@pytest.mark.parametrize(
    "data",
    [
        b'{"clientSecret": "CS-secret-client", "expiresAt": "2025-04-02T03:04:05Z"}',
        b'{"clientId": "cid", "expiresAt": "2025-04-02T03:04:05Z"}',
        b'{"clientId": "cid", "clientSecret": "CS-secret-client"}',
        b'{"clientId": "cid", "clientSecret": "CS-secret-client", '
        b'"expiresAt": "2025-04-02T03:04:05Z", "scopes": "sso:account:access"}',
        b'{"clientId": "cid", "clientSecret": "CS-secret-client", '
        b'"expiresAt": "2025-04-02T03:04:05Z", "grantTypes": [1]}',
    ],
)
def test_parse_registration_rejects(data: bytes) -> None:
    with pytest.raises(TokenCacheError) as info:
        tc.parse_registration(data, path="r.json")
    assert SECRETS[2] not in str(info.value)


def test_registration_repr_hides_secret() -> None:
    assert SECRETS[2] not in repr(registration())


PKCE = ("authorization_code", "refresh_token")


@pytest.mark.parametrize(
    ("grant_types", "left", "flow", "expected"),
    [
        (None, timedelta(days=1), "device", True),
        (None, timedelta(days=1), "pkce", False),
        (("refresh_token",), timedelta(days=1), "device", True),
        (PKCE, timedelta(days=1), "pkce", True),
        (PKCE, timedelta(days=1), "device", False),
        (PKCE, timedelta(minutes=15), "pkce", True),  # CLI: expired only if < 15 min
        (PKCE, timedelta(minutes=15, seconds=-1), "pkce", False),
        (None, timedelta(minutes=14), "device", False),
        (None, -timedelta(days=1), "device", False),
    ],
)
def test_registration_usable_for(
    grant_types: tuple[str, ...] | None,
    left: timedelta,
    flow: Literal["device", "pkce"],
    expected: bool,
) -> None:
    reg = registration(grant_types=grant_types, expires_at=NOW + left)
    assert reg.usable_for(flow, NOW) is expected


# ---- ~/.aws/cli/cache entries ----


def cli_creds() -> tc.CliCachedCredentials:
    return tc.CliCachedCredentials(
        access_key_id="ASIAEXAMPLE",
        secret_access_key="SAK-secret",
        session_token="ST-secret",
        expiration=NOW + timedelta(hours=1),
        account_id="123456789012",
    )


def test_cli_credentials_bytes() -> None:
    assert tc.serialize_cli_credentials(cli_creds()) == (
        b'{"ProviderType": "sso", "Credentials": {"AccessKeyId": "ASIAEXAMPLE", '
        b'"SecretAccessKey": "SAK-secret", "SessionToken": "ST-secret", '
        b'"Expiration": "2025-01-02T04:04:05Z", "AccountId": "123456789012"}}'
    )


def test_cli_credentials_round_trip_and_repr() -> None:
    data = tc.serialize_cli_credentials(cli_creds())
    assert tc.parse_cli_credentials(data, path="c.json") == cli_creds()
    assert tc.is_sso_cli_entry(data)
    text = repr(cli_creds())
    assert "SAK-secret" not in text and "ST-secret" not in text


@pytest.mark.parametrize(
    "data",
    [
        b'{"ProviderType": "assume-role", "Credentials": {}}',
        b'{"Credentials": {}}',
        b'{"ProviderType": "sso", "Credentials": []}',
        b'{"ProviderType": "sso", "Credentials": {"AccessKeyId": "A"}}',
    ],
)
def test_parse_cli_credentials_rejects(data: bytes) -> None:
    with pytest.raises(TokenCacheError):
        tc.parse_cli_credentials(data, path="c.json")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"ProviderType": "sso"}', True),
        (b'{"ProviderType": "SSO"}', False),
        (b'{"Credentials": {}}', False),
        (b"[]", False),
        (b"not json", False),
        (b"", False),
    ],
)
def test_is_sso_cli_entry(data: bytes, expected: bool) -> None:
    assert tc.is_sso_cli_entry(data) is expected
