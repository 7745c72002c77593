"""The real ``ssod daemon`` as a subprocess in a throwaway HOME, pointed at an emulator.

The one launcher of ssod's tests (``tests/harness.py``) and benchmarks (``bench/launcher.py``),
and usable from users' own tests: the standard ``~/.aws/config``, the environment a daemon runs
in there (no AWS_*, SSOD_* or BOTO_* settings of the caller, no desktop bus, ECS on a free port,
no notifications), starting the daemon and waiting until it answers ``status`` over IPC, asking
it over IPC, and stopping it. Nothing of ssod's is mocked: the daemon is the program users run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from ssod import atomicfile
from ssod.client.ipc import IpcClient
from ssod.errors import DaemonUnavailable
from ssod.wire import Op

#: One sso-session, two profiles on it and one chained profile: what tests and benchmarks use.
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

#: The caller's settings that must not reach a daemon in a throwaway HOME.
_SCRUBBED_PREFIXES = ("AWS_", "SSOD_", "BOTO_")
_SCRUBBED = frozenset({"DBUS_SESSION_BUS_ADDRESS"})  # nothing pops up on the caller's desktop


class DaemonFailed(RuntimeError):
    """The daemon exited, or did not answer in time, while starting."""


def ssod_command(*args: str) -> list[str]:
    """``ssod ARGS`` run by this interpreter (the console script's exact code path)."""
    return [sys.executable, "-m", "ssod.client.cli", *args]


def isolated_env(
    home: Path, runtime: Path, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """This process's environment for a daemon or client in ``home``, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_SCRUBBED_PREFIXES) and k not in _SCRUBBED
    }
    env.update(
        {
            "HOME": str(home),
            "SSOD_RUNTIME_DIR": str(runtime),
            "SSOD_ECS_PORT": "0",
            "SSOD_NOTIFY": "0",
            # A test that wants a daemon started on demand says so (tests/cli/test_autostart.py
            # sets it to 0); elsewhere a command run with no daemon must not leave one behind.
            "SSOD_NO_AUTOSTART": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def write_config(home: Path, text: str = STANDARD_CONFIG) -> Path:
    """Write ``~/.aws/config`` in ``home`` atomically (as an editor that saves by rename)."""
    path = home / ".aws" / "config"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomicfile.write(path, text.encode("utf-8"), mode=0o644)
    return path


def _ignore(signum: int, frame: object) -> None:
    """SIGINT in a process started in the background: ignored, as before."""


def default_sigint_for_children() -> bool:
    """Let the programs this process starts have SIGINT's default, even in a background job.

    A shell starts ``command &`` (and ``nohup`` its command) with SIGINT ignored, and an
    ignored signal stays ignored across ``exec``: a daemon or ``ssod login`` started from
    there would never stop on Ctrl-C, and tests that press it would hang. A *caught* signal
    is reset to the default by ``exec``, so an ignored SIGINT is replaced by a handler that
    does nothing: this process still ignores Ctrl-C, and what it starts gets the default.
    Call it once, from the main thread, before starting anything. True if it changed it.
    """
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        return False
    signal.signal(signal.SIGINT, _ignore)
    return True


def stop_process(proc: subprocess.Popen[Any], timeout: float = 15.0) -> int:
    """SIGTERM ``proc`` and wait; SIGKILL it if it does not exit in time. Its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def rss_kib(pid: int) -> int:
    """Resident memory (VmRSS) of ``pid`` in KiB, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


class DaemonProcess:
    """``ssod daemon`` (or ``command``) as a subprocess in ``home``, logging to ``log_path``."""

    #: How long ``start`` waits for the first IPC answer, and how often it asks. Only a bound for
    #: a daemon that never comes up: on a machine with both cores busy, a daemon's imports alone
    #: took over 20 s once (an empty log when the wait ended).
    start_timeout = 60.0
    poll_interval = 0.01

    def __init__(
        self,
        home: Path,
        runtime: Path,
        env: dict[str, str],
        log_path: Path,
        command: Sequence[str] | None = None,
    ) -> None:
        self.home = home
        self.runtime = runtime
        self.env = env
        self.log_path = log_path
        self.command = list(command or ssod_command("daemon"))
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def config_file(self) -> Path:
        """``~/.aws/config`` in the HOME."""
        return self.home / ".aws" / "config"

    @property
    def cache_dir(self) -> Path:
        """``~/.aws/sso/cache`` in the HOME."""
        return self.home / ".aws" / "sso" / "cache"

    @property
    def endpoint(self) -> str:
        """The daemon's IPC endpoint."""
        return f"ipc://{self.runtime / 'ipc'}"

    @property
    def pid(self) -> int:
        """The daemon's process id (once started)."""
        assert self.proc is not None, "the daemon is not running"
        return self.proc.pid

    def write_config(self, text: str = STANDARD_CONFIG) -> None:
        """Write ``~/.aws/config`` atomically."""
        write_config(self.home, text)

    def start(self, *args: str) -> float:
        """Start the command with ``args`` appended and wait until it answers ``status``.

        Returns the seconds from spawn until it answered; raises DaemonFailed with its log.
        """
        self._log_file = self.log_path.open("ab")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [*self.command, *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise DaemonFailed(f"the daemon exited with {self.proc.returncode}:\n{self.log()}")
            try:
                self.request(Op.STATUS, timeout=2.0)
                return time.perf_counter() - started
            except DaemonUnavailable:
                if time.monotonic() > deadline:
                    raise DaemonFailed(f"the daemon did not come up:\n{self.log()}") from None
                time.sleep(self.poll_interval)

    def request(self, op: Op, *, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
        """One IPC request to the daemon; its reply."""
        with IpcClient(self.endpoint, timeout=timeout) as client:
            return dict(client.request(op, **args))

    def login(self, *, idle_timeout: float = 30.0, **args: Any) -> list[dict[str, Any]]:
        """Run a login over IPC to completion (the emulator approves it); returns the events."""
        with IpcClient(self.endpoint, timeout=30.0) as client:
            stream = client.stream(Op.LOGIN, idle_timeout=idle_timeout, **args)
            return [dict(reply.result or {}) for reply in stream]

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM the daemon and wait for it; returns its exit code (None: never started)."""
        code = None
        if self.proc is not None:
            code = stop_process(self.proc, timeout)
            self.proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return code

    def log(self) -> str:
        """Everything the daemon logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
