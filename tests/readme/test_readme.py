"""The README's commands, run as written, against the emulator in a temporary HOME.

Every ```sh block of README.md runs, in order, in one bash process with ``set -euo pipefail``
(so ``eval "$(ssod env)"`` carries over); every ```ini block is appended to ``~/.aws/config``
where it appears. Two programs that cannot run here are stand-ins on PATH, and both do the
real work they stand for:

- ``pipx install .`` builds ssod and installs it with its dependencies into a fresh virtual
  environment, then runs that environment's ``ssod --version`` (a clean ``pip install .``);
- ``systemctl --user`` records its calls and, for ``enable --now``, starts the ``ExecStart``
  of the unit ``ssod service install`` wrote (``disable --now`` stops it), so the daemon the
  rest of the README talks to is the one the service started.

```console blocks are not run here; each is covered elsewhere: the interactive wizard by
tests/cli/test_configure.py (through a pseudo-terminal), the container examples need a Docker
engine (none on the test machines; the same env files are used by real clients in a network
namespace by tests/network/test_bridged.py), the ssh examples a remote host
(tests/network/test_ssh.py runs them against a real sshd in a namespace), the IMDS example is
tests/interop/test_imds.py, the emulator example is tests/emulator/test_cli_and_api.py, the
kubectl example is tests/cli/test_eks_kubeconfig.py, and the keyring example needs a Secret
Service (tests/keyring_store/test_token_store.py runs one).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from harness import DaemonHarness

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)

FAKE_SYSTEMCTL = """\
#!/usr/bin/env bash
# systemctl --user stand-in: records calls; enable --now starts the unit's ExecStart.
echo "$*" >> "$FAKE_STATE/systemctl.calls"
unit="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/ssod.service"
case "$*" in
  *is-system-running*) echo running ;;
  *is-enabled*) [ -f "$FAKE_STATE/enabled" ] && echo enabled || { echo disabled; exit 1; } ;;
  *is-active*) [ -f "$FAKE_STATE/pid" ] && echo active || { echo inactive; exit 3; } ;;
  *"enable --now"*|*restart*)
    cmd=$(sed -n 's/^ExecStart=//p' "$unit")
    touch "$FAKE_STATE/enabled"
    nohup $cmd > "$FAKE_STATE/daemon.log" 2>&1 &
    echo $! > "$FAKE_STATE/pid"
    for _ in $(seq 100); do [ -S "$SSOD_RUNTIME_DIR/ipc" ] && break; sleep 0.1; done ;;
  *"disable --now"*)
    rm -f "$FAKE_STATE/enabled"
    if [ -f "$FAKE_STATE/pid" ]; then
      p=$(cat "$FAKE_STATE/pid"); kill "$p"
      # As systemctl does, return once it has stopped (gone, or a zombie nobody reaps).
      for _ in $(seq 300); do
        s=$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null || echo gone)
        [ "$s" = gone ] || [ "$s" = Z ] && break; sleep 0.05
      done
    fi
    rm -f "$FAKE_STATE/pid" ;;
  *) ;;
esac
exit 0
"""

FAKE_PIPX = """\
#!/usr/bin/env bash
# pipx stand-in: a real install of ssod into a fresh virtual environment.
set -euo pipefail
case "$1" in
  install)
    "$REAL_PYTHON" -m venv "$FAKE_STATE/pipx-venv"
    "$FAKE_STATE/pipx-venv/bin/pip" install --quiet --disable-pip-version-check \\
        -c "$REPO/tests/constraints.txt" "$REPO" 2>&1 | grep -v '^WARNING' || true
    "$FAKE_STATE/pipx-venv/bin/ssod" --version ;;
  uninstall) rm -rf "$FAKE_STATE/pipx-venv" ;;
