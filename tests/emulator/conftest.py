"""Fixtures for the emulator tests (helpers live in tests/emulator_support.py)."""

from __future__ import annotations

from typing import Any

import pytest

from emulator_support import Login, client, device_login
from ssod.emulator.testing.background import BackgroundEmulator


@pytest.fixture
def emu(ssod_emulator_factory: Any) -> BackgroundEmulator:
    """An emulator that approves device codes at once."""
    handle: BackgroundEmulator = ssod_emulator_factory(approve_delay=0.0)
    return handle


@pytest.fixture
def oidc(emu: BackgroundEmulator) -> Any:
    return client("sso-oidc", emu.url)


@pytest.fixture
def sso(emu: BackgroundEmulator) -> Any:
    return client("sso", emu.url)


@pytest.fixture
def login(oidc: Any) -> Login:
    return device_login(oidc, ["sso:account:access"])
