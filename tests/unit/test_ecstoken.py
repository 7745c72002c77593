"""The ECS authorization token file: created safely once, stable, rotated on request, refused
when unsafe."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ssod import paths
from ssod.daemon.store import ecstoken
from ssod.errors import CacheError


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    return tmp_path / "state" / "ssod" / "ecs-token"


def test_created_0600_in_a_new_0700_directory_without_newline(token_file: Path) -> None:
    token = ecstoken.load_or_create(token_file)
    raw = token_file.read_bytes()
    assert raw == token.encode()
    assert not raw.endswith(b"\n")
    assert mode(token_file) == 0o600
    assert mode(token_file.parent) == 0o700
    assert len(token) >= 43  # 256 bits of base64url
    assert token.isascii() and token.isprintable() and " " not in token


def test_no_temp_files_left_behind(token_file: Path) -> None:
    ecstoken.load_or_create(token_file)
    ecstoken.rotate(token_file)
    assert [p.name for p in token_file.parent.iterdir()] == [token_file.name]


def test_stable_across_calls_and_restarts(token_file: Path) -> None:
    first = ecstoken.load_or_create(token_file)
    assert ecstoken.load_or_create(token_file) == first
    assert ecstoken.load(token_file) == first


def test_tokens_are_random(tmp_path: Path) -> None:
    assert ecstoken.load_or_create(tmp_path / "a") != ecstoken.load_or_create(tmp_path / "b")


def test_rotate_changes_it_and_keeps_mode(token_file: Path) -> None:
    first = ecstoken.load_or_create(token_file)
    second = ecstoken.rotate(token_file)
    assert second != first
    assert ecstoken.load_or_create(token_file) == second
    assert mode(token_file) == 0o600


def test_rotate_creates_a_missing_file(token_file: Path) -> None:
    token = ecstoken.rotate(token_file)
    assert ecstoken.load(token_file) == token


def test_existing_parent_mode_is_left_alone(tmp_path: Path) -> None:
    parent = tmp_path / "shared"
    parent.mkdir(mode=0o755)
    os.chmod(parent, 0o755)
    ecstoken.load_or_create(parent / "ecs-token")
    assert mode(parent) == 0o755


@pytest.mark.parametrize("bad_mode", [0o644, 0o640, 0o604, 0o660, 0o620])
def test_refuses_a_file_others_can_access(token_file: Path, bad_mode: int) -> None:
    ecstoken.load_or_create(token_file)
    os.chmod(token_file, bad_mode)
    with pytest.raises(CacheError, match="accessible to other users"):
        ecstoken.load_or_create(token_file)
    with pytest.raises(CacheError):
        ecstoken.rotate(token_file)
    assert mode(token_file) == bad_mode  # nothing repaired silently


def test_refuses_a_trailing_newline(token_file: Path) -> None:
    token_file.parent.mkdir(parents=True)
    token_file.write_text("a" * 43 + "\n")
    os.chmod(token_file, 0o600)
    with pytest.raises(CacheError, match="newline"):
        ecstoken.load_or_create(token_file)


@pytest.mark.parametrize(
    "content", [b"", b"short", b"has space" + b"a" * 40, b"\xff" * 40, b"a\r\nb" * 20]
)
def test_refuses_content_that_is_not_a_token(token_file: Path, content: bytes) -> None:
    token_file.parent.mkdir(parents=True)
    token_file.write_bytes(content)
    os.chmod(token_file, 0o600)
    with pytest.raises(CacheError):
        ecstoken.load_or_create(token_file)
    assert token_file.read_bytes() == content


def test_refuses_a_symlink(tmp_path: Path, token_file: Path) -> None:
    target = tmp_path / "elsewhere"
    ecstoken.load_or_create(target)
    token_file.parent.mkdir(parents=True)
    token_file.symlink_to(target)
    with pytest.raises(CacheError, match="symlink"):
        ecstoken.load_or_create(token_file)


def test_refuses_a_directory(token_file: Path) -> None:
    token_file.mkdir(parents=True, mode=0o700)
    with pytest.raises(CacheError, match="not a regular file"):
        ecstoken.load_or_create(token_file)


def test_refuses_a_file_owned_by_someone_else(
    token_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ecstoken.load_or_create(token_file)
    monkeypatch.setattr(os, "getuid", lambda: os.stat(token_file).st_uid + 1)
    with pytest.raises(CacheError, match="owned by uid"):
        ecstoken.load_or_create(token_file)


def test_a_concurrent_creator_wins(token_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate another daemon creating the file between our read and our link.
    real_write = ecstoken._write

    def racing_write(path: Path, token: str, *, replace: bool) -> None:
        real_write(path, "b" * 43, replace=True)
        real_write(path, token, replace=replace)

    monkeypatch.setattr(ecstoken, "_write", racing_write)
    assert ecstoken.load_or_create(token_file) == "b" * 43


def test_default_location_is_the_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SSOD_STATE_DIR", str(tmp_path / "st"))
    token = ecstoken.load_or_create(paths.ecs_token_file())
    assert (tmp_path / "st" / "ecs-token").read_text() == token
