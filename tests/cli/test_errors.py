"""Errors that point at the cause: a refused connection is named as one, for a one-off command.

A real daemon whose SSO portal endpoint is a closed loopback port (the emulator stays up for
the login); the client's message must name the host and what happened, not a botocore class
nor a promise to retry that a one-off command does not keep.
"""

from __future__ import annotations

import socket

from harness import DaemonHarness
from ssod.errors import EXIT_AWS


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again on exit: connections are refused


def test_a_refused_connection_is_named(ssod_daemon: DaemonHarness) -> None:
    port = _closed_port()
    ssod_daemon.env["AWS_ENDPOINT_URL_SSO"] = f"http://127.0.0.1:{port}"
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    out = ssod_daemon.ssod("credentials", "--profile", "dev", "--no-start")
    assert out.returncode == EXIT_AWS, out.stderr
    assert f"cannot connect to 127.0.0.1:{port}" in out.stderr, out.stderr
    for wrong in ("did not answer in time", "will retry", "EndpointConnectionError"):
        assert wrong not in out.stderr, out.stderr


def test_an_aws_failure_names_a_daemon_on_other_endpoints(ssod_daemon: DaemonHarness) -> None:
    # The daemon was started before this shell set the endpoint it calls (the emulator's).
    emulator_sso = ssod_daemon.env["AWS_ENDPOINT_URL_SSO"]
    ssod_daemon.env["AWS_ENDPOINT_URL_SSO"] = f"http://127.0.0.1:{_closed_port()}"
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    # The full client (the fast path stays free of a second request).
    env = {"AWS_ENDPOINT_URL_SSO": emulator_sso, "SSOD_FAST_PATH": "0"}
    out = ssod_daemon.ssod("credentials", "--profile", "dev", env=env)
    assert out.returncode == EXIT_AWS, out.stderr
    assert "Note: the daemon uses other AWS endpoints than this shell" in out.stderr
    assert "AWS_ENDPOINT_URL_SSO differ" in out.stderr and "`ssod stop`" in out.stderr