esac
"""


#: Put on the line before a ```sh block that changes the shell for itself only (HOME, the
#: endpoint variables): it runs in a subshell, which stops what it started if it fails.
OWN_SUBSHELL = "<!-- readme-test: own subshell -->"
_CLEAN_UP = "trap 'ssod stop >/dev/null 2>&1 || true; kill $(jobs -p) 2>/dev/null || true' EXIT"


def readme_script(readme: str, config: Path) -> str:
    """The README's sh blocks as one script, with its ini blocks appended to the config."""
    parts = ["set -euo pipefail"]
    for match in BLOCK.finditer(readme):
        kind, body = match.groups()
        if kind == "sh" and readme[: match.start()].rstrip().endswith(OWN_SUBSHELL):
            parts.append(f"(\n{_CLEAN_UP}\n{body})")
        elif kind == "sh":
            parts.append(body)
        elif kind == "ini":
            parts.append(f"cat >> {config} <<'INI'\n\n{body}INI")
    return "\n".join(parts) + "\n"


def test_blocks_are_found() -> None:
    script = readme_script((ROOT / "README.md").read_text(), Path("/c"))
    for command in (
        "pipx install",
        "ssod service install",
        "ssod configure",
        "ssod login",
        'eval "$(ssod env',
        "credential_process",
        "ssod logout",
        "ssod service uninstall",
        "ssod stop",
        "ssod emulator --env-file",
    ):
        assert command in script, command


@pytest.mark.slow
def test_readme_commands_work(ssod_daemon: DaemonHarness, tmp_path: Path) -> None:
    fake = tmp_path / "fake"
    bin_dir = fake / "bin"
    bin_dir.mkdir(parents=True)
    for name, body in (("systemctl", FAKE_SYSTEMCTL), ("pipx", FAKE_PIPX)):
        path = bin_dir / name
        path.write_text(body)
        path.chmod(0o755)
    ssod_daemon.config_file.unlink()  # the README starts from an empty ~/.aws
    config = ssod_daemon.config_file
    env = {
        **ssod_daemon.env,
        # The README's `ssod` and `python3` are the development environment's.
        "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
        "FAKE_STATE": str(fake),
        "REPO": str(ROOT),
        "REAL_PYTHON": shutil.which("python3") or sys.executable,
        "SSOD_ECS_PORT": "0",
    }
    env.pop("SSOD_NO_AUTOSTART")  # as for a reader: commands start a daemon when none runs
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    # A login session's runtime directory: the unit refuses one under /tmp (PrivateTmp).
    runtime_base = next((d for d in ("/run", "/dev/shm") if os.access(d, os.W_OK)), None)
    if runtime_base is None:
        pytest.skip("no writable directory outside /tmp for the runtime directory")
    runtime = Path(tempfile.mkdtemp(prefix="ssod-readme-", dir=runtime_base))
    env["XDG_RUNTIME_DIR"] = str(runtime)
    env["SSOD_RUNTIME_DIR"] = str(runtime / "ssod")
    script = readme_script((ROOT / "README.md").read_text(), config)
    try:
        out = subprocess.run(
            ["bash", "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        pid_file = fake / "pid"
        if pid_file.exists():
            subprocess.run(["kill", pid_file.read_text().strip()], check=False)
        shutil.rmtree(runtime, ignore_errors=True)
    log = (fake / "daemon.log").read_text() if (fake / "daemon.log").exists() else ""
    assert out.returncode == 0, textwrap.shorten(out.stderr, 4000) + "\n" + log[-3000:]
    assert "ssod 0.1.0" in out.stdout
    # "Try it without AWS": boto3 got the emulator's role through the scratch daemon.
    assert ":assumed-role/AWSReservedSSO_ReadOnly_" in out.stdout, out.stdout
    assert "Stopped the ssod daemon" in out.stderr
    assert out.stdout.count("111111111111") >= 2  # boto3 through the endpoint and the process
    calls = (fake / "systemctl.calls").read_text()
    assert "--user enable --now ssod.service" in calls
    assert "--user disable --now ssod.service" in calls
    assert not (fake / "pipx-venv").exists()
