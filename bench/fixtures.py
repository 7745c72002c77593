"""What every measurement starts from: its options, and an emulator plus a logged-in daemon.

Owns the ``running_daemon`` context (with ssod's standard ``~/.aws/config``, the tests' too), which
brings up the emulator (with its per-call latency) and the real daemon in a fresh workspace,
logs the sso-sessions in and tears everything down afterwards, whatever happened.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from bench.baseline import Baseline
from bench.httpclient import Connection, Target
from bench.launcher import (
    Daemon,
    Emulator,
    Workspace,
    pinned,
    wait_for_file,
    workspace,
)
from ssod.emulator.testing.launcher import STANDARD_CONFIG, stop_process

__all__ = ["STANDARD_CONFIG", "Options", "Scene", "bare_twin", "fetch_body", "running_daemon"]

#: The daemon's CPU and the load generator's when both are pinned (2 cores: one each).
SERVER_CPU = 0
CLIENT_CPU = 1


@dataclass(frozen=True)
class Options:
    """How much to run: ``quick`` trims repetitions and durations to stay within ~3 minutes."""

    quick: bool = False
    #: Seconds the emulator adds to every AWS call (about a regional round trip).
    latency: float = 0.06
    #: An earlier revision measured beside this one (``--baseline REV``), if any.
    baseline: Baseline | None = None

    def reps(self, full: int, quick: int) -> int:
        """Repetitions for this mode."""
        return quick if self.quick else full

    def seconds(self, full: float, quick: float) -> float:
        """A duration for this mode."""
        return quick if self.quick else full

    @property
    def flag(self) -> str:
        """The command-line flags that reproduce these options."""
        flags = " --quick" if self.quick else ""
        flags += f" --baseline {self.baseline.rev}" if self.baseline else ""
        return flags + (f" --latency {self.latency:g}" if self.latency != 0.06 else "")


@dataclass
class Scene:
    """A running emulator and daemon in one workspace."""

    ws: Workspace
    emulator: Emulator
    daemon: Daemon


@contextmanager
def running_daemon(
    options: Options,
    *,
    config: str = STANDARD_CONFIG,
    sessions: Sequence[str] = ("corp",),
    daemon_args: Sequence[str] = (),
    emulator_args: Sequence[str] = (),
    daemon_cpu: int | None = None,
    daemon_command: Sequence[str] | None = None,
) -> Iterator[Scene]:
    """An emulator and a daemon with ``sessions`` logged in; stopped and removed on exit."""
    with workspace() as ws:
        ws.write_config(config)
        emulator = Emulator(ws, options.latency, args=emulator_args).start()
        daemon = Daemon(ws, emulator, args=daemon_args, cpu=daemon_cpu, command=daemon_command)
        try:
            daemon.start()
            for name in sessions:
                daemon.log_in(name)
            yield Scene(ws, emulator, daemon)
        finally:
            daemon.stop()
            emulator.stop()


def fetch_body(url: str, token: str) -> bytes:
    """One GET of ``url`` with the ECS token; the body of a 200 answer."""

    async def once() -> bytes:
        conn = Connection(Target.for_url(url, token))
        try:
            ((status, body),) = await conn.get()
        finally:
            await conn.close()
        if status != 200:
            raise RuntimeError(f"the daemon answered {status}: {body[:200]!r}")
        return body

    return asyncio.run(once())


@contextmanager
def bare_twin(scene: Scene, profile: str, cpu: int | None = None) -> Iterator[tuple[int, str]]:
    """bench/bare_server.py serving the daemon's answer for ``profile``; yields (pid, URL)."""
    body_file = scene.ws.root / "body.json"
    body_file.touch(mode=0o600)
    body_file.write_bytes(fetch_body(scene.daemon.ecs_url(profile), scene.daemon.token()))
    port_file = scene.ws.root / "bare.port"
    command = [
        sys.executable,
        "-m",
        "bench.bare_server",
        "--body",
        str(body_file),
        "--port-file",
        str(port_file),
    ]
    proc = subprocess.Popen(pinned(command, cpu), stdin=subprocess.DEVNULL)
    try:
        port = wait_for_file(port_file, proc, "the bare server", 30.0)
        yield proc.pid, f"http://127.0.0.1:{port}/credentials/{profile}"
    finally:
        stop_process(proc)
