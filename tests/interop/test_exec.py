"""``ssod exec`` with each real client: the command gets the profile's identity from the daemon,
whatever keys and profile the calling shell had.
"""

from __future__ import annotations

import sys

import pytest

from harness import DaemonHarness
from interop.clients import CLIENTS, AwsClient, client_env, require, run
from interop.workload import expected_identity, ssod_login

pytestmark = pytest.mark.interop

#: What a shell that used other credentials before would still have set.
STALE = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "stale",
    "AWS_PROFILE": "dev",
}


@pytest.mark.parametrize("client", CLIENTS, ids=str)
def test_exec_gives_each_client_the_profile(client: AwsClient, ssod_daemon: DaemonHarness) -> None:
    require(client)
    ssod_daemon.start()
    ssod_login(ssod_daemon)
    emulator = ssod_daemon.emulator
    argv = client.sts_argv(sts_url=emulator.url)
    ssod = [sys.executable, "-m", "ssod.client.cli", "exec", "--profile", "prod", "--"]
    outcome = run([*ssod, *argv], client_env(ssod_daemon.env, **STALE))
    assert outcome.ok, outcome.stderr
    # ... through the scoped token exec gives it, not the main one.
    assert "gave no token for this command alone" not in outcome.stderr
    user = emulator.state.config.directory.default_user
    assert set(outcome.identities) == {expected_identity("prod", user)}
