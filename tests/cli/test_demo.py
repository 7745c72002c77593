"""`make demo` does what the README promises: a boto3 process served by ssod on the emulator."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def _paste(stdout: str) -> list[str]:
    """The lines ``make demo`` says to paste in another shell."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "From another shell, paste:" in line)
    pasted = []
    for line in lines[start + 1 :]:
        if not line.startswith("  ") or line.strip().startswith("#"):
            break
        pasted.append(line.strip())
    return pasted


@pytest.mark.skipif(
    shutil.which("aws") is None, reason="needs an AWS CLI (.ci/run installs awscli)"
)
def test_the_lines_to_paste_work_and_ctrl_c_ends_it_cleanly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SSOD_"))}
    out_path = tmp_path / "demo.out"
    with out_path.open("w") as out:
        demo = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "demo.py")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
    try:
        deadline = time.monotonic() + 120
        while "Press Ctrl-C to stop." not in out_path.read_text():
            assert demo.poll() is None, out_path.read_text()
            assert time.monotonic() < deadline, out_path.read_text()
            time.sleep(0.1)
        pasted = _paste(out_path.read_text())
        assert any(line.startswith("export AWS_ENDPOINT_URL_STS=") for line in pasted)
        assert any(line.startswith("export SSOD_RUNTIME_DIR=") for line in pasted)
        shell = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + "\n".join(pasted)],
            env={"PATH": os.environ["PATH"]},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert shell.returncode == 0, shell.stdout + shell.stderr
        assert "ready" in shell.stdout  # `ssod status` reached the demo's daemon
        assert "111111111111" in shell.stdout  # the AWS CLI, served by ssod
        assert "Note:" not in shell.stderr  # the same endpoints as the daemon's
        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C in the demo's terminal
        assert demo.wait(60) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
    text = out_path.read_text()
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert "Stopping the daemon and the emulator." in text
