"""``aws eks get-token`` (CLI v1 and v2) against the emulator's Kubernetes API stub.

The AWS CLI signs with credentials from ``ssod credentials`` (credential_process) and no
endpoint override, so its URL names the real regional STS host, as it would for a real cluster;
the stub accepts it exactly as it accepts ssod's own token for the same cluster, which proves
both are made the same way (the stub recomputes the signature).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from eks_support import call_stub
from harness import STANDARD_CONFIG, DaemonHarness
from interop.clients import (
    AWSCLI_V1,
    AWSCLI_V1_CLIENT,
    AWSCLI_V2,
    AWSCLI_V2_CLIENT,
    AwsClient,
    client_env,
    require,
)

pytestmark = pytest.mark.interop

PROCESS_PROFILE = (
    "\n[profile dev-process]\n"
    f"credential_process = {sys.executable} -m ssod.client.cli credentials --profile dev\n"
)


@pytest.mark.parametrize("client", [AWSCLI_V1_CLIENT, AWSCLI_V2_CLIENT], ids=str)
def test_aws_eks_get_token_is_accepted_like_ssods(
    client: AwsClient, ssod_daemon: DaemonHarness
) -> None:
    require(client)
    ssod_daemon.write_config(STANDARD_CONFIG + PROCESS_PROFILE)
    ssod_daemon.start()
    ssod_daemon.login(profile="dev", use_device_code=True)
    env = {
        k: v
        for k, v in client_env(ssod_daemon.env, AWS_PROFILE="dev-process").items()
        if not k.startswith("AWS_ENDPOINT_URL")
    }
    aws = str(AWSCLI_V1 if client is AWSCLI_V1_CLIENT else AWSCLI_V2)
    argv = [aws, "--region", "us-east-1", "eks", "get-token", "--cluster-name", "demo"]
    done = subprocess.run(
        [*argv, "--output", "json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    theirs = json.loads(done.stdout)
    ours = json.loads(
        ssod_daemon.ssod("eks", "token", "--cluster", "demo", "--profile", "dev").stdout
    )
    assert theirs["kind"] == ours["kind"] == "ExecCredential"
    state = ssod_daemon.emulator.state
    assert call_stub(state, theirs["status"]["token"]) == 200
    assert call_stub(state, ours["status"]["token"]) == 200
    # The same URL but for the key, the time and the signature: host, keys and their order.
    shapes = [_shape(body["status"]["token"]) for body in (theirs, ours)]
    assert shapes[0] == shapes[1], shapes


def _shape(token: str) -> tuple[str, list[str]]:
    body = token.removeprefix("k8s-aws-v1.")
    url = urlsplit(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode())
    return url.netloc, [pair.partition("=")[0] for pair in url.query.split("&")]
