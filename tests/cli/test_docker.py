"""``ssod docker setup|env`` and the daemon's listen-address flags, without root or Docker.

Docker is not running here: ``setup`` is tested up to the command it would run (``--dry-run``)
and for a machine without docker. The containers themselves are in tests/network.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from harness import DaemonHarness
from ssod.client.output import containers
from ssod.wire import Op

CREATE = (
    "docker network create --driver bridge --subnet 169.254.170.0/24 --gateway 169.254.170.2 "
    "--opt com.docker.network.bridge.name=ssod0 ssod"
)


def test_setup_dry_run_prints_the_exact_command(ssod_daemon: DaemonHarness) -> None:
    out = ssod_daemon.ssod("docker", "setup", "--dry-run")
    assert out.returncode == 0, out.stderr
    sudo = "" if os.geteuid() == 0 else "sudo "
    assert out.stdout == sudo + CREATE + "\n"
    podman = ssod_daemon.ssod(
        "docker", "setup", "--dry-run", "--engine", "podman", "--network", "x"
    )
    assert podman.stdout.strip().endswith(
        "podman network create --driver bridge --subnet 169.254.170.0/24 --gateway "
        "169.254.170.2 --interface-name ssod0 x"
    )


def test_setup_without_docker_says_what_to_run(ssod_daemon: DaemonHarness, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    out = ssod_daemon.ssod("docker", "setup", env={"PATH": str(empty)})
    assert out.returncode == 1
    assert "docker is not installed" in out.stdout and CREATE in out.stdout


def test_env_prints_a_scoped_env_file_for_the_container_address(
    ssod_daemon: DaemonHarness, tmp_path: Path
) -> None:
    ssod_daemon.start()
    port = ssod_daemon.request(Op.ENDPOINT)["port"]
    out = ssod_daemon.ssod("docker", "env", "--profile", "prod", "--ttl", "1h", "--name", "app")
    assert out.returncode == 0, out.stderr
    lines = dict(line.split("=", 1) for line in out.stdout.splitlines())
    assert lines["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == (
        f"http://169.254.170.2:{port}/credentials/prod"
    )
    assert lines["AWS_REGION"] == lines["AWS_DEFAULT_REGION"] == "eu-west-1"
    token = lines["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    listed = ssod_daemon.request(Op.LIST_TOKENS)["tokens"]
    assert [(t["id"], t["name"], t["profile"]) for t in listed] == [
        (token.split(".")[1], "app", "prod")
    ]
    assert "--network ssod --env-file <(ssod docker env --profile prod)" in out.stderr
    assert token not in out.stderr
    if containers.CONTAINER_ADDRESS not in str(ssod_daemon.request(Op.ENDPOINT)["urls"]):
        assert "run `ssod docker setup`" in out.stderr

    path = tmp_path / "app.env"
    written = ssod_daemon.ssod("docker", "env", "--profile", "dev", "--env-file", str(path))
    assert written.returncode == 0, written.stderr
    assert written.stdout == ""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.2:")
    assert f"env_file: {path}" in written.stderr


def test_env_for_an_unknown_profile_issues_nothing(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    out = ssod_daemon.ssod("docker", "env", "--profile", "nope")
    assert out.returncode == 5
    assert out.stdout == ""
    assert ssod_daemon.request(Op.LIST_TOKENS) == {"tokens": []}


def test_listen_addresses_other_than_loopback_and_link_local_are_refused(
    ssod_daemon: DaemonHarness,
) -> None:
    for flag, value in [
        ("--ecs-listen", "127.0.0.1,192.168.1.10"),
        ("--ecs-listen", "0.0.0.0"),
        ("--imds-listen", "127.0.0.1,10.0.0.1"),
    ]:
        args = [flag, value] + (["--imds-profile", "dev"] if flag == "--imds-listen" else [])
        out = ssod_daemon.ssod("daemon", *args, timeout=30)
        assert out.returncode == 2, (flag, value, out.stderr)
        assert "is refused" in out.stderr and "link-local" in out.stderr
    env = ssod_daemon.ssod("daemon", env={"SSOD_ECS_LISTEN": "fd00:ec2::23"}, timeout=30)
    assert env.returncode == 2 and "SSOD_ECS_LISTEN" in env.stderr
    alone = ssod_daemon.ssod("daemon", "--imds-port", "9999", timeout=30)
    assert alone.returncode == 2 and "--imds-profile" in alone.stderr


def test_only_loopback_serves_when_the_container_address_is_left_out(
    ssod_daemon: DaemonHarness,
) -> None:
    ssod_daemon.start("--ecs-listen", "127.0.0.1")
    endpoint = ssod_daemon.request(Op.ENDPOINT)
    assert endpoint["urls"] == [endpoint["url"]] and endpoint["waiting"] == []
