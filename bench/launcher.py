"""The processes a benchmark runs: the emulator and the real ``ssod daemon``, in a throwaway HOME.

Owns spawning them (optionally pinned to one CPU with ``taskset``), waiting until each is ready,
logging sessions in, reading a process's resident memory and CPU time from /proc, and stopping
everything it started. Nothing of ssod's is mocked or run in the measuring process: the daemon
is the program users run, reached over its real IPC socket and ECS endpoint. No secret is put in
a process argument; the ECS token stays in its file.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ssod.client.ipc import IpcClient
from ssod.emulator.remote import EmulatorRemote
from ssod.errors import DaemonUnavailable
from ssod.wire import Op

#: Clock ticks per second of /proc/PID/stat utime and stime.
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def ssod_command(*args: str) -> list[str]:
    """``ssod ARGS`` run by this interpreter (the console script's exact code path)."""
    return [sys.executable, "-m", "ssod.client.cli", *args]


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
    def config_file(self) -> Path:
        """``~/.aws/config`` in the temp HOME."""
        return self.home / ".aws" / "config"

    @property
    def sso_cache(self) -> Path:
        """``~/.aws/sso/cache`` in the temp HOME."""
        return self.home / ".aws" / "sso" / "cache"

    def write_config(self, text: str) -> None:
        """Write ``~/.aws/config``."""
        self.config_file.write_text(text)

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """This process's environment without AWS/ssod settings, with HOME and the runtime dir."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SSOD_", "BOTO_"))}
        # An installed ssod has its bytecode compiled (pip and pipx do it); a checkout run with
        # PYTHONDONTWRITEBYTECODE would recompile every module on every start and mislead.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(
            {
                "HOME": str(self.home),
                "SSOD_RUNTIME_DIR": str(self.runtime),
                "SSOD_ECS_PORT": "0",
                "SSOD_NOTIFY": "0",
            }
        )
        env.update(extra or {})
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


def stop_process(proc: subprocess.Popen[Any], timeout: float = 15.0) -> None:
    """SIGTERM ``proc`` and wait; SIGKILL it if it does not exit in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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


@dataclass
class Daemon:
    """``ssod daemon`` as a subprocess in a workspace, pointed at an emulator."""

    ws: Workspace
    emulator: Emulator
    args: Sequence[str] = ()
    cpu: int | None = None
    command: Sequence[str] | None = None
    proc: subprocess.Popen[bytes] | None = None
    _log: Any = None

    @property
    def endpoint(self) -> str:
        """The daemon's IPC endpoint."""
        return f"ipc://{self.ws.runtime / 'ipc'}"

    @property
    def pid(self) -> int:
        """The daemon's process id (once started)."""
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> float:
        """Spawn the daemon; returns the seconds from spawn until IPC ``status`` answered."""
        command = list(self.command or ssod_command("daemon", "--no-notify", *self.args))
        self._log = (self.ws.root / "daemon.log").open("ab")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            pinned(command, self.cpu),
            env=self.ws.env(self.emulator.env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the daemon exited with {self.proc.returncode}: {self.log()}")
            try:
                self.request(Op.STATUS, timeout=2.0)
                return time.perf_counter() - started
            except DaemonUnavailable:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the daemon did not come up: {self.log()}") from None
                time.sleep(0.005)

    def request(self, op: Op, *, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
        """One IPC request."""
        with IpcClient(self.endpoint, timeout=timeout) as client:
            return dict(client.request(op, **args))

    def login(self, sso_session: str) -> None:
        """Log ``sso_session`` in with the device flow (the emulator approves it)."""
        with IpcClient(self.endpoint, timeout=30.0) as client:
            for _ in client.stream(
                Op.LOGIN, idle_timeout=30.0, sso_session=sso_session, use_device_code=True
            ):
                pass

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

    def log(self) -> str:
        """The daemon's log so far (its tail)."""
        path = self.ws.root / "daemon.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM the daemon and wait for it."""
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` in KiB, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


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
