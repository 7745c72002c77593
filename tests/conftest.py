"""Shared fixtures: a clean environment for every test, and a real daemon beside the emulator.

A run started in the background (``make test &``) starts its programs with SIGINT's default
(``launcher.default_sigint_for_children``), so the Ctrl-C tests pass there too.

Every test runs with a temporary HOME and no AWS_* or SSOD_* variables. ``ssod_daemon`` gives a
harness (tests/harness.py) for the real ``ssod daemon`` in that HOME, pointed at the emulator
(the ``ssod_emulator`` fixture from ssod's pytest plugin), with its IPC socket in a short temp
dir and the ECS endpoint on a free port.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import DaemonHarness, base_env
from keyring_support import SecretService, require_tools
from otheruser import OtherUser, can_create_users, throwaway_user
from ssod.emulator.testing.background import BackgroundEmulator
from ssod.emulator.testing.launcher import default_sigint_for_children


def pytest_configure(config: pytest.Config) -> None:
    """A run started in the background (SIGINT ignored) starts its programs with the default."""
    default_sigint_for_children()


@pytest.fixture(autouse=True)
def clean_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Scrub AWS and ssod variables and point HOME at an empty temp directory."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "SSOD_", "BOTO_")):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.setenv("SSOD_NO_AUTOSTART", "1")  # no test starts a daemon behind its own back
    yield home


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temp dir with a short path: Unix socket paths must stay under ~104 bytes."""
    path = Path(tempfile.mkdtemp(prefix="ssod-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def ssod_daemon(
    ssod_emulator: BackgroundEmulator, clean_environ: Path, short_tmp: Path, tmp_path: Path
) -> Iterator[DaemonHarness]:
    """A harness (not yet started) for a real daemon in the temp HOME, with STANDARD_CONFIG."""
    runtime = short_tmp / "rt"
    harness = DaemonHarness(
        home=clean_environ,
        runtime=runtime,
        emulator=ssod_emulator,
        env=base_env(clean_environ, runtime, ssod_emulator),
        log_path=tmp_path / "daemon.log",
    )
    harness.write_config()
    try:
        yield harness
    finally:
        harness.stop()


@pytest.fixture
def other_user() -> Iterator[OtherUser]:
    """A throwaway second local account (skips without root: only root can create one)."""
    why = can_create_users()
    if why is not None:
        pytest.skip(why)
    with throwaway_user() as user:
        yield user


@pytest.fixture
def secret_service(short_tmp: Path) -> Iterator[SecretService]:
    """A real Secret Service (gnome-keyring-daemon on a private session bus), unlocked."""
    require_tools()
    service = SecretService(short_tmp / "keyring")
    try:
        yield service
    finally:
        service.stop()
