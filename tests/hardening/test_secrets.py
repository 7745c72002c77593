"""No secret leaves the daemon except in the answers that exist to carry it.

One daemon at debug log level goes through every flow: a PKCE login through the real redirect,
credentials over IPC and ECS for plain and chained profiles, a boto3 process on the ECS
endpoint, console sign-in URLs (one opened in a browser stand-in), refreshes, a failing AWS, a
revoked login with its desktop notification, a device-code login, refused ECS requests and a
logout. Then every secret the emulator issued (access and refresh tokens, client secrets, device
and authorization codes, secret keys, session tokens, sign-in tokens) and the ECS token are
looked for in the daemon's log, every error message, ``ssod status`` (text and JSON) and the
argv of every process seen while it all ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hardening.support import (
    ecs_get,
    events,
    fake_notify_send,
    notifications,
    process_cmdlines,
    session,
    wait_until,
)
from harness import DaemonHarness
from ssod.client.ipc import IpcClient
from ssod.emulator.state import EmulatorState
from ssod.errors import SsodError
from ssod.wire import Op


@contextmanager
def argv_sampler() -> Iterator[set[bytes]]:
    """Collect the argv of every process alive while the block runs (sampled every 20 ms)."""
    seen: set[bytes] = set()
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            seen.update(cmdline for _, cmdline in process_cmdlines())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(10)


def issued_secrets(state: EmulatorState) -> set[str]:
    """Every secret the emulator handed out so far."""
    found = set(state.access_tokens) | set(state.refresh_tokens) | set(state.codes)
    found |= {client.secret for client in state.clients.values()}
    found |= {auth.device_code for auth in state.devices.values()}
    for creds in state.creds.issued.values():
        found |= {creds.secret_access_key, creds.session_token}
    found |= set(state.signin.grants)  # console sign-in tokens
    return found


def lingering_browser(directory: Path) -> str:
    """A BROWSER program that stays up long enough for the argv sampler to see it."""
    program = directory / "lingering-browser"
    program.write_text("#!/bin/sh\nsleep 0.5\n")
    program.chmod(0o755)
    return str(program)


def pkce_login(harness: DaemonHarness) -> None:
    """Log in with the browser flow, the test playing the browser."""
    with IpcClient(harness.endpoint, timeout=10.0) as client:
        for reply in client.stream(Op.LOGIN, idle_timeout=30, profile="dev"):
            event = dict(reply.result or {})
            if event.get("event") == "verification":
                # The emulator approves at once and redirects to the daemon's callback.
                with urllib.request.urlopen(str(event["url"]), timeout=10) as page:
                    assert b"Signed in" in page.read()
            if event.get("event") == "done":
                return
    raise AssertionError("the PKCE login did not finish")


def boto3_on_the_endpoint(harness: DaemonHarness, endpoint: dict[str, Any]) -> None:
    """One SDK process that takes its credentials from the ECS endpoint."""
    url = endpoint["url"] + endpoint["credentials_path"].replace("PROFILE", "prod")
    env = {
        **harness.env,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": url,
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": endpoint["token_file"],
        "AWS_CONFIG_FILE": os.devnull,
    }
    script = (
        "import boto3\n"
        "print(boto3.client('sts', region_name='us-east-1').get_caller_identity()['Account'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "222222222222", out.stderr


def test_no_secret_in_logs_errors_status_or_argv(
    ssod_daemon: DaemonHarness, tmp_path: Path
) -> None:
    emulator = ssod_daemon.emulator
    emulator.settings(token_lifetime=4, credential_lifetime=8, approve_delay=0)
    bin_dir, record = fake_notify_send(tmp_path, linger=1.0)
    browser = lingering_browser(tmp_path)
    ssod_daemon.env["PATH"] = f"{bin_dir}:{ssod_daemon.env.get('PATH', '')}"
    ssod_daemon.env["SSOD_NOTIFY"] = "1"
    messages: list[str] = []  # every error text a client was shown
    outputs: list[str] = []
    with argv_sampler() as argvs:
        ssod_daemon.start("--credential-margin", "3")
        pkce_login(ssod_daemon)
        endpoint = ssod_daemon.request(Op.ENDPOINT)
        for profile in ("dev", "prod", "chained"):
            assert ssod_daemon.request(Op.CREDENTIALS, profile=profile)["AccessKeyId"]
            assert ecs_get(endpoint, profile)[0] == 200
        boto3_on_the_endpoint(ssod_daemon, endpoint)
        # Console sign-in URLs: one refused by the sign-in endpoint first (and retried).
        emulator.set_faults({"operation": "getSigninToken", "kind": "status", "status": 400})
        with pytest.raises(SsodError) as refused:
            ssod_daemon.request(Op.CONSOLE, profile="prod", timeout=30)
        messages.append(refused.value.message)
        emulator.clear_faults()
        for profile in ("dev", "chained"):
            assert "SigninToken=" in ssod_daemon.request(Op.CONSOLE, profile=profile)["url"]
        # `ssod console` with a browser: the browser's argv holds a one-time link, no token.
        opened = ssod_daemon.ssod("console", "--profile", "prod", env={"BROWSER": browser})
        assert opened.returncode == 0, opened.stderr
        outputs.append(opened.stdout + opened.stderr)
        # A scoped token: issued by the CLI, used, refused for another profile and once revoked.
        issued = ssod_daemon.ssod("token", "issue", "--profile", "dev", "--name", "leak-check")
        assert issued.returncode == 0, issued.stderr
        scoped = issued.stdout.strip()
        outputs.append(issued.stderr)
        assert ecs_get(endpoint, "dev", token=scoped)[0] == 200
        for profile in ("prod", "dev"):
            if profile == "dev":
                outputs.append(ssod_daemon.ssod("token", "list").stdout)
                outputs.append(ssod_daemon.ssod("token", "revoke", "leak-check").stdout)
            status, body = ecs_get(endpoint, profile, token=scoped)
            assert status == 403
            messages.append(json.dumps(body))
        for token in ("wrong", endpoint["token"] + "x", ""):
            status, body = ecs_get(endpoint, "dev", token=token)
            assert status in (401, 403)
            messages.append(json.dumps(body))
        wait_until(lambda: len(events(ssod_daemon.log(), "token_refreshed")) >= 2, 8, "refreshes")
        emulator.set_faults({"operation": "CreateToken", "kind": "status", "count": 3})
        wait_until(lambda: events(ssod_daemon.log(), "refresh_failed"), 8, "a failed refresh")
        emulator.revoke_refresh_tokens()
        wait_until(lambda: session(ssod_daemon)["state"] == "login_required", 15, "login_required")
        wait_until(lambda: notifications(record), 5, "the notification")
        # Once the access token and the short credentials run out, clients are told why.
        for profile in ("dev", "prod"):
            wait_until(
                lambda p=profile: ecs_get(endpoint, p)[0] == 503,  # type: ignore[misc]
                10,
                "login_required at ECS",
            )
        for profile in ("dev", "prod"):
            messages.append(json.dumps(ecs_get(endpoint, profile)[1]))
            with pytest.raises(SsodError) as caught:
                ssod_daemon.request(Op.CREDENTIALS, profile=profile)
            messages.append(caught.value.message)
        assert ssod_daemon.login(use_device_code=True)[-1]["event"] == "done"
        assert ssod_daemon.request(Op.CREDENTIALS, profile="dev")["AccessKeyId"]
        outputs.append(json.dumps(ssod_daemon.request(Op.STATUS)))
        for args in (("status",), ("status", "--json")):
            done = ssod_daemon.ssod(*args, timeout=30)
            outputs.append(done.stdout + done.stderr)
        ssod_daemon.request(Op.LOGOUT, profile="dev")
        outputs.append(json.dumps(ssod_daemon.request(Op.STATUS)))
    log = ssod_daemon.log()
    secrets = issued_secrets(emulator.state) | {endpoint["token"], scoped, scoped.split(".")[2]}
    assert len(secrets) > 20, "the flows handed out too few secrets to prove anything"
    assert all(len(s) >= 16 for s in secrets)
    places = {
        "the daemon log": log,
        "an error message": "\n".join(messages),
        "status": "\n".join(outputs),
        "a notification": json.dumps(notifications(record)),
        "a process argv": "\n".join(a.decode(errors="replace") for a in argvs),
    }
    leaks = [(where, s[:6] + "...") for s in secrets for where, text in places.items() if s in text]
    assert leaks == []
    # The checks looked at real material.
    assert any(b"ssod.client.cli" in a and b"daemon" in a for a in argvs)
    assert any(b"notify-send" in a for a in argvs)
    assert any(b"lingering-browser" in a and b"/console/" in a for a in argvs)
    assert "event=login_required" in log and "event=token_refreshed" in log
