"""The credential_process path: profiles whose ``credential_process`` is ``ssod credentials``.

Each client runs ``<venv python> -m ssod.client.cli credentials --profile NAME`` (the absolute
path, as a user's config would name the installed ``ssod``) and calls STS with what it prints:
boto3 and the AWS CLI v1 through botocore's ProcessProvider, Debian's AWS CLI v2 through its
own (STS via ``--endpoint-url``, as it predates ``AWS_ENDPOINT_URL_*``), the JS SDK through
``fromProcess``. Before a login the client fails and passes on ssod's hint to log in.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import pytest

from harness import STANDARD_CONFIG, DaemonHarness
from interop.clients import CLIENTS, AwsClient, client_env, require, run, run_many
from interop.workload import PROFILES, WorkloadRow, expected_identity, ssod_login

pytestmark = pytest.mark.interop

#: Processes per client: each one also starts an ``ssod credentials`` process.
PROCESSES = 8


def process_profiles() -> str:
    """``<name>-process`` profiles that get ``<name>``'s credentials from ``ssod credentials``."""
    return "".join(
        f"\n[profile {name}-process]\n"
        f"credential_process = {sys.executable} -m ssod.client.cli credentials --profile {name}\n"
        for name in PROFILES
    )


@pytest.mark.parametrize("client", CLIENTS, ids=str)
def test_credential_process_profile(
    client: AwsClient,
    ssod_daemon: DaemonHarness,
    record_workload: Callable[[WorkloadRow], None],
) -> None:
    """Right identities through credential_process, one GetRoleCredentials per profile."""
    require(client)
    emulator = ssod_daemon.emulator
    user = emulator.state.config.directory.default_user
    ssod_daemon.write_config(STANDARD_CONFIG + process_profiles())
    ssod_daemon.start()

    def job(profile: str) -> tuple[list[str], dict[str, str]]:
        name = f"{profile}-process"
        argv = client.sts_argv(
            sts_url=emulator.url,
            calls=client.calls_per_process,
            profile=name,
            js_provider="process",
        )
        return argv, client_env(ssod_daemon.env, AWS_PROFILE=name)

    not_yet = run(*job("dev"))
    assert not not_yet.ok
    assert "ssod login" in not_yet.stderr, not_yet.stderr[-3000:]

    ssod_login(ssod_daemon)
    emulator.reset_calls()
    profiles = [list(PROFILES)[i % len(PROFILES)] for i in range(PROCESSES)]
    started = time.monotonic()
    outcomes = run_many([job(p) for p in profiles])
    seconds = time.monotonic() - started
    calls = emulator.calls()

    for profile, outcome in zip(profiles, outcomes, strict=True):
        assert outcome.ok, outcome.stderr[-3000:]
        assert outcome.identities == (expected_identity(profile, user),) * client.calls_per_process
    assert calls == {
        "GetRoleCredentials": len(PROFILES),
        "GetCallerIdentity": PROCESSES * client.calls_per_process,
    }
    record_workload(
        WorkloadRow(
            client.name, "credential_process", PROCESSES, client.calls_per_process, calls, seconds
        )
    )
