"""The test harness: a real ``ssod daemon`` subprocess in a temp HOME, beside the emulator.

Used through the ``ssod_daemon`` fixture (tests/conftest.py). Nothing of ssod's is mocked: the
daemon is the real program, reached over its real IPC socket and ECS endpoint, and it reaches
the emulator through the standard ``AWS_ENDPOINT_URL_*`` variables.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ssod.client.ipc import IpcClient
from ssod.emulator.background import BackgroundEmulator
from ssod.errors import DaemonUnavailable
from ssod.wire import Op

#: The config most tests use: one sso-session, two profiles on it, one chained profile.
STANDARD_CONFIG = """\
[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnly
region = us-east-1

[profile prod]
sso_session = corp
sso_account_id = 222222222222
sso_role_name = Admin
region = eu-west-1

[profile chained]
role_arn = arn:aws:iam::222222222222:role/Deployer
source_profile = dev

[sso-session corp]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access
"""


@dataclass
class DaemonHarness:
    """A real ``ssod daemon`` subprocess in a temp HOME, and ways to talk to it."""

    home: Path
    runtime: Path
    emulator: BackgroundEmulator
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=Path)
    _log_file: Any = None

    @property
    def config_file(self) -> Path:
        """``~/.aws/config`` in the temp HOME."""
        return self.home / ".aws" / "config"

    @property
    def cache_dir(self) -> Path:
        """``~/.aws/sso/cache`` in the temp HOME."""
        return self.home / ".aws" / "sso" / "cache"

    @property
    def endpoint(self) -> str:
        """The daemon's IPC endpoint."""
        return f"ipc://{self.runtime / 'ipc'}"

    def write_config(self, text: str = STANDARD_CONFIG) -> None:
        """Write ``~/.aws/config`` atomically (as an editor that saves by rename would)."""
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.config_file.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(self.config_file)

    def start(self, *args: str, wait: float = 20.0) -> None:
        """Start the daemon and wait until it answers ``status`` over IPC."""
        self._log_file = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ssod.client.cli", "daemon", "--log-level", "debug", *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + wait
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited with {self.proc.returncode}:\n{self.log()}")
            try:
                self.request(Op.STATUS, timeout=1.0)
                return
            except DaemonUnavailable:
                if time.monotonic() > deadline:
                    raise AssertionError(f"daemon did not come up:\n{self.log()}") from None
                time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM the daemon and wait for it; returns its exit code."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return proc.returncode

    def request(self, op: Op, *, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
        """One IPC request to the daemon."""
        with IpcClient(self.endpoint, timeout=timeout) as client:
            return dict(client.request(op, **args))

    def login(self, **args: Any) -> list[dict[str, Any]]:
        """Run a login over IPC to completion (the emulator approves it); returns the events."""
        args.setdefault("profile", "dev")
        with IpcClient(self.endpoint, timeout=10.0) as client:
            return [dict(r.result or {}) for r in client.stream(Op.LOGIN, idle_timeout=30, **args)]

    def ssod(
        self,
        *args: str,
        input: str | None = None,
        timeout: float = 60.0,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the ``ssod`` command line as a subprocess in this environment."""
        return subprocess.run(
            [sys.executable, "-m", "ssod.client.cli", *args],
            env={**self.env, **(env or {})},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def log(self) -> str:
        """Everything the daemon logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def base_env(home: Path, runtime: Path, emulator: BackgroundEmulator) -> dict[str, str]:
    """The environment of a daemon or client subprocess in the temp HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SSOD_", "BOTO_"))}
    env.update(emulator.env)
    env.update(
        {
            "HOME": str(home),
            "SSOD_RUNTIME_DIR": str(runtime),
            "SSOD_ECS_PORT": "0",
            "SSOD_NOTIFY": "0",
            # A test that wants a daemon started on demand says so (tests/cli/test_autostart.py);
            # elsewhere a command run with no daemon must not leave one behind.
            "SSOD_NO_AUTOSTART": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env
