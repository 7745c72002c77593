"""The container path: each real client gets its credentials from ssod's ECS endpoint.

Per client, one run of the fixed workload: PROCESSES client processes spread over two profiles,
with ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` and the token from the file or the variable, call
STS GetCallerIdentity on the emulator and must get the profile's account and role; the whole
workload must cost exactly one GetRoleCredentials per profile. In the same run, processes with a
wrong token must fail without reaching STS: GetCallerIdentity must count the good calls only.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping

import pytest

from harness import DaemonHarness
from interop.clients import CLIENTS, AwsClient, client_env, require, run_many
from interop.workload import PROCESSES, PROFILES, WorkloadRow, expected_identity, ssod_login

pytestmark = pytest.mark.interop

URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
TOKEN_FILE = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
TOKEN_VAR = "AWS_CONTAINER_AUTHORIZATION_TOKEN"


def ssod_env(harness: DaemonHarness, profile: str) -> dict[str, str]:
    """The container variables ``eval "$(ssod env --profile NAME)"`` sets in a POSIX shell."""
    printed = harness.ssod("env", "--profile", profile)
    assert printed.returncode == 0, printed.stderr
    # The shell does the unquoting; the text (with the token) goes in on stdin, not in argv.
    shell = subprocess.run(
        ["sh", "-c", 'eval "$(cat)" && env -0'],
        input=printed.stdout,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    pairs = (item.split("=", 1) for item in shell.stdout.split("\0") if "=" in item)
    return {name: value for name, value in pairs if name.startswith("AWS_CONTAINER_")}


def token_ways(client: AwsClient, printed: Mapping[str, str]) -> list[dict[str, str]]:
    """How the workload hands ``client`` the token: as printed, and each variable alone."""
    ways = [
        {k: printed[k] for k in (TOKEN_FILE, TOKEN_VAR)},
        {TOKEN_FILE: printed[TOKEN_FILE]},
        {TOKEN_VAR: printed[TOKEN_VAR]},
    ]
    return ways if client.knows_token_file else [ways[0], ways[2]]


@pytest.mark.parametrize("client", CLIENTS, ids=str)
def test_workload_through_the_ecs_endpoint(
    client: AwsClient,
    ssod_daemon: DaemonHarness,
    record_workload: Callable[[WorkloadRow], None],
) -> None:
    """Right identities, one GetRoleCredentials per profile, and wrong tokens never reach STS.

    The variables come from ``ssod env`` (the URL, the token file and the token); processes get
    all three, or only the file, or only the token. Debian's AWS CLI v2 2.9.19 knows neither
    ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`` nor ``AWS_ENDPOINT_URL_*``: it reads the token
    from the variable, reaches STS through ``--endpoint-url``, and a process given only the
    file sends no Authorization header and is refused. A CLI process makes one STS call, an
    SDK process two.
    """
    require(client)
    ssod_daemon.start()
    ssod_login(ssod_daemon)
    emulator = ssod_daemon.emulator
    user = emulator.state.config.directory.default_user
    argv = client.sts_argv(sts_url=emulator.url, calls=client.calls_per_process)
    printed = {profile: ssod_env(ssod_daemon, profile) for profile in PROFILES}
    ways = token_ways(client, printed["dev"])
    profiles = list(PROFILES)
    good = [
        (profiles[i % len(profiles)], ways[(i // len(profiles)) % len(ways)])
        for i in range(PROCESSES)
    ]
    bad_file = ssod_daemon.home / "wrong-ecs-token"
    bad_file.write_text("w" * len(printed["dev"][TOKEN_VAR]))
    wrong = [{TOKEN_VAR: "w" * len(printed["dev"][TOKEN_VAR])}]
    if client.knows_token_file:
        wrong.append({TOKEN_FILE: str(bad_file)})
    else:
        wrong.append({TOKEN_FILE: printed["dev"][TOKEN_FILE]})  # the right file, never read

    def env(profile: str, token: Mapping[str, str]) -> dict[str, str]:
        return client_env(ssod_daemon.env, **{URI: printed[profile][URI]}, **token)

    emulator.reset_calls()
    started = time.monotonic()
    # The wrong-token processes go first: they retry for seconds while the workload runs.
    outcomes = run_many(
        [(argv, env("dev", token)) for token in wrong]
        + [(argv, env(profile, token)) for profile, token in good]
    )
    seconds = time.monotonic() - started
    calls = emulator.calls()

    refused, served = outcomes[: len(wrong)], outcomes[len(wrong) :]
    for (profile, token), outcome in zip(good, served, strict=True):
        assert outcome.ok, f"{profile} with {sorted(token)}:\n{outcome.stderr[-3000:]}"
        assert outcome.identities == (expected_identity(profile, user),) * client.calls_per_process
    for token, outcome in zip(wrong, refused, strict=True):
        assert not outcome.ok, f"{client} got credentials with {sorted(token)}"
    # Exactly the workload's calls: the refused processes never reached STS.
    assert calls == {
        "GetRoleCredentials": len(PROFILES),
        "GetCallerIdentity": PROCESSES * client.calls_per_process,
    }
    record_workload(
        WorkloadRow(
            client.name, "container (ECS)", PROCESSES, client.calls_per_process, calls, seconds
        )
    )
