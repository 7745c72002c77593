"""Pointing Debian's AWS CLI v2 (2.9.19) at the emulator, and timing child processes.

CLI v2 2.9.19 predates ``AWS_ENDPOINT_URL_*``, but its botocore honours ``AWS_DATA_PATH``: a
directory searched before the bundled data. An ``sso/2019-06-10/endpoint-rule-set-1.json``
there whose only rule is "the endpoint is the emulator" sends its GetRoleCredentials call to
the emulator, so ``aws configure export-credentials`` resolves an SSO profile end to end, as it
would against AWS. Nothing else of the CLI is changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.machine import AWS_CLI_V2, aws_cli_v2_version

#: The SSO portal's API version directory in botocore's data tree.
_SSO_RULESET = Path("sso") / "2019-06-10" / "endpoint-rule-set-1.json"
_BUNDLED = Path("/usr/lib/python3/dist-packages/awscli/botocore/data") / _SSO_RULESET


def available() -> bool:
    """Whether Debian's AWS CLI v2 is installed and its SSO ruleset can be overridden."""
    return aws_cli_v2_version() is not None and _BUNDLED.exists()


def data_path(root: Path, emulator_url: str) -> Path:
    """Write the ruleset override under ``root``; returns the directory for AWS_DATA_PATH."""
    bundled = json.loads(_BUNDLED.read_text())
    ruleset = {
        "version": bundled["version"],
        "parameters": bundled["parameters"],
        "rules": [
            {
                "conditions": [],
                "endpoint": {"url": emulator_url, "properties": {}, "headers": {}},
                "type": "endpoint",
            }
        ],
    }
    directory = root / "awsdata"
    target = directory / _SSO_RULESET
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(ruleset))
    return directory


def export_credentials(profile: str, data_dir: Path) -> list[str]:
    """``aws configure export-credentials --profile PROFILE`` with the override in place."""
    return [
        "/usr/bin/env",
        f"AWS_DATA_PATH={data_dir}",
        AWS_CLI_V2,
        "configure",
        "export-credentials",
        "--profile",
        profile,
    ]


def timed(command: Sequence[str], env: Mapping[str, str]) -> tuple[float, str]:
    """Run ``command``; returns (wall seconds, stdout). Raises if it fails."""
    started = time.perf_counter()
    out = subprocess.run(
        list(command),
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        shown = " ".join(command[:4])
        raise RuntimeError(f"{shown} ... failed ({out.returncode}): {out.stderr[-400:]}")
    return elapsed, out.stdout


def clear_cli_cache(home: Path) -> None:
    """Remove the AWS CLI's role-credentials cache (``~/.aws/cli/cache``)."""
    cache = home / ".aws" / "cli" / "cache"
    if cache.is_dir():
        for entry in cache.iterdir():
            os.unlink(entry)
