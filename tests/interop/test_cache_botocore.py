"""ssod's cache files against real botocore: each side reads what the other writes, same keys.

botocore computes its default cache directories at import time, so in-process tests hand it
the cache explicitly; the subprocess test checks the default `~/.aws/sso/cache` under HOME.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dateutil.parser  # type: ignore[import-untyped]  # what botocore parses with
import pytest
from botocore.credentials import SSOCredentialFetcher
from botocore.session import Session
from botocore.tokens import SSOTokenProvider, _sso_json_dumps
from botocore.utils import JSONFileCache, SSOTokenLoader

from ssod import paths
from ssod.daemon.store.cachefiles import CliCacheDir, TokenCacheDir
from ssod.daemon.store.tokencache import (
    CliCachedCredentials,
    Registration,
    SsoToken,
    registration_cache_key,
    role_cache_key,
    serialize_token,
    token_cache_key,
)

pytestmark = pytest.mark.interop

URL = "https://d-1234567890.awsapps.com/start"
SESSION = "my-sso"
CONFIG = f"""\
[profile dev]
sso_session = {SESSION}
sso_account_id = 123456789012
sso_role_name = ReadOnly

[sso-session {SESSION}]
sso_start_url = {URL}
sso_region = us-east-1
sso_registration_scopes = sso:account:access
"""


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def token(expires_in: timedelta = timedelta(hours=1), **changes: Any) -> SsoToken:
    t = SsoToken(
        start_url=URL,
        region="us-east-1",
        access_token="AT-ssod",
        expires_at=now() + expires_in,
        client_id="cid",
        client_secret="CS",
        registration_expires_at=now() + timedelta(days=90),
        refresh_token="RT-ssod",
    )
    return dataclasses.replace(t, **changes)


@pytest.fixture
def session(clean_environ: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    config = clean_environ / ".aws" / "config"
    config.parent.mkdir()
    config.write_text(CONFIG)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return Session(profile="dev")


def botocore_sso_cache() -> JSONFileCache:
    # Exactly how SSOTokenProvider builds its cache, with the directory under the test HOME.
    return JSONFileCache(str(paths.sso_cache_dir()), dumps_func=_sso_json_dumps)


class FakeOidc:
    """Stands in for the sso-oidc client: answers CreateToken(refresh_token) without a network."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def create_token(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"accessToken": "AT-botocore", "expiresIn": 28800, "refreshToken": "RT-botocore"}


def provider(session: Session, fake: FakeOidc | None = None) -> Any:
    p = SSOTokenProvider(session, cache=botocore_sso_cache(), profile_name="dev")
    # `_client` is a CachedProperty (a non-data descriptor): the instance dict wins.
    p.__dict__["_client"] = fake if fake is not None else object()
    return p


# ---- botocore reads what ssod wrote ----


@pytest.mark.parametrize(("source", "session_name"), [(SESSION, SESSION), (URL, None)])
def test_keys_match_sso_token_loader(source: str, session_name: str | None) -> None:
    assert SSOTokenLoader()._generate_cache_key(URL, session_name) == token_cache_key(source)


def test_sso_token_loader_reads_ssod_token() -> None:
    t = token(extra={"ssodNote": "kept"})
    TokenCacheDir().write_token(token_cache_key(SESSION), t)
    TokenCacheDir().write_token(token_cache_key(URL), t)
    loader = SSOTokenLoader(cache=botocore_sso_cache())
    for loaded in (loader(URL, session_name=SESSION), loader(URL)):
        assert loaded["accessToken"] == "AT-ssod"
        assert dateutil.parser.parse(loaded["expiresAt"]) == t.expires_at
        assert loaded["ssodNote"] == "kept"


def test_sso_token_provider_uses_ssod_token_without_network(session: Session) -> None:
    t = token()
    TokenCacheDir().write_token(token_cache_key(SESSION), t)
    frozen = provider(session).load_token().get_frozen_token()
    assert frozen.token == "AT-ssod"
    assert frozen.expiration == t.expires_at


