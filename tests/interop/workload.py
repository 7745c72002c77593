"""What the interop workloads expect and record: profiles, identities, and the per-client counts.

Owns the two profiles of STANDARD_CONFIG the workloads spread over, the identity the emulator
answers for each, the ``ssod login`` every test starts with, and ``WorkloadRow``, one line of
the summary that tests/interop/conftest.py prints at the end of the run. Runs no AWS client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness import DaemonHarness
from interop.clients import Identity
from ssod.emulator.credentials import sso_role_name

#: profile -> (account, permission set), as in tests/harness.py STANDARD_CONFIG.
PROFILES: Mapping[str, tuple[str, str]] = {
    "dev": ("111111111111", "ReadOnly"),
    "prod": ("222222222222", "Admin"),
}
#: The fixed workload: this many client processes, spread over PROFILES.
PROCESSES = 20


def ssod_login(harness: DaemonHarness, profile: str = "dev") -> None:
    """``ssod login`` with the device code, which the emulator approves by itself."""
    done = harness.ssod("login", "--profile", profile, "--use-device-code", "--no-browser")
    assert done.returncode == 0, done.stderr


def expected_identity(profile: str, user: str) -> Identity:
    """What GetCallerIdentity answers for credentials of ``profile``, signed in as ``user``."""
    account, permission_set = PROFILES[profile]
    role = sso_role_name(account, permission_set)
    return Identity(account, f"arn:aws:sts::{account}:assumed-role/{role}/{user}")


@dataclass(frozen=True)
class WorkloadRow:
    """One client's workload and the AWS calls the emulator saw for it."""

    client: str
    path: str
    processes: int
    calls_per_process: int
    calls: Mapping[str, int]
    seconds: float

    def line(self) -> str:
        """The summary line."""
        shown = " ".join(f"{op}={n}" for op, n in sorted(self.calls.items()))
        return (
            f"{self.client:<10} {self.path:<18} {self.processes} processes x "
            f"{self.calls_per_process} STS calls: {shown} ({self.seconds:.1f}s)"
        )
