"""``ssod logout`` against a real daemon: per session, it leaves boto3 where ``aws sso logout``
would (no token file, no cached role credentials of that session), and ``--all`` does every one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness import STANDARD_CONFIG, DaemonHarness
from ssod.daemon.store.tokencache import role_cache_key, token_cache_key

OTHER_SESSION = """
[profile ext]
sso_session = other
sso_account_id = 222222222222
sso_role_name = ReadOnly

[sso-session other]
sso_start_url = https://d-9999999999.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access
"""

# botocore's SSO provider with the AWS CLI's role-credential cache, as `aws` sets it up
# (awscli/customizations/assumerole.py): the cache is what `aws sso logout` must clear.
SSO_PROFILE_CLIENT = """\
import json, os, sys
import botocore.session
from botocore.credentials import JSONFileCache
session = botocore.session.Session(profile=sys.argv[1])
cache = JSONFileCache(os.path.expanduser("~/.aws/cli/cache"))
session.get_component("credential_provider").get_provider("sso").cache = cache
sts = session.create_client("sts", region_name="us-east-1")
print(json.dumps(sts.get_caller_identity()["Account"]))
"""


def sso_profile_client(
    harness: DaemonHarness, tmp_path: Path, profile: str
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "sso_client.py"
    script.write_text(SSO_PROFILE_CLIENT)
    return subprocess.run(
        [sys.executable, str(script), profile],
        env=harness.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def cli_cache(harness: DaemonHarness) -> Path:
    return harness.home / ".aws" / "cli" / "cache"


def test_logout_is_per_session_and_leaves_boto3_logged_out(
    ssod_daemon: DaemonHarness, tmp_path: Path
) -> None:
    ssod_daemon.write_config(STANDARD_CONFIG + OTHER_SESSION)
    ssod_daemon.start()
    ssod_daemon.login(profile="dev", use_device_code=True)

    # boto3 uses the SSO profile on its own, from the token ssod wrote, and caches the role
    # credentials in ~/.aws/cli/cache like the AWS CLI.
    used = sso_profile_client(ssod_daemon, tmp_path, "dev")
    assert used.returncode == 0, used.stderr
    assert json.loads(used.stdout) == "111111111111"
    dev_entry = cli_cache(ssod_daemon) / (
        role_cache_key("111111111111", "ReadOnly", session_name="corp") + ".json"
    )
    assert json.loads(dev_entry.read_text())["ProviderType"] == "sso"
    # Another session's cached credentials, which a per-session logout must keep.
    other_entry = cli_cache(ssod_daemon) / (
        role_cache_key("222222222222", "ReadOnly", session_name="other") + ".json"
    )
    other_entry.write_text(json.dumps({"ProviderType": "sso", "Credentials": {}}))

    out = ssod_daemon.ssod("logout", "--profile", "dev")
    assert out.returncode == 0, out.stderr
    assert out.stdout == (
        "Logged out of corp: token revoked, token cache file deleted, "
        "1 cached AWS CLI role credential deleted.\n"
    )
    assert not (ssod_daemon.cache_dir / f"{token_cache_key('corp')}.json").exists()
    assert not dev_entry.exists()
    assert other_entry.exists()
    # boto3 now fails the way it does after `aws sso logout`: there is no token for the session.
    failed = sso_profile_client(ssod_daemon, tmp_path, "dev")
    assert failed.returncode != 0
    assert "Token for corp does not exist" in failed.stderr, failed.stderr
    status = json.loads(ssod_daemon.ssod("status", "--json").stdout)
    assert {s["name"]: s["state"] for s in status["sessions"]}["corp"] == "login_required"

    everything = ssod_daemon.ssod("logout", "--all")
    assert everything.returncode == 0, everything.stderr
    lines = everything.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["Logged out of corp", "Logged out of other"]
    assert "no valid token to revoke" in lines[0]
    assert not other_entry.exists()
