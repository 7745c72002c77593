"""The real AWS clients the interop tests drive: where each is installed and how to run it.

Owns locating boto3 (the project venv), the AWS CLI v1 (``.interop/awscli-v1``), Debian's AWS
CLI v2 (``/usr/bin/aws``) and the JS SDK v3 (``tests/interop/js``), the command line that makes
one process call ``sts get-caller-identity``, the environment every client process gets, and
running many such processes in parallel. It installs nothing (``install_clients.sh`` does) and
asserts nothing: the tests decide what an outcome means.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL_HINT = "run tests/interop/install_clients.sh"
AWSCLI_V1 = REPO / ".interop" / "awscli-v1" / "bin" / "aws"
AWSCLI_V2 = Path("/usr/bin/aws")
#: Debian's package puts the CLI v2 sources here; its version is read without starting it.
AWSCLI_V2_INIT = Path("/usr/lib/python3/dist-packages/awscli/__init__.py")
JS_DIR = REPO / "tests" / "interop" / "js"
JS_STS = JS_DIR / "sts.js"

_BOTO3_STS = """\
import json, sys
import boto3
sts = boto3.client("sts")
for _ in range(int(sys.argv[1])):
    reply = sts.get_caller_identity()
    print(json.dumps({"Account": reply["Account"], "Arn": reply["Arn"]}), flush=True)
"""


@dataclass(frozen=True)
class AwsClient:
    """One real AWS client, and what it can be asked to do."""

    name: str
    #: STS calls one process makes in the workloads (a CLI process runs one command).
    calls_per_process: int
    #: Knows ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`` (Debian's CLI v2 2.9.19 does not).
    knows_token_file: bool
    #: Honours ``AWS_ENDPOINT_URL_*``, so its SSO cache path can reach the emulator.
    knows_endpoint_env: bool

    def __str__(self) -> str:
        return self.name

    def missing(self) -> str | None:
        """Why this client cannot run here, or None when it can."""
        if self.name == "boto3":
            found = importlib.util.find_spec("boto3") is not None
            return None if found else "boto3 is not in the project venv: make venv"
        if self.name == "awscli-v1":
            return None if AWSCLI_V1.exists() else f"no AWS CLI v1 in {AWSCLI_V1}: {INSTALL_HINT}"
        if self.name == "awscli-v2":
            v2 = AWSCLI_V2_INIT.exists() and "__version__ = '2." in AWSCLI_V2_INIT.read_text()
            return None if v2 else f"no AWS CLI v2 from Debian in {AWSCLI_V2}: {INSTALL_HINT}"
        if shutil.which("node") is None:
            return "node is not installed"
        sdk = JS_DIR / "node_modules" / "@aws-sdk" / "client-sts"
        return None if sdk.exists() else f"no JS SDK in {JS_DIR / 'node_modules'}: {INSTALL_HINT}"

    def sts_argv(
        self, *, sts_url: str, calls: int = 1, profile: str | None = None, js_provider: str = ""
    ) -> list[str]:
        """A command line making ``calls`` GetCallerIdentity calls (CLIs: one) in one process.

        ``profile`` is passed as ``--profile`` to the CLIs and as ``AWS_PROFILE`` by the caller
        to the SDKs; ``js_provider`` picks the JS credential provider (the default chain if empty).
        """
        if self.name == "boto3":
            return [sys.executable, "-c", _BOTO3_STS, str(calls)]
        if self.name == "js-sdk":
            return ["node", str(JS_STS), js_provider or "default", str(calls)]
        argv = [str(AWSCLI_V1 if self.name == "awscli-v1" else AWSCLI_V2)]
        argv += ["sts", "get-caller-identity", "--output", "json"]
        if profile is not None:
            argv += ["--profile", profile]
        if not self.knows_endpoint_env:
            argv += ["--endpoint-url", sts_url]  # 2.9.19 predates AWS_ENDPOINT_URL_*
        return argv


BOTO3 = AwsClient("boto3", calls_per_process=2, knows_token_file=True, knows_endpoint_env=True)
AWSCLI_V1_CLIENT = AwsClient(
    "awscli-v1", calls_per_process=1, knows_token_file=True, knows_endpoint_env=True
)
AWSCLI_V2_CLIENT = AwsClient(
    "awscli-v2", calls_per_process=1, knows_token_file=False, knows_endpoint_env=False
)
JS_SDK = AwsClient("js-sdk", calls_per_process=2, knows_token_file=True, knows_endpoint_env=True)
CLIENTS = (BOTO3, AWSCLI_V1_CLIENT, AWSCLI_V2_CLIENT, JS_SDK)


def require(client: AwsClient) -> AwsClient:
    """Skip the test if ``client`` is not installed; in CI (``CI=true``) fail instead."""
    reason = client.missing()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{client}: {reason}")
        pytest.skip(f"{client}: {reason}")
    return client


def client_env(base: Mapping[str, str], **extra: str) -> dict[str, str]:
    """The environment of a client process: ``base`` plus fixed region and no IMDS, ever."""
    return {
        **base,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        # Nothing may fall through to the EC2 metadata address: only loopback is ours to call.
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED": "true",
        **extra,
    }


@dataclass(frozen=True)
class Identity:
    """What one GetCallerIdentity answered."""

    account: str
    arn: str


@dataclass(frozen=True)
class Outcome:
    """One finished client process."""

    returncode: int
    identities: tuple[Identity, ...]
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        """Exited 0."""
        return self.returncode == 0


def _identities(stdout: str) -> tuple[Identity, ...]:
    # The SDK drivers print one JSON object per line, the CLIs one indented document.
    decoder, found, pos = json.JSONDecoder(), [], 0
    text = stdout.strip()
    while pos < len(text):
        value, pos = decoder.raw_decode(text, pos)
        found.append(Identity(value["Account"], value["Arn"]))
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tuple(found)


def run(argv: Sequence[str], env: Mapping[str, str], timeout: float = 60.0) -> Outcome:
    """Run one client process to completion."""
    started = time.monotonic()
    done = subprocess.run(
        list(argv),
        env=dict(env),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    identities = _identities(done.stdout) if done.returncode == 0 else ()
    return Outcome(done.returncode, identities, done.stderr, time.monotonic() - started)


Job = tuple[Sequence[str], Mapping[str, str]]


def run_many(jobs: Sequence[Job], workers: int = 6) -> list[Outcome]:
    """Run client processes ``workers`` at a time; outcomes in the order of ``jobs``."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: run(*job), jobs))
