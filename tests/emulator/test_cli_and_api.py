"""``ssod emulator`` as a subprocess, the async Python API, and the pure helpers."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ssod.client.cli import build_parser
from ssod.emulator import Emulator, EmulatorConfig, EmulatorRemote
from ssod.emulator.config import update_config
from ssod.emulator.data import DirectoryError, parse_directory
from ssod.emulator.faults import FaultBook, parse_rule
from ssod.emulator.main import config_from_args
from ssod.emulator.redirects import redirect_matches
from ssod.emulator.sigv4 import expected_signature, parse_authorization, signature_matches
from ssod.emulator.state import pkce_challenge


def test_cli_subprocess_with_port_file(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    data = tmp_path / "dir.json"
    data.write_text(json.dumps({"accounts": [{"id": "333333333333", "roles": ["Ops"]}]}))
    env_file = tmp_path / "emulator.env"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "ssod.client.cli", "emulator"),
            *("--port-file", str(port_file), "--data", str(data), "--latency", "0"),
            *("--env-file", str(env_file)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not port_file.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        port = int(port_file.read_text())
        remote = EmulatorRemote(f"http://127.0.0.1:{port}")
        assert remote.health()
        assert remote.settings()["page_size"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert out.splitlines() == [
        f"export AWS_ENDPOINT_URL_{name}=http://127.0.0.1:{port}"
        for name in ("SSO_OIDC", "SSO", "STS", "SIGNIN", "EKS")
    ]
    assert env_file.read_text() == out  # written whole once it listens: safe to source


def test_help_documents_the_data_format_and_the_control_api() -> None:
    from ssod.client.commands import emulator as cmd_emulator
    from ssod.emulator import control, data

    # The help shows what the modules that own them document, word for word.
    for owner in (control, data):
        assert owner.__doc__ is not None
        documented = [
            line.strip()
            for line in owner.__doc__.splitlines()
            if line.strip().startswith(("GET", "POST", "{", '"'))
        ]
        assert documented and all(line in cmd_emulator.EPILOG for line in documented), documented
    default = data.default_directory()
    for account in default.accounts:
        assert account.account_id in cmd_emulator.EPILOG and account.name in cmd_emulator.EPILOG
        assert all(role in cmd_emulator.EPILOG for role in account.roles)
    out = subprocess.run(
        [sys.executable, "-m", "ssod.client.cli", "emulator", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "/_emulator/approve" in out.stdout and '"accounts"' in out.stdout
    assert "--no-auto-approve" in out.stdout and "in memory" in out.stdout


def test_cli_arguments() -> None:
    args = build_parser().parse_args(
        [
            *("emulator", "--no-refresh-rotation", "--no-auto-approve", "--approve-delay", "0"),
            *("--token-lifetime", "60", "--credential-lifetime", "900"),
        ]
    )
    cfg = config_from_args(args)
    assert (cfg.refresh_rotation, cfg.auto_approve, cfg.approve_delay) == (False, False, 0.0)
    assert (cfg.token_lifetime, cfg.credential_lifetime, cfg.latency) == (60, 900, 0.0)
    assert os.environ.get("AWS_ENDPOINT_URL_STS") is None


async def test_async_api() -> None:
    async with Emulator(EmulatorConfig(page_size=5)).serve() as running:
        assert running.url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as http:
            body = {"clientName": "x", "clientType": "public"}
            async with http.post(f"{running.url}/client/register", json=body) as resp:
                assert resp.status == 200
                assert (await resp.json())["clientId"] in running.state.clients
        assert running.calls() == {"RegisterClient": 1}
        assert running.env["AWS_ENDPOINT_URL_SSO"] == running.url


def test_sigv4_matches_botocore() -> None:
    creds = Credentials("ASIAEXAMPLE", "secret/key+", "token")
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:1234/",
        data=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(creds, "sts", "eu-west-1").add_auth(request)
    headers = {k.lower(): [v] for k, v in request.headers.items()}
    headers["host"] = ["127.0.0.1:1234"]
    auth = parse_authorization(request.headers["Authorization"])
    assert (auth.access_key_id, auth.region, auth.service) == ("ASIAEXAMPLE", "eu-west-1", "sts")
    good = expected_signature(auth, "secret/key+", "POST", "/", "", headers, request.body)
    assert signature_matches(auth, good)
    bad = expected_signature(auth, "secret/key+", "POST", "/", "", headers, request.body + b"x")
    assert not signature_matches(auth, bad)


def test_pkce_challenge_and_redirects() -> None:
    verifier = "a" * 64
    digest = hashlib.sha256(verifier.encode()).digest()
    assert pkce_challenge(verifier) == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    reg = "http://127.0.0.1/oauth/callback"
    assert redirect_matches(reg, "http://127.0.0.1:4321/oauth/callback")
    assert not redirect_matches(reg, "http://127.0.0.1:4321/other")
    assert not redirect_matches(reg, "https://127.0.0.1:4321/oauth/callback")
    assert not redirect_matches("http://127.0.0.1:1/cb", "http://127.0.0.1:2/cb")
    assert not redirect_matches("http://example.com/cb", "http://example.com/cb")


def test_config_directory_and_faults() -> None:
    cfg = update_config(EmulatorConfig(), {"latency": 0.06, "refresh_rotation": False})
    assert (cfg.latency, cfg.refresh_rotation) == (0.06, False)
    with pytest.raises(ValueError, match="unknown"):
        update_config(cfg, {"directory": {}})
    with pytest.raises(DirectoryError):
        parse_directory({"accounts": [{"id": "12"}]})
    account = {"id": "111111111111"}
    assert parse_directory({"accounts": [account]}).clusters == ("demo",)
    assert parse_directory({"accounts": [account], "clusters": ["a", "b-2"]}).clusters == (
        "a",
        "b-2",
    )
    for bad in ("x.y", "", 3, "-a"):
        with pytest.raises(DirectoryError, match="clusters"):
            parse_directory({"accounts": [account], "clusters": [bad]})
    book = FaultBook()
    book.add(parse_rule({"operation": "*", "kind": "latency", "seconds": 1}))
    book.add(parse_rule({"operation": "X", "kind": "status", "count": 1}))
    book.add(parse_rule({"operation": "X", "kind": "drop", "count": 1}))
    assert [r.kind for r in book.take("X")] == ["latency", "status"]
    assert [r.kind for r in book.take("X")] == ["latency", "drop"]
    assert [r.kind for r in book.take("X")] == ["latency"]
