"""``ssod token issue|list|revoke`` against a real daemon, with real boto3 processes as clients."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import boto3_key
from harness import DaemonHarness
from ssod.wire import Op


def test_issue_use_list_revoke_and_survive_a_restart(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    ssod_daemon.login(profile="dev", use_device_code=True)
    out = ssod_daemon.ssod("token", "issue", "--profile", "dev", "--ttl", "2h", "--name", "ci")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert out.stdout == token + "\n" and token.startswith("ssod.")
    assert "serves profile dev only" in out.stderr and token not in out.stderr
    token_id = token.split(".")[1]

    served = boto3_key(ssod_daemon, "dev", token)
    assert served.returncode == 0 and served.stdout.startswith("ASIA"), served.stderr
    other = boto3_key(ssod_daemon, "prod", token)
    assert other.returncode != 0 or other.stdout.strip() == "none"

    listed = json.loads(ssod_daemon.ssod("token", "list", "--json").stdout)["tokens"]
    assert [(t["id"], t["name"], t["profile"]) for t in listed] == [(token_id, "ci", "dev")]
    status = ssod_daemon.ssod("status", "--json").stdout
    assert json.loads(status)["tokens"] == listed
    text = ssod_daemon.ssod("status").stdout
    assert token_id in text and "SCOPED TOKEN" in text

    ssod_daemon.stop()
    ssod_daemon.start()  # the file brings it back; no login needed: the token cache is on disk
    assert boto3_key(ssod_daemon, "dev", token).returncode == 0

    revoked = ssod_daemon.ssod("token", "revoke", "ci")
    assert revoked.returncode == 0, revoked.stderr
    assert token_id in revoked.stdout
    after = boto3_key(ssod_daemon, "dev", token)
    assert after.returncode != 0 or after.stdout.strip() == "none"
    assert ssod_daemon.ssod("token", "revoke", "ci").returncode == 5  # nothing left to revoke
    assert json.loads(ssod_daemon.ssod("token", "list", "--json").stdout) == {"tokens": []}
    # The main token was never affected.
    main = ssod_daemon.request(Op.ENDPOINT)["token"]
    assert boto3_key(ssod_daemon, "prod", main).returncode == 0
    for leak in (ssod_daemon.log(), status, text):
        assert token not in leak and token.rsplit(".", 1)[1] not in leak


def test_issue_refuses_bad_input_before_anything_is_kept(
    ssod_daemon: DaemonHarness, tmp_path: Path
) -> None:
    ssod_daemon.start()
    bad_ttl = ssod_daemon.ssod("token", "issue", "--profile", "dev", "--ttl", "forever")
    assert bad_ttl.returncode == 2 and "is not a duration" in bad_ttl.stderr
    long_ttl = ssod_daemon.ssod("token", "issue", "--profile", "dev", "--ttl", "100d")
    assert long_ttl.returncode == 2 and "90 days" in long_ttl.stderr
    unknown = ssod_daemon.ssod("token", "issue", "--profile", "nope")
    assert unknown.returncode == 5, unknown.stderr
    bad_name = ssod_daemon.ssod("token", "issue", "--profile", "dev", "--name", "a b")
    assert bad_name.returncode == 2
    assert ssod_daemon.request(Op.LIST_TOKENS) == {"tokens": []}
    both = ssod_daemon.ssod("token", "revoke", "x", "--all")
    assert both.returncode == 2
