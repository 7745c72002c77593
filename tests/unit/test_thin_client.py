"""The client must start fast: importing it pulls in none of the daemon's heavy dependencies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import zmq

from ssod.wire import decode_request, encode_reply, ok_reply

HEAVY = (
    "aiobotocore",
    "botocore",
    "aiohttp",
    "watchdog",
    "ssod.daemon",
    "ssod.emulator",
    # The keyring store's libraries: only the daemon in `--token-store keyring` loads them.
    "secretstorage",
    "jeepney",
    "keyring",
    "cryptography",
)
#: Loaded by the configure wizard's prompts only (readline reads ~/.inputrc and the terminfo).
WIZARD_ONLY = ("readline", "ssod.client.configure.prompt", "ssod.client.configure.regions_data")


def test_importing_the_cli_imports_nothing_heavy() -> None:
    code = (
        "import json, sys\n"
        "import ssod.client.cli as cli\n"
        "cli.build_parser()\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    offenders = [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert offenders == []


def test_version_and_help() -> None:
    version = subprocess.run(
        [sys.executable, "-m", "ssod.client.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert version.startswith("ssod ")
    helptext = subprocess.run(
        [sys.executable, "-m", "ssod.client.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "usage: ssod" in helptext


def _serve_one_credentials_request(endpoint: str, ready: threading.Event) -> None:
    """A stand-in daemon: a ROUTER that answers one credentials request."""
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = context.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.bind(endpoint)
        ready.set()
        if not sock.poll(30_000):
            return
        identity, data = sock.recv_multipart()
        request = decode_request(data)
        creds = {
            "AccessKeyId": "ASIAEXAMPLE",
            "SecretAccessKey": "secret",
            "SessionToken": "token",
            "Expiration": "2030-01-01T00:00:00Z",
            "AccountId": "111111111111",
        }
        sock.send_multipart([identity, encode_reply(ok_reply(request.id, creds))])
    finally:
        sock.close()
        context.term()


def test_ssod_credentials_imports_nothing_heavy(short_tmp: Path) -> None:
    """The credential_process hot path, end to end: no daemon-side module is ever imported."""
    runtime = short_tmp / "rt"
    runtime.mkdir(mode=0o700)
    ready = threading.Event()
    server = threading.Thread(
        target=_serve_one_credentials_request, args=(f"ipc://{runtime / 'ipc'}", ready)
    )
    server.start()
    assert ready.wait(10)
    env = {**os.environ, "SSOD_RUNTIME_DIR": str(runtime)}
    out = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "ssod.client.cli",
            "credentials",
            "--profile",
            "x",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    server.join(10)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Version"] == 1
    imported = [
        line.rsplit("|", 1)[1].strip()
        for line in out.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    ]
    assert "zmq" in imported  # the parse works
    offenders = [
        m for m in imported if any(m == h or m.startswith(h + ".") for h in HEAVY + WIZARD_ONLY)
    ]
    assert offenders == []
