"""Cache files on a real file system: atomicity under SIGKILL, modes, locking, symlinks."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ssod import atomicfile, paths
from ssod.daemon.store import cachefiles
from ssod.daemon.store.cachefiles import CliCacheDir, TokenCacheDir
from ssod.daemon.store.tokencache import (
    MAX_CACHE_FILE_BYTES,
    CliCachedCredentials,
    Registration,
    SsoToken,
    parse_token,
    registration_cache_key,
    role_cache_key,
    serialize_cli_credentials,
    serialize_token,
    token_cache_key,
)
from ssod.errors import CacheError, TokenCacheError

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
KEY = token_cache_key("my-sso")
TOKEN = SsoToken(
    start_url="https://d-1234567890.awsapps.com/start",
    region="us-east-1",
    access_token="AT-secret",
    expires_at=NOW + timedelta(hours=1),
    client_id="cid",
    client_secret="CS-secret",
    registration_expires_at=NOW + timedelta(days=90),
    refresh_token="RT-secret",
)


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_default_locations_follow_home(clean_environ: Path) -> None:
    assert TokenCacheDir().path == clean_environ / ".aws" / "sso" / "cache"
    assert CliCacheDir().path == paths.cli_cache_dir()


def test_write_then_read(tmp_path: Path) -> None:
    cache = TokenCacheDir(tmp_path / "cache")
    assert cache.read_token(KEY) is None
    cache.write_token(KEY, TOKEN)
    assert cache.token_path(KEY).read_bytes() == serialize_token(TOKEN)
    assert cache.read_token(KEY) == TOKEN
    assert sorted(p.name for p in cache.path.iterdir()) == [".ssod.lock", f"{KEY}.json"]


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o077, 0o277])
def test_modes_whatever_the_umask(tmp_path: Path, mask: int) -> None:
    old = os.umask(mask)
    try:
        cache = TokenCacheDir(tmp_path / "aws" / "sso" / "cache")
        cache.write_token(KEY, TOKEN)
    finally:
        os.umask(old)
    assert mode(cache.path) == 0o700
    assert mode(cache.token_path(KEY)) == 0o600
    assert mode(cache.path / cachefiles.LOCK_FILE_NAME) & 0o077 == 0


def test_existing_directory_and_file_modes(tmp_path: Path, umask: None) -> None:
    cache = TokenCacheDir(tmp_path / "cache")
    cache.path.mkdir(mode=0o755)
    cache.token_path(KEY).write_bytes(b"{}")
    cache.token_path(KEY).chmod(0o644)  # the CLI keeps an existing file's mode; ssod does not
    cache.write_token(KEY, TOKEN)
    assert mode(cache.path) == 0o755
    assert mode(cache.token_path(KEY)) == 0o600


@pytest.mark.parametrize("bad", ["", "../x", "0AD374308C5A4E22F723ADF10145EAFAD7C4031C", "a" * 39])
def test_keys_are_validated(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        TokenCacheDir(tmp_path).token_path(bad)
    with pytest.raises(ValueError):
        CliCacheDir(tmp_path).path_for(bad)


def test_broken_file_raises_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cachefiles, "_TORN_READ_RETRY_DELAY", 0)
    cache = TokenCacheDir(tmp_path)
    cache.token_path(KEY).write_bytes(serialize_token(TOKEN)[:60])
    with pytest.raises(TokenCacheError) as info:
        cache.read_token(KEY)
    assert str(cache.token_path(KEY)) in str(info.value)
    assert "AT-secret" not in str(info.value)


def test_torn_read_is_retried_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = TokenCacheDir(tmp_path)
    path = cache.token_path(KEY)
    path.write_bytes(b"")  # the CLI truncates, then writes
    # The "pause" is when the CLI finishes its write.
    monkeypatch.setattr(time, "sleep", lambda _: path.write_bytes(serialize_token(TOKEN)))
    assert cache.read_token(KEY) == TOKEN


def test_huge_file_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cachefiles, "_TORN_READ_RETRY_DELAY", 0)
    cache = TokenCacheDir(tmp_path)
    cache.token_path(KEY).write_bytes(b" " * (5 << 20))
    data = cachefiles.read_file(cache.token_path(KEY))
    assert data is not None and len(data) == MAX_CACHE_FILE_BYTES + 1
    with pytest.raises(TokenCacheError, match="larger than"):
        cache.read_token(KEY)


@pytest.mark.timeout(10)
def test_fifo_and_directory_do_not_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cachefiles, "_TORN_READ_RETRY_DELAY", 0)
    cache = TokenCacheDir(tmp_path)
    os.mkfifo(cache.token_path(KEY))
    with pytest.raises(TokenCacheError, match="not a regular file"):
        cache.read_token(KEY)
    other = token_cache_key("other")
    cache.token_path(other).mkdir()
    with pytest.raises(TokenCacheError, match="not a regular file"):
        cache.read_token(other)
    with pytest.raises(CacheError, match="cannot write"):
        cache.write_token(other, TOKEN)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(atomicfile.TEMP_PREFIX)]
    assert leftovers == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path: Path) -> None:
    cache = TokenCacheDir(tmp_path)
    cache.write_token(KEY, TOKEN)
    cache.token_path(KEY).chmod(0)
    with pytest.raises(CacheError, match="cannot read"):
        cache.read_token(KEY)


def test_symlink_is_read_through_but_replaced_on_write(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(serialize_token(TOKEN))
    cache = TokenCacheDir(tmp_path / "cache")
    cache.path.mkdir()
    cache.token_path(KEY).symlink_to(elsewhere)
    assert cache.read_token(KEY) == TOKEN
    newer = dataclasses.replace(TOKEN, access_token="AT-newer")
    cache.write_token(KEY, newer)
    assert not cache.token_path(KEY).is_symlink()
    assert elsewhere.read_bytes() == serialize_token(TOKEN)
    assert cache.read_token(KEY) == newer


def test_delete_token(tmp_path: Path) -> None:
    cache = TokenCacheDir(tmp_path)
    cache.write_token(KEY, TOKEN)
    assert cache.delete_token(KEY) is True
    assert cache.delete_token(KEY) is False
    assert cache.read_token(KEY) is None


def test_update_token_keeps_unknown_fields(tmp_path: Path) -> None:
    cache = TokenCacheDir(tmp_path)
    js = json.loads(serialize_token(TOKEN)) | {"expiresAt": "2025-01-02T04:04:05.123Z", "x": [1]}
    cache.token_path(KEY).write_text(json.dumps(js, indent=2))
    new = cache.update_token(KEY, lambda t: t and dataclasses.replace(t, access_token="AT-2"))
    assert new is not None and new.access_token == "AT-2"
    on_disk = json.loads(cache.token_path(KEY).read_bytes())
    assert on_disk["x"] == [1]
    assert list(on_disk)[-1] == "x"
    assert on_disk["expiresAt"] == "2025-01-02T04:04:05Z"


def test_update_token_none_leaves_file_alone(tmp_path: Path) -> None:
    cache = TokenCacheDir(tmp_path)
    assert cache.update_token(KEY, lambda t: None) is None
    assert not cache.token_path(KEY).exists()
    cache.write_token(KEY, TOKEN)
    before = cache.token_path(KEY).stat().st_ino
    assert cache.update_token(KEY, lambda t: None) == TOKEN
    assert cache.token_path(KEY).stat().st_ino == before


def test_locked_is_reentrant(tmp_path: Path) -> None:
    cache = TokenCacheDir(tmp_path, lock_timeout=1)
    with cache.locked(), cache.locked():
        cache.write_token(KEY, TOKEN)
        cache.update_token(KEY, lambda t: t)
    with cache.locked():  # released: takes it again at once
        pass


@pytest.mark.timeout(30)
def test_updates_from_two_instances_do_not_lose_writes(tmp_path: Path) -> None:
    TokenCacheDir(tmp_path).write_token(KEY, dataclasses.replace(TOKEN, extra={"n": 0}))

    def bump(t: SsoToken | None) -> SsoToken:
        assert t is not None
        n = t.extra["n"]
        assert isinstance(n, int)
        return dataclasses.replace(t, extra={"n": n + 1})

    def worker() -> None:
        cache = TokenCacheDir(tmp_path)  # its own flock, as another process would have
        for _ in range(25):
            cache.update_token(KEY, bump)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = TokenCacheDir(tmp_path).read_token(KEY)
    assert final is not None and final.extra["n"] == 100


LOCK_HOLDER = textwrap.dedent(
    """
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("locked", flush=True)
    sys.stdin.read()
    """
)


@pytest.mark.timeout(30)
def test_lock_held_by_another_process_times_out(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(tmp_path / cachefiles.LOCK_FILE_NAME)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        cache = TokenCacheDir(tmp_path, lock_timeout=0.2)
        # The holder keeps the lock until told: only the 0.2 s lock timeout ends this.
        with pytest.raises(CacheError, match="still locked"):
            cache.write_token(KEY, TOKEN)
        assert cache.read_token(KEY) is None  # reads never wait for the lock
    finally:
        holder.communicate("")
    cache.write_token(KEY, TOKEN)


def test_registration_round_trip(tmp_path: Path) -> None:
    cache = TokenCacheDir(tmp_path)
    key = registration_cache_key(TOKEN.start_url or "", "us-east-1", None, "my-sso")
    reg = Registration(client_id="cid", client_secret="CS", expires_at=NOW, scopes=("a",))
    assert cache.read_registration(key) is None
    cache.write_registration(key, reg)
    assert cache.read_registration(key) == reg
    assert mode(cache.token_path(key)) == 0o600


# ---- ~/.aws/cli/cache ----

CREDS = CliCachedCredentials(
    access_key_id="ASIA",
    secret_access_key="SAK",
    session_token="ST",
    expiration=NOW,
    account_id="123456789012",
)


def test_cli_cache_write_read_delete(tmp_path: Path) -> None:
    cli = CliCacheDir(tmp_path / "cli" / "cache")
    key = role_cache_key("123456789012", "ReadOnly", session_name="my-sso")
    assert cli.read(key) is None
    cli.write(key, CREDS)
    assert cli.path_for(key).read_bytes() == serialize_cli_credentials(CREDS)
    assert mode(cli.path) == 0o700 and mode(cli.path_for(key)) == 0o600
    assert cli.read(key) == CREDS
    assert cli.delete(key) is True
    assert cli.delete(key) is False
    assert sorted(p.name for p in cli.path.iterdir()) == []


def test_delete_sso_entries_spares_other_entries(tmp_path: Path) -> None:
    cli = CliCacheDir(tmp_path / "cli")
    sso, assume, junk, missing = (token_cache_key(str(i)) for i in range(4))
    cli.write(sso, CREDS)  # creates the directory
    cli.path_for(assume).write_text('{"ProviderType": "assume-role", "Credentials": {}}')
    cli.path_for(junk).write_text("not json")
    assert cli.delete_sso_entries([sso, assume, junk, missing]) == [sso]
    assert sorted(p.name for p in cli.path.iterdir()) == sorted([f"{assume}.json", f"{junk}.json"])


# ---- crash safety ----

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from pathlib import Path
    from ssod.daemon.store.cachefiles import TokenCacheDir
    from ssod.daemon.store.tokencache import SsoToken

    cache = TokenCacheDir(Path(sys.argv[1]))
    pad = "x" * 256 * 1024  # big enough that a non-atomic write is visibly torn
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    i = 0
    while True:
        token = SsoToken(access_token=f"AT{i}", expires_at=expires, extra={"n": i, "pad": pad})
        cache.write_token(sys.argv[2], token)
        if i == 0:
            print("ready", flush=True)
        i += 1
    """
)


