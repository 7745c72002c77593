"""The real daemon against the emulator: login, serving, single flight, refresh, live config.

Each test starts ``ssod daemon`` as a subprocess in a temp HOME (the ``ssod_daemon`` harness in
tests/conftest.py) and talks to it over its real IPC socket and ECS endpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from harness import DaemonHarness
from ssod.daemon.store.tokencache import parse_token, token_cache_key
from ssod.errors import LoginRequired, ProfileNotFound
from ssod.wire import Op


def ecs_get(endpoint: dict[str, Any], profile: str, token: str | None = None) -> tuple[int, Any]:
    """GET the daemon's ECS URL for ``profile``; returns (status, JSON body)."""
    url = endpoint["url"] + endpoint["credentials_path"].replace("PROFILE", profile)
    request = urllib.request.Request(url, headers={"Authorization": token or endpoint["token"]})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def parse_z(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_device_login_then_credentials_over_ipc_and_ecs(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    events = ssod_daemon.login(use_device_code=True)
    assert events[0]["event"] == "verification"
    assert events[0]["user_code"]
    assert events[-1]["event"] == "done"

    # The token is in the AWS CLI's cache, under SHA-1 of the session name, mode 0600.
    path = ssod_daemon.cache_dir / f"{token_cache_key('corp')}.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    token = parse_token(path.read_bytes(), path=str(path))
    assert token.refresh_token and token.start_url == "https://d-1234567890.awsapps.com/start"

    creds = ssod_daemon.request(Op.CREDENTIALS, profile="dev")
    assert creds["AccountId"] == "111111111111"
    assert creds["Expiration"].endswith("Z")

    endpoint = ssod_daemon.request(Op.ENDPOINT)
    status, body = ecs_get(endpoint, "dev")
    assert status == 200
    assert set(body) >= {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "AccountId"}
    assert body["AccessKeyId"] == creds["AccessKeyId"]


def test_boto3_process_gets_credentials_through_the_ecs_endpoint(
    ssod_daemon: DaemonHarness,
) -> None:
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    endpoint = ssod_daemon.request(Op.ENDPOINT)
    url = endpoint["url"] + endpoint["credentials_path"].replace("PROFILE", "prod")
    env = {
        **ssod_daemon.env,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": url,
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": endpoint["token_file"],
        "AWS_CONFIG_FILE": os.devnull,
    }
    script = (
        "import boto3, json\n"
        "sts = boto3.client('sts', region_name='us-east-1')\n"
        "print(json.dumps(sts.get_caller_identity()['Account']))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == "222222222222"

    # A wrong token fails in boto3 without reaching STS.
    ssod_daemon.emulator.reset_calls()
    bad = ssod_daemon.home / "bad-token"
    bad.write_text("x" * 43)
    env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = str(bad)
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode != 0
    assert ssod_daemon.emulator.calls().get("GetCallerIdentity", 0) == 0


def test_single_flight_for_a_cold_profile(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.emulator.settings(latency=0.3)  # every AWS call takes a while, as in life
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    ssod_daemon.emulator.reset_calls()
    endpoint = ssod_daemon.request(Op.ENDPOINT)
    with ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(lambda _i: ecs_get(endpoint, "dev"), range(300)))
    ok = [body for status, body in results if status == 200]
    assert ok, results[:3]
    assert len({body["AccessKeyId"] for body in ok}) == 1
    # Requests that waited past the one-second limit got a retryable 503, never an error body
    # of another kind; the fetch itself happened exactly once.
    assert all(status in {200, 503} for status, _ in results)
    assert ssod_daemon.emulator.calls().get("GetRoleCredentials", 0) == 1


def test_login_required_is_fast_and_clear(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    endpoint = ssod_daemon.request(Op.ENDPOINT)
    status, body = ecs_get(endpoint, "dev")
    assert status == 503
    # At once: not the "still fetching" answer a request gets after waiting the whole limit.
    assert body["code"] == "login_required"
    assert "ssod login --sso-session corp" in body["message"]
    with pytest.raises(LoginRequired, match="corp"):
        ssod_daemon.request(Op.CREDENTIALS, profile="dev")
    with pytest.raises(ProfileNotFound):
        ssod_daemon.request(Op.CREDENTIALS, profile="nope")
    sessions = ssod_daemon.request(Op.STATUS)["sessions"]
    assert sessions[0]["state"] == "login_required"


def test_token_refreshed_ahead_of_expiry_and_written_for_the_cli(
    ssod_daemon: DaemonHarness,
) -> None:
    # A 6-second token: the margin shrinks to half the lifetime, so ssod refreshes at ~3 s.
    ssod_daemon.emulator.settings(token_lifetime=6)
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    path = ssod_daemon.cache_dir / f"{token_cache_key('corp')}.json"
    first = parse_token(path.read_bytes(), path=str(path))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        now = parse_token(path.read_bytes(), path=str(path))
        if now.access_token != first.access_token:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the token was not refreshed:\n" + ssod_daemon.log())
    assert now.expires_at > first.expires_at
    assert now.refresh_token != first.refresh_token  # the emulator rotates refresh tokens
    assert now.expires_at - datetime.now(UTC) > (now.expires_at - first.expires_at) / 3
    raw = json.loads(path.read_bytes())
    assert list(raw)[:4] == ["startUrl", "region", "accessToken", "expiresAt"]
    assert ssod_daemon.emulator.calls().get("CreateToken:refresh_token", 0) >= 1


def test_served_credentials_always_keep_the_margin(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.emulator.settings(credential_lifetime=8)
    ssod_daemon.start("--credential-margin", "3")
    ssod_daemon.login(use_device_code=True)
    endpoint = ssod_daemon.request(Op.ENDPOINT)
    worst = 3600.0
    keys = set()
    stop = time.monotonic() + 10
    while time.monotonic() < stop:
        status, body = ecs_get(endpoint, "dev")
        assert status == 200, body
        remaining = (parse_z(body["Expiration"]) - datetime.now(UTC)).total_seconds()
        worst = min(worst, remaining)
        keys.add(body["AccessKeyId"])
        time.sleep(0.05)
    # Expiration is truncated to whole seconds, so allow one second below the margin.
    assert worst > 2.0, worst
    assert len(keys) >= 2  # refreshed in the background while in use


def test_config_edit_is_applied_live(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    text = ssod_daemon.config_file.read_text()
    ssod_daemon.write_config(
        text + "\n[profile extra]\nsso_session = corp\nsso_account_id = 222222222222\n"
        "sso_role_name = ReadOnly\n"
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        names = {p["name"] for p in ssod_daemon.request(Op.STATUS)["profiles"]}
        if "extra" in names:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the new profile was not picked up")
    assert ssod_daemon.request(Op.CREDENTIALS, profile="extra")["AccountId"] == "222222222222"

    # A broken file keeps the last good configuration in service and says so in status.
    ssod_daemon.write_config(text + "\n[profile dev]\nregion = x\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        daemon = ssod_daemon.request(Op.STATUS)["daemon"]
        if daemon["config_error"]:
            break
        time.sleep(0.1)
    assert "line 22: section [profile dev] appears more than once" in daemon["config_error"]
    assert ssod_daemon.request(Op.CREDENTIALS, profile="extra")["AccountId"] == "222222222222"


def test_aws_sso_login_by_another_tool_is_picked_up(ssod_daemon: DaemonHarness) -> None:
    """A token written into the cache by another writer (as `aws sso login` does) serves at once."""
    ssod_daemon.start()
    import boto3

    oidc = boto3.client("sso-oidc", region_name="us-east-1", endpoint_url=ssod_daemon.emulator.url)
    reg = oidc.register_client(
        clientName="other-tool", clientType="public", scopes=["sso:account:access"]
    )
    auth = oidc.start_device_authorization(
        clientId=reg["clientId"],
        clientSecret=reg["clientSecret"],
        startUrl="https://x.awsapps.com/start",
    )
    ssod_daemon.emulator.approve(auth["userCode"])
    grant = oidc.create_token(
        clientId=reg["clientId"],
        clientSecret=reg["clientSecret"],
        grantType="urn:ietf:params:oauth:grant-type:device_code",
        deviceCode=auth["deviceCode"],
    )
    expires = datetime.fromtimestamp(time.time() + grant["expiresIn"], UTC)
    body = {
        "startUrl": "https://d-1234567890.awsapps.com/start",
        "region": "us-east-1",
        "accessToken": grant["accessToken"],
        "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    ssod_daemon.cache_dir.mkdir(parents=True, exist_ok=True)
    target = ssod_daemon.cache_dir / f"{token_cache_key('corp')}.json"
    # Written in place, as the AWS CLI does (not atomically).
    target.write_text(json.dumps(body))
    deadline = time.monotonic() + 10
    done = threading.Event()
    while time.monotonic() < deadline and not done.is_set():
        try:
            creds = ssod_daemon.request(Op.CREDENTIALS, profile="dev")
            done.set()
        except LoginRequired:
            time.sleep(0.1)
    assert done.is_set(), ssod_daemon.log()
    assert creds["AccountId"] == "111111111111"


def test_second_daemon_refuses_to_start(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    out = ssod_daemon.ssod("daemon", timeout=30)
    assert out.returncode != 0
    assert "already running" in out.stderr


def test_sigterm_removes_the_socket(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    assert (ssod_daemon.runtime / "ipc").exists()
    assert ssod_daemon.stop() == 0
    assert not (ssod_daemon.runtime / "ipc").exists()


def test_token_that_expired_while_suspended_is_refreshed_on_demand(
    ssod_daemon: DaemonHarness,
) -> None:
    """A laptop that slept past expiry: the first request refreshes instead of failing."""
    ssod_daemon.emulator.settings(token_lifetime=4)
    ssod_daemon.start("--token-margin", "1")
    ssod_daemon.login(use_device_code=True)
    assert ssod_daemon.proc is not None
    ssod_daemon.proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(5)  # the token expires while the daemon cannot run
    finally:
        ssod_daemon.proc.send_signal(signal.SIGCONT)
    creds = ssod_daemon.request(Op.CREDENTIALS, profile="prod")  # a cold profile needs the token
    assert creds["AccountId"] == "222222222222"
    session = ssod_daemon.request(Op.STATUS)["sessions"][0]
    assert session["state"] == "ready"
