"""Two users on one machine: a daemon whose preferred ECS port another program holds.

A real second listener holds the preferred port (``SSOD_ECS_PREFERRED_PORT`` stands in for
9179, so these tests never meet a real daemon). The daemon then serves on a port of its user's
own, keeps it in the state dir, and comes back on it after a restart, even once the preferred
port is free again; ``ssod env``, ``status`` and ``docker env`` print the port in use. An
explicit ``SSOD_ECS_PORT`` means exactly that port, and a taken one fails the start clearly.
"""

from __future__ import annotations

import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness import DaemonHarness
from ssod.emulator.testing.launcher import DaemonFailed
from ssod.wire import Op


@contextmanager
def held_port() -> Iterator[int]:
    """A port on 127.0.0.1 another program listens on (a second user's daemon, say)."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def own_port(harness: DaemonHarness, preferred: int) -> Path:
    """No port named: the daemon picks its user's own, preferring ``preferred``."""
    del harness.env["SSOD_ECS_PORT"]
    harness.env["SSOD_ECS_PREFERRED_PORT"] = str(preferred)
    harness.env["SSOD_STATE_DIR"] = str(harness.home / "state")
    return harness.home / "state" / "ecs-port"


def serving(harness: DaemonHarness) -> int:
    port = int(harness.request(Op.ENDPOINT)["port"])
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # it really listens there
    return port


def test_a_taken_preferred_port_means_a_stable_port_of_ones_own(
    ssod_daemon: DaemonHarness,
) -> None:
    with held_port() as taken:
        kept = own_port(ssod_daemon, taken)
        ssod_daemon.start()
        port = serving(ssod_daemon)
        assert port != taken
        assert kept.read_text() == f"{port}\n"
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700

        env = ssod_daemon.ssod("env", "--profile", "dev")
        assert f"http://127.0.0.1:{port}/credentials/dev" in env.stdout, env.stderr
        status = ssod_daemon.ssod("status")
        assert f"http://127.0.0.1:{port}" in status.stdout, status.stderr
        docker = ssod_daemon.ssod("docker", "env", "--profile", "dev")
        assert f"http://169.254.170.2:{port}/credentials/dev" in docker.stdout, docker.stderr

        ssod_daemon.stop()
        ssod_daemon.start()
        assert serving(ssod_daemon) == port  # shells that exported the URL keep working
    ssod_daemon.stop()
    ssod_daemon.start()  # the preferred port is free now: the kept one still wins
    assert serving(ssod_daemon) == port


def test_the_preferred_port_when_it_is_free(ssod_daemon: DaemonHarness) -> None:
    with held_port() as free:
        pass  # a port nothing listens on now
    kept = own_port(ssod_daemon, free)
    ssod_daemon.start()
    assert serving(ssod_daemon) == free
    assert kept.read_text() == f"{free}\n"


def test_the_kept_port_taken_by_another_moves_on_and_keeps_the_new_one(
    ssod_daemon: DaemonHarness,
) -> None:
    with held_port() as preferred, held_port() as kept_one:
        kept = own_port(ssod_daemon, preferred)
        kept.parent.mkdir(mode=0o700)
        kept.write_text(f"{kept_one}\n")
        ssod_daemon.start()
        port = serving(ssod_daemon)
    assert port not in (preferred, kept_one)
    assert kept.read_text() == f"{port}\n"


def test_an_explicit_port_that_is_taken_fails_clearly(ssod_daemon: DaemonHarness) -> None:
    with held_port() as taken:
        ssod_daemon.env["SSOD_ECS_PORT"] = str(taken)
        with pytest.raises(DaemonFailed) as failed:
            ssod_daemon.start()
    message = str(failed.value)
    assert f"cannot listen on 127.0.0.1:{taken}" in message
    assert "asks for exactly that port" in message
    assert "Traceback" not in message
