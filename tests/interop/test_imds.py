"""The IMDSv2 endpoint with real clients: boto3 and the JS SDK find credentials through
``AWS_EC2_METADATA_SERVICE_ENDPOINT`` alone; IMDSv1 gets nothing, and neither does another
user (root only: the test runs boto3 as ``nobody``, which falls back to IMDSv1 and is refused).
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from harness import DaemonHarness
from interop.clients import BOTO3, JS_SDK, AwsClient, client_env, require, run
from interop.workload import expected_identity, ssod_login
from ssod.wire import Op

pytestmark = pytest.mark.interop

#: boto3 as another user: the interpreter lives under /root, so it starts as root, loads
#: everything, and becomes ``nobody`` before its first request opens a socket.
AS_NOBODY = (
    "import os, boto3, botocore.credentials, botocore.utils, urllib3, http.client, json\n"
    "import encodings.idna, encodings.ascii, encodings.latin_1, email.parser, email.feedparser\n"
    "session = boto3.Session()\n"
    "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
    "c = session.get_credentials()\n"
    "print(c.get_frozen_credentials().access_key if c else 'none')\n"
)


def imds_env(harness: DaemonHarness, url: str) -> dict[str, str]:
    env = client_env(harness.env, AWS_EC2_METADATA_SERVICE_ENDPOINT=url + "/")
    del env["AWS_EC2_METADATA_DISABLED"]  # the JS SDK reads any value as "disabled"
    return env


@pytest.fixture
def imds_daemon(ssod_daemon: DaemonHarness) -> tuple[DaemonHarness, str]:
    ssod_daemon.start("--imds-profile", "dev", "--imds-port", "0")
    ssod_login(ssod_daemon)
    url = ssod_daemon.request(Op.ENDPOINT)["imds_url"]
    assert url and url.startswith("http://127.0.0.1:")
    return ssod_daemon, str(url)


@pytest.mark.parametrize("client", [BOTO3, JS_SDK], ids=str)
def test_sdk_gets_credentials_over_imdsv2(
    client: AwsClient, imds_daemon: tuple[DaemonHarness, str]
) -> None:
    require(client)
    harness, url = imds_daemon
    emulator = harness.emulator
    env = imds_env(harness, url)
    if client is BOTO3:
        env["AWS_EC2_METADATA_V1_DISABLED"] = "true"  # v2 or nothing
    outcome = run(client.sts_argv(sts_url=emulator.url, calls=2), env)
    assert outcome.ok, outcome.stderr[-3000:]
    user = emulator.state.config.directory.default_user
    assert outcome.identities == (expected_identity("dev", user),) * 2


def test_imdsv1_gets_nothing(imds_daemon: tuple[DaemonHarness, str]) -> None:
    _, url = imds_daemon
    for path in ("/latest/meta-data/iam/security-credentials/", "/latest/meta-data/"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(url + path, timeout=5)
        caught.value.close()
        assert caught.value.code == 401


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
def test_another_user_gets_nothing_even_with_imdsv1_allowed(
    imds_daemon: tuple[DaemonHarness, str],
) -> None:
    require(BOTO3)
    harness, url = imds_daemon
    env = {
        **imds_env(harness, url),
        "HOME": "/nonexistent",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    env.pop("AWS_EC2_METADATA_V1_DISABLED", None)  # botocore may fall back to IMDSv1
    done = subprocess.run(
        [sys.executable, "-c", AS_NOBODY],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"
    log = harness.log()
    assert "event=imds_refused reason=other_user" in log
    # The token PUT was refused (403), then the IMDSv1 GET (401): never a 200 for nobody.
    assert "path=/latest/api/token status=403" in log
    assert "path=/latest/meta-data/iam/security-credentials/ status=401" in log
