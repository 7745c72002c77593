"""A daemon on demand: ``status``, ``credentials``, ``env`` and ``login`` start one when none runs.

Real clients start the real daemon detached; every daemon a test started is found through
``/proc`` (its ``--started-by autostart`` argv and this test's runtime directory) and stopped
at teardown, whatever the test did.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_support import wait_until
from harness import DaemonHarness
from ssod import errors
from ssod.client.service import autostart


def _autostarted(runtime: Path) -> list[int]:
    """Pids of live autostarted daemons whose runtime directory is ``runtime``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"autostart" in argv and f"SSOD_RUNTIME_DIR={runtime}".encode() in environ:
            found.append(int(entry.name))
    return found


@pytest.fixture
def on_demand(ssod_daemon: DaemonHarness) -> Iterator[DaemonHarness]:
    """The harness with autostart allowed; kills what the test started."""
    del ssod_daemon.env["SSOD_NO_AUTOSTART"]
    try:
        yield ssod_daemon
    finally:
        for pid in _autostarted(ssod_daemon.runtime):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _autostarted(ssod_daemon.runtime) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in _autostarted(ssod_daemon.runtime):
            os.kill(pid, signal.SIGKILL)


def _state_dir(harness: DaemonHarness) -> Path:
    return harness.home / ".local" / "state" / "ssod"


def _status(harness: DaemonHarness) -> dict[str, object]:
    out = harness.ssod("status", "--json", "--no-start")
    assert out.returncode == 0, out.stderr
    daemon: dict[str, object] = json.loads(out.stdout)["daemon"]
    return daemon


def _started_by(harness: DaemonHarness) -> object:
    out = harness.ssod("status", "--json", "--no-start")
    return json.loads(out.stdout)["daemon"]["started_by"] if out.returncode == 0 else None


def test_status_starts_a_detached_daemon_that_says_so(on_demand: DaemonHarness) -> None:
    out = on_demand.ssod("status")
    assert out.returncode == 0, out.stderr
    assert "started on demand" in out.stdout.splitlines()[0]
    [pid] = _autostarted(on_demand.runtime)
    daemon = _status(on_demand)
    assert daemon["started_by"] == "autostart" and daemon["pid"] == pid
    assert os.getsid(pid) == pid  # its own session: no terminal, no signals from the shell
    assert os.readlink(f"/proc/{pid}/cwd") == "/"
    log = _state_dir(on_demand) / autostart.LOG_NAME
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert "event=ready" in log.read_text()
    # The daemon runs on after the client is gone; the next commands use it.
    creds = on_demand.ssod("credentials", "--profile", "dev")
    assert creds.returncode == errors.EXIT_LOGIN_REQUIRED, creds.stderr
    assert _autostarted(on_demand.runtime) == [pid]


def test_two_clients_at_once_start_one_daemon(on_demand: DaemonHarness) -> None:
    argv = [sys.executable, "-m", "ssod.client.cli"]
    clients = [
        subprocess.Popen(
            [*argv, *args],
            env=on_demand.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in (("credentials", "--profile", "dev"), ("env", "--profile", "dev"))
    ]
    results = [(c.wait(60), *c.communicate()) for c in clients]
    assert results[0][0] == errors.EXIT_LOGIN_REQUIRED, results[0]
    assert results[1][0] == 0 and "AWS_CONTAINER_CREDENTIALS_FULL_URI" in results[1][1]
    assert len(_autostarted(on_demand.runtime)) == 1
    log = (_state_dir(on_demand) / autostart.LOG_NAME).read_text()
    assert log.count("event=ready") == 1 and "already running" not in log


def test_exec_and_configure_start_one_too(on_demand: DaemonHarness) -> None:
    # The first commands a newcomer runs: with no daemon they start one, as login and env do.
    out = on_demand.ssod("exec", "--profile", "dev", "--no-login", "--", "true")
    assert out.returncode == errors.EXIT_LOGIN_REQUIRED, out.stderr  # not 3: the daemon answered
    [pid] = _autostarted(on_demand.runtime)
    for pid_ in _autostarted(on_demand.runtime):
        os.kill(pid_, signal.SIGTERM)
    wait_until(lambda: not _autostarted(on_demand.runtime), what="the daemon to stop")
    configure = on_demand.ssod(
        "configure",
        "--non-interactive",
        "--sso-session",
        "corp",
        "--account-id",
        "222222222222",
        "--role-name",
        "Admin",
        "--profile",
        "admin",
        "--region",
        "eu-west-1",
        "--use-device-code",
    )
    assert configure.returncode == 0, configure.stderr
    assert "[profile admin]" in on_demand.config_file.read_text()
    [second] = _autostarted(on_demand.runtime)
    assert second != pid


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("status", "--no-start"), {}),
        (("credentials", "--profile", "dev"), {"SSOD_NO_AUTOSTART": "1"}),
    ],
)
def test_no_start_keeps_exit_3(
    on_demand: DaemonHarness, args: tuple[str, ...], env: dict[str, str]
) -> None:
    out = on_demand.ssod(*args, env=env)
    assert out.returncode == errors.EXIT_NO_DAEMON, out.stderr
    assert "no ssod daemon" in out.stderr and "ssod service install" in out.stderr
    assert _autostarted(on_demand.runtime) == []
    assert not (_state_dir(on_demand) / autostart.LOG_NAME).exists()


