"""`--token-store keyring` with the real AWS clients: `aws sso login` sealed, every tool works.

Debian's AWS CLI v2 (2.9.19) predates ``AWS_ENDPOINT_URL_*``; it reaches the emulator through
``AWS_DATA_PATH``, botocore's own data search path, holding endpoint rule sets for sso-oidc, sso
and sts whose one rule is the emulator's URL (the service models stay the CLI's own). So the
CLI's real ``aws sso login`` (device code, which the emulator approves by itself) registers a
client, writes its complete token and registration files, and ssod must seal both within
seconds: no refresh token or client secret left anywhere under HOME or the runtime directory.
Afterwards the CLI v2, boto3 and the JS SDK all use the sealed token (the SSO cache path, no
refresh of their own), and a second ``aws sso login`` still works.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from harness import DaemonHarness
from interop.clients import (
    AWSCLI_V2,
    AWSCLI_V2_CLIENT,
    BOTO3,
    JS_SDK,
    AwsClient,
    client_env,
    require,
    run,
)
from interop.workload import expected_identity
from keyring_support import SecretService
from ssod.daemon.store.tokencache import token_cache_key
from ssod.wire import Op

pytestmark = pytest.mark.interop

T = TypeVar("T")
#: The CLI's bundled data: the rule sets we replace are read from here for their parameters.
CLI_DATA = Path("/usr/lib/python3/dist-packages/awscli/botocore/data")
SERVICES = (("sso-oidc", "2019-06-10"), ("sso", "2019-06-10"), ("sts", "2011-06-15"))
DEADLINE = 20.0


def emulator_data_path(root: Path, url: str) -> Path:
    """An ``AWS_DATA_PATH`` whose endpoint rule sets send sso-oidc, sso and sts to ``url``."""
    for service, version in SERVICES:
        rules = json.loads((CLI_DATA / service / version / "endpoint-rule-set-1.json").read_text())
        rules["rules"] = [
            {
                "conditions": [],
                "endpoint": {"url": url, "properties": {}, "headers": {}},
                "type": "endpoint",
            }
        ]
        folder = root / service / version
        folder.mkdir(parents=True)
        (folder / "endpoint-rule-set-1.json").write_text(json.dumps(rules))
    return root


def wait_for(probe: Callable[[], T | None], what: str, harness: DaemonHarness) -> T:
    """Poll ``probe`` until it returns something; fail with the daemon's log after a while."""
    deadline = time.monotonic() + DEADLINE
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; the daemon said:\n{harness.log()[-6000:]}")
        time.sleep(0.05)
    return found


def files_holding(roots: list[Path], needles: list[str]) -> list[str]:
    """Every regular file under ``roots`` that contains one of ``needles``."""
    found = []
    for root in roots:
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                if path.is_symlink() or not path.is_file():
                    continue
                data = path.read_bytes()
                if any(n.encode() in data for n in needles):
                    found.append(str(path))
    return found


def cache_secrets(harness: DaemonHarness) -> list[str]:
    """Cache files that still hold a refresh token or a client secret."""
    return [
        p.name
        for p in harness.cache_dir.glob("*.json")
        if {"refreshToken", "clientSecret"} & set(json.loads(p.read_bytes()))
    ]


def test_aws_sso_login_is_sealed_and_every_client_still_works(
    ssod_daemon: DaemonHarness, secret_service: SecretService, tmp_path: Path
) -> None:
    require(AWSCLI_V2_CLIENT)
    emulator = ssod_daemon.emulator
    user = emulator.state.config.directory.default_user
    data = emulator_data_path(tmp_path / "aws-data", emulator.url)
    ssod_daemon.env["DBUS_SESSION_BUS_ADDRESS"] = secret_service.address
    ssod_daemon.start("--token-store", "keyring")
    cli_env = client_env(ssod_daemon.env, AWS_DATA_PATH=str(data))
    cli_env.pop("DBUS_SESSION_BUS_ADDRESS")  # the CLI has no business with the keyring

    aws_sso_login(cli_env)

    # Sealed within seconds: the secrets are items, and in no file at all.
    wait_for(lambda: True if not cache_secrets(ssod_daemon) else None, "sealing", ssod_daemon)
    refresh = secret_service.lookup(kind="refresh-token", session="corp", use="token")
    client = secret_service.lookup(kind="client-secret", session="corp", use="token")
    assert refresh and client
    assert files_holding([ssod_daemon.home, ssod_daemon.runtime], [refresh, client]) == []
    assert refresh not in ssod_daemon.log() and client not in ssod_daemon.log()
    token_file = ssod_daemon.cache_dir / f"{token_cache_key('corp')}.json"
    assert sorted(json.loads(token_file.read_bytes())) == [
        "accessToken",
        "expiresAt",
        "region",
        "startUrl",
    ]
    session = ssod_daemon.request(Op.STATUS)["sessions"][0]
    assert session["state"] == "ready" and session["refreshable"] is True, session

    # Every client uses the sealed token through the SSO cache, with no refresh of its own.
    emulator.reset_calls()
    cli = [str(AWSCLI_V2), "sts", "get-caller-identity", "--output", "json", "--profile", "dev"]
    outcome = run(cli, cli_env)
    assert outcome.ok, outcome.stderr[-3000:]
    assert outcome.identities == (expected_identity("dev", user),)
    for sdk in (BOTO3, JS_SDK):
        check_sdk(require(sdk), ssod_daemon, user)
    assert emulator.calls().get("CreateToken:refresh_token", 0) == 0

    # A second `aws sso login` works: the registration file is gone, so it registers again.
    aws_sso_login(cli_env)
    assert emulator.calls().get("RegisterClient", 0) == 1
    wait_for(lambda: True if not cache_secrets(ssod_daemon) else None, "sealing", ssod_daemon)
    newer = secret_service.lookup(kind="refresh-token", session="corp", use="token")
    assert newer and newer != refresh


def aws_sso_login(env: dict[str, str]) -> None:
    """The CLI v2's own ``aws sso login`` (device code; the emulator approves it)."""
    done = subprocess.run(
        [str(AWSCLI_V2), "sso", "login", "--profile", "dev", "--no-browser"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Successfully logged into" in done.stdout, done.stdout


def check_sdk(client: AwsClient, harness: DaemonHarness, user: str) -> None:
    """One SDK process through the SSO profile ``prod`` gets the right identity."""
    argv = client.sts_argv(sts_url=harness.emulator.url, profile="prod", js_provider="sso")
    outcome = run(argv, client_env(harness.env, AWS_PROFILE="prod"))
    assert outcome.ok, f"{client}: {outcome.stderr[-3000:]}"
    assert outcome.identities[0] == expected_identity("prod", user)
