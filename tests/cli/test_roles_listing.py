"""``ssod roles`` against many accounts: a few ListAccountRoles calls at a time, never more.

The emulator holds 24 accounts and takes a moment over every call, so calls overlap whenever
the daemon sends them together; it records the most it answered at once. The listing must run
calls side by side (not one account after the other) and never more than
``ListingPolicy.concurrency`` of them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness import DaemonHarness
from ssod.daemon.engine.schedule import ListingPolicy
from ssod.emulator.config import EmulatorConfig
from ssod.emulator.data import Account, Directory
from ssod.emulator.testing.background import BackgroundEmulator

MANY = Directory(
    users=("user@example.com",),
    accounts=tuple(
        Account(f"{500000000000 + i}", f"acct-{i:02d}", f"a{i}@example.com", ("ReadOnly",))
        for i in range(24)
    ),
)


@pytest.fixture
def ssod_emulator(
    ssod_emulator_factory: Callable[..., BackgroundEmulator],
) -> BackgroundEmulator:
    """24 accounts, one page per listing."""
    return ssod_emulator_factory(EmulatorConfig(directory=MANY, page_size=100))


def test_roles_lists_accounts_side_by_side_within_the_bound(
    ssod_daemon: DaemonHarness, ssod_emulator: BackgroundEmulator
) -> None:
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    ssod_emulator.reset_calls()
    ssod_emulator.settings(latency=0.2)  # each call takes a while: concurrent ones overlap
    out = ssod_daemon.ssod("roles", "--sso-session", "corp", "--json")
    assert out.returncode == 0, out.stderr
    assert ssod_emulator.calls()["ListAccountRoles"] == 24
    peak = ssod_emulator.peaks()["ListAccountRoles"]
    assert 2 <= peak <= ListingPolicy().concurrency, peak
