"""The client must start fast: importing it pulls in none of the daemon's heavy dependencies."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("aiobotocore", "botocore", "aiohttp", "watchdog", "ssod.daemon", "ssod.emulator")


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
