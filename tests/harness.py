"""The test harness: a real ``ssod daemon`` subprocess in a temp HOME, beside the emulator.

Used through the ``ssod_daemon`` fixture (tests/conftest.py). The launcher itself (standard
config, environment, start and wait for IPC, stop) is ``ssod.emulator.testing.launcher``, shared
with the benchmarks; this adds the emulator the daemon talks to and running the ``ssod`` command
line. Nothing of ssod's is mocked: the daemon is the real program, reached over its real IPC
socket and ECS endpoint, and it reaches the emulator through the ``AWS_ENDPOINT_URL_*``
variables.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ssod.emulator.testing.background import BackgroundEmulator
from ssod.emulator.testing.launcher import (
    STANDARD_CONFIG,
    DaemonProcess,
    isolated_env,
    ssod_command,
)

__all__ = ["STANDARD_CONFIG", "DaemonHarness", "base_env"]


class DaemonHarness(DaemonProcess):
    """A real ``ssod daemon`` subprocess in a temp HOME, and ways to talk to it."""

    poll_interval = 0.05

    def __init__(
        self,
        *,
        home: Path,
        runtime: Path,
        emulator: BackgroundEmulator,
        env: dict[str, str],
        log_path: Path,
    ) -> None:
        command = ssod_command("daemon", "--log-level", "debug")
        super().__init__(home, runtime, env, log_path, command)
        self.emulator = emulator

    def login(self, *, idle_timeout: float = 30.0, **args: Any) -> list[dict[str, Any]]:
        """Log in over IPC (profile ``dev`` unless told otherwise); returns the events."""
        args.setdefault("profile", "dev")
        return super().login(idle_timeout=idle_timeout, **args)

    def ssod(
        self,
        *args: str,
        input: str | None = None,
        timeout: float = 60.0,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the ``ssod`` command line as a subprocess in this environment."""
        return subprocess.run(
            ssod_command(*args),
            env={**self.env, **(env or {})},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def base_env(home: Path, runtime: Path, emulator: BackgroundEmulator) -> dict[str, str]:
    """The environment of a daemon or client subprocess in the temp HOME."""
    return isolated_env(home, runtime, emulator.env)