def test_default_session_in_a_subprocess_reads_ssod_token(
    session: Session, clean_environ: Path
) -> None:
    TokenCacheDir().write_token(token_cache_key(SESSION), token())
    script = (
        "import botocore.session\n"
        "s = botocore.session.Session(profile='dev')\n"
        "print(s.get_auth_token().get_frozen_token().token)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=os.environ | {"HOME": str(clean_environ)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout == "AT-ssod\n"


def test_botocore_refreshes_ssod_token_and_ssod_reads_the_result(session: Session) -> None:
    cache = TokenCacheDir()
    key = token_cache_key(SESSION)
    cache.write_token(key, token(timedelta(minutes=5), extra={"jsField": 1}))
    fake = FakeOidc()
    frozen = provider(session, fake).load_token().get_frozen_token()
    assert frozen.token == "AT-botocore"
    assert fake.calls == [
        {
            "grantType": "refresh_token",
            "clientId": "cid",
            "clientSecret": "CS",
            "refreshToken": "RT-ssod",
        }
    ]
    written = cache.read_token(key)
    assert written is not None
    assert written.access_token == "AT-botocore"
    assert written.refresh_token == "RT-botocore"
    assert written.start_url == URL and written.region == "us-east-1"
    # botocore rebuilds the file from a fixed list of keys (docs/protocols.md 3.4)
    assert written.extra == {}
    # Same bytes ssod would write: key order, separators, whole-second Z timestamps.
    assert cache.token_path(key).read_bytes() == serialize_token(written)


def test_botocore_does_not_refresh_when_ssod_says_it_cannot(session: Session) -> None:
    t = token(timedelta(minutes=5), refresh_token=None)
    assert not t.can_refresh(now())
    TokenCacheDir().write_token(token_cache_key(SESSION), t)
    fake = FakeOidc()
    assert provider(session, fake).load_token().get_frozen_token().token == "AT-ssod"
    assert fake.calls == []


# ---- ssod reads what botocore and the JS SDK wrote ----


def test_ssod_reads_json_file_cache_default_dumps() -> None:
    # JSONFileCache's own serialiser renders datetimes with %Z: "...UTC", which dateutil reads.
    expires = now() + timedelta(hours=1)
    JSONFileCache(str(paths.sso_cache_dir()))[token_cache_key(SESSION)] = {
        "accessToken": "AT",
        "expiresAt": expires,
    }
    assert b"UTC" in TokenCacheDir().token_path(token_cache_key(SESSION)).read_bytes()
    read = TokenCacheDir().read_token(token_cache_key(SESSION))
    assert read is not None and read.expires_at == expires


def test_js_pretty_token_keeps_extras_through_an_ssod_rewrite() -> None:
    key = token_cache_key(SESSION)
    js = {
        "startUrl": URL,
        "region": "us-east-1",
        "accessToken": "AT-js",
        "expiresAt": "2099-01-02T04:04:53.860Z",
        "clientId": "cid",
        "clientSecret": "CS",
        "registrationExpiresAt": "2099-04-02T03:04:05.000Z",
        "refreshToken": "RT-js",
        "jsOnly": {"a": [1, 2]},
    }
    paths.sso_cache_dir().mkdir(parents=True)
    TokenCacheDir().token_path(key).write_text(json.dumps(js, indent=2))
    cache = TokenCacheDir()
    cache.update_token(key, lambda t: t and dataclasses.replace(t, access_token="AT-ssod"))
    loaded = SSOTokenLoader(cache=botocore_sso_cache())(URL, session_name=SESSION)
    assert loaded["accessToken"] == "AT-ssod"
    assert loaded["jsOnly"] == {"a": [1, 2]}
    assert loaded["expiresAt"] == "2099-01-02T04:04:53Z"


# ---- registrations in the CLI's format ----


def cli_registration_key() -> str:
    return registration_cache_key(URL, "us-east-1", ["sso:account:access"], SESSION)


def test_ssod_reads_registration_written_like_the_cli() -> None:
    # The CLI's bundled JSONFileCache with _sso_json_dumps, fed the dict `_register_client` builds.
    expires = now() + timedelta(days=90)
    botocore_sso_cache()[cli_registration_key()] = {
        "clientId": "cid",
        "clientSecret": "CS",
        "expiresAt": expires,
        "scopes": ["sso:account:access"],
        "grantTypes": ["authorization_code", "refresh_token"],
    }
    reg = TokenCacheDir().read_registration(cli_registration_key())
    assert reg == Registration(
        client_id="cid",
        client_secret="CS",
        expires_at=expires,
        scopes=("sso:account:access",),
        grant_types=("authorization_code", "refresh_token"),
    )
    assert reg.usable_for("pkce", now()) and not reg.usable_for("device", now())


def test_cli_reads_registration_written_by_ssod() -> None:
    reg = Registration(client_id="cid", client_secret="CS", expires_at=now() + timedelta(days=90))
    TokenCacheDir().write_registration(cli_registration_key(), reg)
    loaded = botocore_sso_cache()[cli_registration_key()]
    assert loaded == {
        "clientId": "cid",
        "clientSecret": "CS",
        "expiresAt": reg.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


# ---- role credentials in ~/.aws/cli/cache ----


def unreachable_client(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("botocore tried to call AWS")


def fetcher(session_name: str | None) -> Any:
    return SSOCredentialFetcher(
        URL,
        "us-east-1",
        "ReadOnly",
        "123456789012",
        unreachable_client,
        token_loader=SSOTokenLoader(cache=botocore_sso_cache()),
        cache=JSONFileCache(str(paths.cli_cache_dir())),
        sso_session_name=session_name,
    )


@pytest.mark.parametrize("session_name", [SESSION, None])
def test_role_cache_key_matches_botocore(session_name: str | None) -> None:
    ours = role_cache_key(
        "123456789012",
        "ReadOnly",
        session_name=session_name,
        start_url=None if session_name else URL,
    )
    assert fetcher(session_name)._create_cache_key() == ours


def test_botocore_uses_ssod_role_credentials_without_network() -> None:
    creds = CliCachedCredentials(
        access_key_id="ASIAEXAMPLE",
        secret_access_key="SAK",
        session_token="ST",
        expiration=now() + timedelta(hours=1),
        account_id="123456789012",
    )
    CliCacheDir().write(role_cache_key("123456789012", "ReadOnly", session_name=SESSION), creds)
    got = fetcher(SESSION).fetch_credentials()
    assert got["access_key"] == "ASIAEXAMPLE"
    assert got["secret_key"] == "SAK"
    assert got["token"] == "ST"
    assert got["account_id"] == "123456789012"
    assert dateutil.parser.parse(got["expiry_time"]) == creds.expiration