def test_a_daemon_that_cannot_start_is_exit_3_with_its_reason(on_demand: DaemonHarness) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        out = on_demand.ssod("status", env={"SSOD_ECS_PORT": port})
    assert out.returncode == errors.EXIT_NO_DAEMON, out.stderr
    assert "exited with 1" in out.stderr and f"cannot listen on 127.0.0.1:{port}" in out.stderr
    assert autostart.LOG_NAME in out.stderr and "Traceback" not in out.stderr


def test_a_daemon_on_demand_beside_another_users_serves_on_a_port_of_its_own(
    on_demand: DaemonHarness,
) -> None:
    # Another user's daemon holds the port this one prefers (9179 outside tests): the first
    # command still gets a daemon, on this user's own port, and says which.
    del on_demand.env["SSOD_ECS_PORT"]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        on_demand.env["SSOD_ECS_PREFERRED_PORT"] = str(port)
        out = on_demand.ssod("status")
        assert out.returncode == 0, out.stderr
        kept = (_state_dir(on_demand) / "ecs-port").read_text().strip()
        assert int(kept) != port
        assert f"http://127.0.0.1:{kept}" in out.stdout


def test_a_service_takes_over_from_an_autostarted_daemon(on_demand: DaemonHarness) -> None:
    assert on_demand.ssod("status").returncode == 0
    assert len(_autostarted(on_demand.runtime)) == 1
    on_demand.start("--started-by", "service")  # returns once either daemon answers
    wait_until(lambda: not _autostarted(on_demand.runtime), timeout=15)
    wait_until(lambda: _started_by(on_demand) == "service", timeout=15, what="the service")
    assert on_demand.proc is not None and on_demand.proc.poll() is None
    assert "event=took_over from=autostart" in on_demand.log()
    # A daemon started by hand never pushes a running one aside.
    second = on_demand.ssod("daemon", "--started-by", "foreground", timeout=30)
    assert second.returncode == 1 and "already running" in second.stderr


def test_a_daemon_started_by_hand_at_the_same_moment_is_used(on_demand: DaemonHarness) -> None:
    by_hand = subprocess.Popen(
        [sys.executable, "-m", "ssod.client.cli", "daemon", "--started-by", "foreground"],
        env=on_demand.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        out = on_demand.ssod("status", "--json")
        assert out.returncode == 0, out.stderr
        # Whichever won the instance lock serves; the other one exited.
        wait_until(lambda: by_hand.poll() is not None or not _autostarted(on_demand.runtime))
        assert json.loads(out.stdout)["daemon"]["started_by"] in ("autostart", "foreground")
        assert _started_by(on_demand) in ("autostart", "foreground")
    finally:
        by_hand.terminate()
        by_hand.wait(15)


@pytest.mark.parametrize(
    ("no_start", "environ", "expected"),
    [
        (False, {}, True),
        (False, {"SSOD_NO_AUTOSTART": "0"}, True),
        (False, {"SSOD_NO_AUTOSTART": ""}, True),
        (False, {"SSOD_NO_AUTOSTART": "1"}, False),
        (False, {"SSOD_NO_AUTOSTART": "yes"}, False),
        (True, {}, False),
    ],
)
def test_enabled(no_start: bool, environ: dict[str, str], expected: bool) -> None:
    assert autostart.enabled(no_start, environ) is expected


def test_the_started_daemon_gets_absolute_paths_and_no_service_manager_variables() -> None:
    env = autostart.daemon_environment(
        {
            "AWS_CONFIG_FILE": "conf/aws",
            "SSOD_RUNTIME_DIR": "/run/x",
            "SSOD_STATE_DIR": "~/st",
            "NOTIFY_SOCKET": "/run/systemd/notify",
            "INVOCATION_ID": "abc",
            "LISTEN_FDS": "1",
            "AWS_PROFILE": "dev",
        },
        "/home/u/work",
    )
    assert env["AWS_CONFIG_FILE"] == "/home/u/work/conf/aws"
    assert env["SSOD_RUNTIME_DIR"] == "/run/x"
    assert env["SSOD_STATE_DIR"] == os.path.expanduser("~/st")
    assert env["AWS_PROFILE"] == "dev"
    assert not {"NOTIFY_SOCKET", "INVOCATION_ID", "LISTEN_FDS"} & env.keys()


def test_the_eks_plugin_starts_one_too(on_demand: DaemonHarness) -> None:
    # kubectl's first command after boot: the AWS CLI's argv from a kubeconfig, no daemon yet.
    argv = ["--region", "us-east-1", "eks", "get-token", "--cluster-name", "demo"]
    out = on_demand.ssod(*argv, env={"AWS_PROFILE": "dev"})
    assert out.returncode == errors.EXIT_LOGIN_REQUIRED, out.stderr  # not 3: the daemon answered
    assert out.stdout == "" and "ssod login" in out.stderr
    assert len(_autostarted(on_demand.runtime)) == 1


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("roles", "--sso-session", "corp"), errors.EXIT_LOGIN_REQUIRED),
        (("logout", "--sso-session", "corp"), 0),
        (("token", "list"), 0),
    ],
)
def test_roles_logout_and_token_start_one_too(
    on_demand: DaemonHarness, args: tuple[str, ...], code: int
) -> None:
    refused = on_demand.ssod(*args, "--no-start")
    assert refused.returncode == errors.EXIT_NO_DAEMON, refused.stderr
    assert _autostarted(on_demand.runtime) == []
    out = on_demand.ssod(*args)
    assert out.returncode == code, out.stderr  # the daemon answered
    assert len(_autostarted(on_demand.runtime)) == 1