@pytest.mark.timeout(60)
def test_sigkill_mid_write_never_tears_the_file(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    path = cache_dir / f"{KEY}.json"
    reads = 0
    seen: set[object] = set()
    for round_ in range(3):
        with subprocess.Popen(
            [sys.executable, "-c", WRITER, str(cache_dir), KEY], stdout=subprocess.PIPE, text=True
        ) as child:
            try:
                assert child.stdout is not None and child.stdout.readline() == "ready\n"
                kill_at = time.monotonic() + 0.4 + 0.2 * round_
                stop_at = kill_at + 0.3
                while time.monotonic() < stop_at:
                    if child.returncode is None and time.monotonic() >= kill_at:
                        os.kill(child.pid, signal.SIGKILL)
                        child.wait()
                    # Raw read, no retry: every snapshot of <key>.json must parse.
                    token = parse_token(path.read_bytes(), path=str(path))
                    seen.add(token.extra["n"])
                    reads += 1
            finally:
                if child.poll() is None:
                    os.kill(child.pid, signal.SIGKILL)
                child.wait()
        assert child.returncode == -signal.SIGKILL
    assert reads > 100
    assert len(seen) > 3  # the reader really raced the writers
    parse_token(path.read_bytes(), path=str(path))
    json_files = [p.name for p in cache_dir.iterdir() if p.suffix == ".json"]
    assert json_files == [f"{KEY}.json"]  # killed writers leave only `.ssod-*.tmp` files
    cachefiles.remove_stale_temp_files(cache_dir, older_than=0)
    assert sorted(p.name for p in cache_dir.iterdir()) == [".ssod.lock", f"{KEY}.json"]


def test_remove_stale_temp_files_spares_young_and_foreign_files(tmp_path: Path) -> None:
    assert cachefiles.remove_stale_temp_files(tmp_path / "missing") == 0
    old, young = tmp_path / ".ssod-old.tmp", tmp_path / ".ssod-young.tmp"
    botocore_tmp, token = tmp_path / "tmpabc.tmp", tmp_path / f"{KEY}.json"
    for p in (old, young, botocore_tmp, token):
        p.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    os.utime(botocore_tmp, (time.time() - 7200, time.time() - 7200))
    assert cachefiles.remove_stale_temp_files(tmp_path) == 1
    assert not old.exists() and young.exists() and botocore_tmp.exists() and token.exists()
