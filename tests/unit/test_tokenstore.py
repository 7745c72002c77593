"""Sealing token files: the pure split and join, item round trips, and the store on real files.

``TokenStore`` runs here on a temporary cache directory with the ``memory`` store (the real one
``--token-store memory`` uses); the Secret Service is exercised in tests/keyring_store.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ssod.daemon.store import secrets as secretstores
from ssod.daemon.store import storechoice
from ssod.daemon.store.cachefiles import TokenCacheDir
from ssod.daemon.store.secrets import MemoryStore, Secret
from ssod.daemon.store.tokencache import Registration, SsoToken, serialize_token
from ssod.daemon.store.tokenstore import (
    SessionSecrets,
    TokenStore,
    from_items,
    is_sealed,
    join,
    registration_from,
    registration_item,
    split,
    to_items,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
KEY = "a" * 40
REG_KEY = "b" * 40

COMPLETE = SsoToken(
    start_url="https://d-1234567890.awsapps.com/start",
    region="us-east-1",
    access_token="access",
    expires_at=NOW + timedelta(hours=1),
    client_id="client",
    client_secret="client-secret",
    registration_expires_at=NOW + timedelta(days=90),
    refresh_token="refresh",
    extra={"someSdkField": 1},
)


@pytest.mark.parametrize(
    "token",
    [
        COMPLETE,
        SsoToken(access_token="a", expires_at=NOW),  # legacy: nothing to take out
        SsoToken(access_token="a", expires_at=NOW, client_id="c", client_secret="s"),
    ],
)
def test_split_then_join_gives_the_token_back(token: SsoToken) -> None:
    sealed, secrets = split(token)
    assert is_sealed(sealed)
    assert sealed.client_id is None and sealed.registration_expires_at is None
    assert sealed.access_token == token.access_token and sealed.extra == token.extra
    assert serialize_token(join(sealed, secrets)) == serialize_token(token)


def test_a_sealed_file_keeps_only_what_botocore_uses() -> None:
    sealed, _ = split(COMPLETE)
    fields = sorted(json.loads(serialize_token(sealed)))
    assert fields == ["accessToken", "expiresAt", "region", "someSdkField", "startUrl"]


@pytest.mark.parametrize(
    ("secrets", "kinds"),
    [
        (split(COMPLETE)[1], ["client-secret", "refresh-token"]),
        (SessionSecrets(client_id="c", client_secret="s"), ["client-secret"]),
        (SessionSecrets(), []),
    ],
)
def test_items_round_trip(secrets: SessionSecrets, kinds: list[str]) -> None:
    items = to_items(secrets, "corp")
    assert sorted(items) == kinds
    assert all(i.attributes["session"] == "corp" for i in items.values())
    assert all(i.value not in i.attributes.values() for i in items.values())
    back = from_items(items.get("client-secret"), items.get("refresh-token"))
    assert back == (secrets if kinds else None)


def test_a_refresh_token_of_another_client_is_not_used() -> None:
    client = Secret("s", {"client-id": "new"})
    refresh = Secret("r", {"client-id": "old"})
    found = from_items(client, refresh)
    assert found is not None and found.refresh_token is None and found.client_secret == "s"


@pytest.mark.parametrize(
    "reg",
    [
        Registration(client_id="c", client_secret="s", expires_at=NOW),
        Registration(
            client_id="c",
            client_secret="s",
            expires_at=NOW,
            scopes=("sso:account:access",),
            grant_types=("authorization_code", "refresh_token"),
        ),
    ],
)
def test_registration_items_round_trip(reg: Registration) -> None:
    item = registration_item(reg, "corp")
    back = registration_from(item)
    assert back is not None
    assert (back.client_id, back.client_secret, back.expires_at) == ("c", "s", NOW)
    assert (back.scopes, back.grant_types) == (reg.scopes, reg.grant_types)
    # A token's client secret is not a registration.
    assert registration_from(to_items(split(COMPLETE)[1], "corp")["client-secret"]) is None


def test_secrets_never_show_in_a_repr() -> None:
    _, secrets = split(COMPLETE)
    assert "refresh" not in repr(secrets).replace("refresh_token", "")
    assert "client-secret" not in repr(secrets)
    assert "client-secret" not in repr(Secret("client-secret", {}))


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    return TokenStore(TokenCacheDir(tmp_path / "cache"), "memory", MemoryStore())


def file_of(store: TokenStore, key: str = KEY) -> dict[str, object]:
    obj: dict[str, object] = json.loads(store.cache.token_path(key).read_bytes())
    return obj


def test_a_written_token_is_sealed_and_read_back_complete(store: TokenStore) -> None:
    store.write_token(KEY, "corp", COMPLETE)
    assert "refreshToken" not in file_of(store) and "clientSecret" not in file_of(store)
    loaded = store.read_token(KEY, "corp")
    assert not loaded.locked
    assert loaded.token is not None and serialize_token(loaded.token) == serialize_token(COMPLETE)


def test_a_complete_file_another_tool_wrote_is_adopted_and_sealed(tmp_path: Path) -> None:
    memory = MemoryStore()
    store = TokenStore(TokenCacheDir(tmp_path / "cache"), "memory", memory)
    store.cache.write_token(KEY, COMPLETE)  # as `aws sso login` writes it
    loaded = store.read_token(KEY, "corp")
    assert loaded.token is not None and loaded.token.refresh_token == "refresh"
    assert "refreshToken" not in file_of(store)
    # A new process (a daemon restart) finds the secrets in the store, not in its memory.
    again = TokenStore(TokenCacheDir(tmp_path / "cache"), "memory", memory)
    token = again.read_token(KEY, "corp").token
    assert token is not None and token.can_refresh(NOW)


def test_update_keeps_the_file_sealed(store: TokenStore) -> None:
    store.write_token(KEY, "corp", COMPLETE)

    def renew(current: SsoToken | None) -> SsoToken:
        assert current is not None and current.refresh_token == "refresh"
        from dataclasses import replace

        return replace(current, access_token="access-2", refresh_token="refresh-2")

    store.update_token(KEY, "corp", renew)
    assert file_of(store)["accessToken"] == "access-2"
    assert "refreshToken" not in file_of(store)
    token = store.read_token(KEY, "corp").token
    assert token is not None and token.refresh_token == "refresh-2"


def test_delete_removes_file_and_items(store: TokenStore) -> None:
    store.write_token(KEY, "corp", COMPLETE)
    assert store.secrets is not None and store.secrets.items()
    assert store.delete_token(KEY)
    assert store.secrets.items() == []
    assert store.read_token(KEY, "corp").token is None


def test_registrations_live_in_the_store_and_files_are_moved_in(store: TokenStore) -> None:
    reg = Registration(client_id="c", client_secret="s", expires_at=NOW)
    store.write_registration(REG_KEY, reg, "corp")
    assert not store.cache.token_path(REG_KEY).exists()
    assert store.read_registration(REG_KEY) == reg
    other = "c" * 40
    store.cache.write_registration(other, reg)  # as the AWS CLI writes it
    store.cache.write_token(KEY, COMPLETE)  # a token file is not a registration
    assert store.seal_registrations() == 1
    assert not store.cache.token_path(other).exists()
    assert store.read_registration(other) == reg
    assert store.cache.token_path(KEY).exists()


def test_restore_moves_items_back_into_complete_files(tmp_path: Path) -> None:
    cache = TokenCacheDir(tmp_path / "cache")
    before = MemoryStore()  # what an earlier run with another store left
    sealing = TokenStore(cache, "memory", before)
    sealing.write_token(KEY, "corp", COMPLETE)
    sealing.write_registration(
        REG_KEY, Registration(client_id="c", client_secret="s", expires_at=NOW), "corp"
    )

    shared = TokenStore(cache, "shared")
    assert shared.restore(before) == 2
    assert before.items() == []
    assert serialize_token(cache.read_token(KEY) or COMPLETE) == serialize_token(COMPLETE)
    assert cache.read_token(KEY) is not None and file_of(shared)["refreshToken"] == "refresh"
    reg = cache.read_registration(REG_KEY)
    assert reg is not None and reg.client_secret == "s"


def test_shared_reads_and_writes_complete_files(tmp_path: Path) -> None:
    store = TokenStore(TokenCacheDir(tmp_path / "cache"), "shared")
    store.write_token(KEY, "corp", COMPLETE)
    assert file_of(store)["refreshToken"] == "refresh"
    assert store.seal_registrations() == 0


@pytest.mark.parametrize(("name", "kind"), [("shared", type(None)), ("memory", MemoryStore)])
def test_for_setting(name: secretstores.StoreName, kind: type) -> None:
    assert isinstance(storechoice.for_setting(name), kind)


def test_the_keychain_store_refuses_where_there_is_no_keychain() -> None:
    """The macOS path cannot run here; off macOS it must refuse clearly, never half work."""
    from ssod.daemon.store.keychain import KeychainStore
    from ssod.errors import KeyringError

    with pytest.raises(KeyringError, match=r"keyring|Keychain"):
        KeychainStore().open()


@pytest.mark.skipif(sys.platform != "linux", reason="the Secret Service is Linux's")
def test_a_bus_address_where_nothing_listens_is_no_keyring_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stale DBUS_SESSION_BUS_ADDRESS: keyring mode refuses clearly, other stores carry on."""
    from ssod.daemon.store.secretservice import SecretServiceStore
    from ssod.errors import KeyringError

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    with pytest.raises(KeyringError, match="cannot connect to the D-Bus session bus"):
        SecretServiceStore().open()
    assert storechoice.leftover_keyring() is None  # shared and memory start as before


@pytest.mark.parametrize(
    ("flag", "env", "expected"),
    [
        (None, {}, "shared"),
        (None, {"SSOD_TOKEN_STORE": "keyring"}, "keyring"),
        ("memory", {"SSOD_TOKEN_STORE": "keyring"}, "memory"),  # the flag wins
        (None, {"SSOD_TOKEN_STORE": "Keyring"}, None),
        (None, {"SSOD_TOKEN_STORE": "file"}, None),
    ],
)
def test_the_token_store_setting(
    flag: str | None, env: dict[str, str], expected: str | None
) -> None:
    from ssod.daemon.settings import Settings
    from ssod.errors import BadRequest

    if expected is None:
        with pytest.raises(BadRequest, match="SSOD_TOKEN_STORE"):
            Settings.from_environment(token_store=flag, environ=env)
        return
    assert Settings.from_environment(token_store=flag, environ=env).token_store == expected
