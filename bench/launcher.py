"""The processes a benchmark runs: the emulator and the real ``ssod daemon``, in a throwaway HOME.

Starting the daemon and waiting for IPC is ``ssod.emulator.testing.launcher``'s, shared with the
tests; this adds what only benchmarks need: a workspace under /tmp, the emulator as a subprocess
(so it never shares the measuring process's CPU), pinning to one CPU with ``taskset``, and reading a
process's resident memory and CPU time from /proc. Nothing of ssod's is mocked or run in the
measuring process. No secret is put in a process argument; the ECS token stays in its file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ssod.emulator.testing.launcher import (
    DaemonProcess,
    isolated_env,
    rss_kib,
    ssod_command,
    stop_process,
    write_config,
)
from ssod.emulator.testing.remote import EmulatorRemote
from ssod.wire import Op

#: Clock ticks per second of /proc/PID/stat utime and stime.
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def pinned(command: Sequence[str], cpu: int | None) -> list[str]:
    """``command`` pinned to ``cpu`` with taskset, or unchanged without taskset or a CPU."""
    if cpu is None or shutil.which("taskset") is None:
        return list(command)
    return ["taskset", "-c", str(cpu), *command]


def can_pin() -> bool:
    """Whether processes can be pinned to separate CPUs (taskset and two or more cores)."""
    return shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2


@dataclass
class Workspace:
    """A temp directory holding a HOME, a runtime dir and logs; short enough for Unix sockets."""

    root: Path

    @classmethod
    def create(cls) -> Workspace:
        """A fresh workspace under /tmp."""
        root = Path(tempfile.mkdtemp(prefix="ssodb-", dir="/tmp"))
        (root / "home" / ".aws").mkdir(parents=True)
        return cls(root)

    @property
    def home(self) -> Path:
        """The temp HOME."""
        return self.root / "home"

    @property
    def runtime(self) -> Path:
        """The daemon's runtime directory (IPC socket)."""
        return self.root / "rt"

    @property
    def sso_cache(self) -> Path:
        """``~/.aws/sso/cache`` in the temp HOME."""
        return self.home / ".aws" / "sso" / "cache"

    def write_config(self, text: str) -> None:
        """Write ``~/.aws/config``."""
        write_config(self.home, text)

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """This process's environment without AWS/ssod settings, with HOME and the runtime dir."""
        env = isolated_env(self.home, self.runtime, extra)
        # An installed ssod has its bytecode compiled (pip and pipx do it); a checkout run with
        # PYTHONDONTWRITEBYTECODE would recompile every module on every start and mislead.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    def remove(self) -> None:
        """Delete the workspace."""
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def workspace() -> Iterator[Workspace]:
    """A workspace removed on exit."""
    ws = Workspace.create()
    try:
        yield ws
    finally:
        ws.remove()


def wait_for_file(path: Path, proc: subprocess.Popen[Any], what: str, timeout: float) -> str:
    """The content of ``path`` once ``proc`` has written it."""
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout:g}s")
        time.sleep(0.01)
    return path.read_text().strip()


@dataclass
class Emulator:
    """``ssod emulator`` as a subprocess, driven over its control API."""

    ws: Workspace
    latency: float
    args: Sequence[str] = ()
    cpu: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    remote: EmulatorRemote = field(default_factory=lambda: EmulatorRemote("http://unset"))

    def start(self) -> Emulator:
        """Spawn it and wait until it listens."""
        port_file = self.ws.root / "emulator.port"
        command = ssod_command(
            "emulator", "--port-file", str(port_file), "--latency", str(self.latency), *self.args
        )
        with (self.ws.root / "emulator.log").open("ab") as log:
            self.proc = subprocess.Popen(
                pinned(command, self.cpu),
                env=self.ws.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        port = wait_for_file(port_file, self.proc, "the emulator", 30.0)
        self.remote = EmulatorRemote(f"http://127.0.0.1:{port}")
        self.remote.settings(approve_delay=0.0)  # logins are set-up here, not measured
        return self

    @property
    def env(self) -> dict[str, str]:
        """The ``AWS_ENDPOINT_URL_*`` variables pointing AWS clients at it."""
        return self.remote.env

    def stop(self) -> None:
        """Stop it."""
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


class Daemon(DaemonProcess):
    """``ssod daemon`` as a subprocess in a workspace, pointed at a running emulator, maybe pinned.

    ``start()`` returns the seconds from spawn until IPC ``status`` answered.
    """

    start_timeout = 60.0
    poll_interval = 0.005  # start-up is measured: ask often

    def __init__(
        self,
        ws: Workspace,
        emulator: Emulator,
        args: Sequence[str] = (),
        cpu: int | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        assert emulator.proc is not None, "start the emulator first: the daemon needs its URL"
        command = pinned(command or ssod_command("daemon", "--no-notify", *args), cpu)
        super().__init__(ws.home, ws.runtime, ws.env(emulator.env), ws.root / "daemon.log", command)
        self.ws = ws
        self.emulator = emulator

    def log_in(self, sso_session: str) -> None:
        """Log ``sso_session`` in with the device flow (the emulator approves it)."""
        self.login(sso_session=sso_session, use_device_code=True)

    def endpoint_info(self) -> dict[str, Any]:
        """The ECS base URL, credentials path and token file (and the token: keep it in memory)."""
        return self.request(Op.ENDPOINT)

    def ecs_url(self, profile: str) -> str:
        """The full ECS URL serving ``profile``."""
        info = self.endpoint_info()
        return str(info["url"]) + str(info["credentials_path"]).replace("PROFILE", profile)

    def token_file(self) -> str:
        """The ECS token file's path."""
        return str(self.endpoint_info()["token_file"])

    def token(self) -> str:
        """The ECS token, read from its file (keep it in memory; never put it in argv)."""
        return Path(self.token_file()).read_text()

    def rss_kib(self) -> int:
        """The daemon's resident memory (VmRSS) in KiB."""
        return rss_kib(self.pid)

    def cpu_seconds(self) -> float:
        """User plus system CPU time the daemon has used so far."""
        return cpu_seconds(self.pid)


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads) in seconds, from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # fields[0] is the state (field 3); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_ns(pid: int) -> int:
    """Nanoseconds ``pid``'s live threads have run, from /proc/PID/task/*/schedstat.

    Finer than the 10-ms ticks of /proc/PID/stat, so idle costs below a tick still show; the
    time of threads that exit in between is lost (ssod's worker threads live on).
    """
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread exited while we looked
    return total
