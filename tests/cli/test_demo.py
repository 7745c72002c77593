"""`make demo` does what the README promises: a boto3 process served by ssod on the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_end_to_end() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SSOD_"))}
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Successfully logged into Start URL: https://d-demo.awsapps.com/start" in out.stdout
    assert "boto3 says: account 111111111111" in out.stdout
    # The secret token itself is never printed, only the file that holds it.
    assert "AWS_CONTAINER_AUTHORIZATION_TOKEN=" not in out.stdout
