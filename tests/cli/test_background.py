"""The suite passes when started in the background (``make test &``, ``nohup make test``).

A shell starts a background job with SIGINT ignored, and an ignored signal stays ignored across
``exec``: every program the tests start would inherit it, and the Ctrl-C tests would wait for
an exit that never comes. ``tests/conftest.py`` turns the ignored disposition into a caught one
(``launcher.default_sigint_for_children``), which ``exec`` resets to the default. This runs a
real Ctrl-C test in a pytest that starts with SIGINT ignored, as a background job's would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Ignore SIGINT, then become the given program: what a shell does for ``command &``.
_AS_BACKGROUND_JOB = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)
CTRL_C_TEST = "tests/cli/test_login.py::test_ctrl_c_cancels_the_flow_in_the_daemon"


def as_background_job(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-c", _AS_BACKGROUND_JOB, *argv], text=True, capture_output=True, **kwargs
    )


def test_a_background_job_starts_with_sigint_ignored() -> None:
    # The premise: the trampoline does hand its program an ignored SIGINT.
    check = "import signal; print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)"
    out = as_background_job([sys.executable, "-c", check])
    assert out.stdout.strip() == "True", out.stderr


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_ctrl_c_test_passes_in_a_background_job(tmp_path: Path) -> None:
    pytest_argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", CTRL_C_TEST]
    pytest_argv += ["--basetemp", str(tmp_path / "inner"), "-o", "timeout=120"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    out = as_background_job(pytest_argv, cwd=ROOT, env=env, timeout=240)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "1 passed" in out.stdout
