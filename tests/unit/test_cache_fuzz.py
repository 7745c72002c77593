"""Fuzzing the SSO cache readers: only ssod's typed cache errors escape, and nothing leaks.

Whatever bytes sit in ``~/.aws/sso/cache`` or ``~/.aws/cli/cache`` (written by any tool, torn,
or planted), ``parse_token``, ``parse_registration`` and ``parse_cli_credentials`` return a
record or raise ``TokenCacheError``; ``is_sso_cli_entry`` answers a bool; ``TokenCacheDir``
reading a file adds nothing but ``CacheError``. Records that parse survive a write and a
re-read, and no error message ever repeats a secret from the file.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ssod.daemon.store import cachefiles
from ssod.daemon.store.cachefiles import TokenCacheDir
from ssod.daemon.store.tokencache import (
    is_sso_cli_entry,
    parse_cli_credentials,
    parse_registration,
    parse_token,
    serialize_cli_credentials,
    serialize_registration,
    serialize_token,
)
from ssod.errors import CacheError, TokenCacheError

#: Marks the secret fields, so a leak in an error message is easy to spot.
SECRET = "s3cr3t-SECRET-value"
PATH = "/cache/0123.json"

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
#: Timestamps near the valid form: wrong ranges, odd zones, long fractions, other separators.
TIMESTAMPS = st.from_regex(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,12})?(Z|z|UTC|[+-]\d{2}:\d{2}|[+-]\d{4})?",
    fullmatch=True,
) | st.sampled_from(["2030-01-01T00:00:00Z", "0001-01-01T00:00:00-23:59", "9999-12-31T23:59:59Z"])
VALUES = JSON | TIMESTAMPS
SECRETS = st.just(SECRET) | VALUES
NEAR_TOKENS = st.fixed_dictionaries(
    {"accessToken": SECRETS, "expiresAt": VALUES},
    optional={
        "startUrl": VALUES,
        "region": VALUES,
        "clientId": VALUES,
        "clientSecret": SECRETS,
        "registrationExpiresAt": VALUES,
        "refreshToken": SECRETS,
        "extra": JSON,
    },
)
NEAR_REGISTRATIONS = st.fixed_dictionaries(
    {"clientId": VALUES, "clientSecret": SECRETS, "expiresAt": TIMESTAMPS},
    optional={"scopes": JSON | st.lists(st.text(max_size=5)), "grantTypes": JSON},
)
NEAR_CLI = st.fixed_dictionaries(
    {
        "ProviderType": st.sampled_from(["sso", "SSO", ""]) | JSON,
        "Credentials": st.fixed_dictionaries(
            {
                "AccessKeyId": VALUES,
                "SecretAccessKey": SECRETS,
                "SessionToken": SECRETS,
                "Expiration": TIMESTAMPS,
            },
            optional={"AccountId": VALUES},
        )
        | JSON,
    }
)

R = TypeVar("R")


def read_one(parse: Callable[[bytes], R], serialize: Callable[[R], bytes], data: bytes) -> None:
    """A record that survives a write and a re-read, or TokenCacheError without secrets."""
    try:
        record = parse(data)
    except TokenCacheError as err:
        assert SECRET not in err.message
        assert SECRET not in repr(err)
        assert err.__cause__ is None or SECRET not in str(err.__cause__)
    else:
        assert SECRET not in repr(record)
        assert parse(serialize(record)) == record


def read_all(data: bytes) -> None:
    """Every reader on ``data``."""
    read_one(lambda d: parse_token(d, path=PATH), serialize_token, data)
    read_one(lambda d: parse_registration(d, path=PATH), serialize_registration, data)
    read_one(lambda d: parse_cli_credentials(d, path=PATH), serialize_cli_credentials, data)
    assert isinstance(is_sso_cli_entry(data), bool)


@given(st.binary(max_size=1024))
@example(b"[" * 100_000)  # deep nesting: RecursionError inside json
@example(b'{"accessToken": "a", "expiresAt": "2030-02-30T00:00:00Z"}')
@example(b'{"accessToken": "a", "expiresAt": "2030-01-01T00:00:00+24:00"}')
@example('{"accessToken": "a", "expiresAt": "\u0662030-01-01T00:00:00Z"}'.encode())
@example(b"\xef\xbb\xbf{}")
def test_random_bytes(data: bytes) -> None:
    read_all(data)


@given(JSON)
def test_random_json(value: object) -> None:
    read_all(json.dumps(value).encode())


@given(NEAR_TOKENS, st.booleans())
def test_near_miss_tokens(value: dict[str, object], pretty: bool) -> None:
    read_all(json.dumps(value, indent=2 if pretty else None).encode())


@given(NEAR_REGISTRATIONS)
def test_near_miss_registrations(value: dict[str, object]) -> None:
    read_all(json.dumps(value).encode())


@given(NEAR_CLI)
def test_near_miss_cli_entries(value: dict[str, object]) -> None:
    read_all(json.dumps(value).encode())


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=512) | NEAR_TOKENS.map(lambda v: json.dumps(v).encode()))
def test_token_cache_dir_reads(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(cachefiles, "_TORN_READ_RETRY_DELAY", 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        cache = TokenCacheDir(Path(tmp))
        key = "0" * 40
        cache.token_path(key).write_bytes(data)
        for read in (cache.read_token, cache.read_registration):
            try:
                read(key)
            except CacheError as err:
                assert SECRET not in err.message
