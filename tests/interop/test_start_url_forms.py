"""Each start-URL form, logged in by ssod, is found by real botocore under the same cache key.

The legacy form's token file is named after the start URL exactly as written (botocore
``SSOTokenLoader._generate_cache_key``; the CLI's bundled copy is the same), so a trailing
``/`` or ``#/`` must not be normalised away by anyone: ssod logs in, boto3 (botocore's own SSO
credential provider, no ssod involved) reads the file and gets role credentials from the
emulator's portal with it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cli_support import NO_BROWSER
from harness import DaemonHarness
from interop.clients import client_env
from ssod.daemon.store.tokencache import token_cache_key

pytestmark = pytest.mark.interop

BASE = "https://d-1234567890.awsapps.com/start"

_BOTO3 = """\
import json, sys
import boto3
creds = boto3.Session(profile_name=sys.argv[1]).get_credentials().get_frozen_credentials()
print(json.dumps({"key": creds.access_key[:4]}))
"""


@pytest.mark.parametrize("url", [BASE, f"{BASE}/", f"{BASE}/#/"], ids=["plain", "slash", "hash"])
def test_botocore_reads_the_token_ssod_wrote_for_each_form(
    ssod_daemon: DaemonHarness, url: str
) -> None:
    ssod_daemon.write_config(
        "[profile old]\n"
        f"sso_start_url = {url}\n"
        "sso_region = us-east-1\n"
        "sso_account_id = 111111111111\n"
        "sso_role_name = ReadOnly\n"
    )
    ssod_daemon.start()
    out = ssod_daemon.ssod("login", "--profile", "old", env=NO_BROWSER)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"Successfully logged into Start URL: {url}" in out.stdout
    token = ssod_daemon.cache_dir / f"{token_cache_key(url)}.json"
    assert json.loads(token.read_text())["startUrl"] == url  # as written, not normalised
    ssod_daemon.stop()  # botocore alone from here on
    got = subprocess.run(
        [sys.executable, "-c", _BOTO3, "old"],
        env=client_env(ssod_daemon.env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["key"] == "ASIA"
