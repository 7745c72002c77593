"""What ``ssod docker`` prints and runs: the container network, the env file, the usage lines.

Pure. Bridged containers have their own loopback, and the SDKs accept an http
``AWS_CONTAINER_CREDENTIALS_FULL_URI`` only for loopback, ``169.254.170.2``,
``169.254.170.23`` and ``fd00:ec2::23`` (docs/protocols.md §6), so ssod gives containers the ECS
agent's own address: a container network whose gateway (the host side of its bridge) is
``169.254.170.2``, which the daemon serves as soon as it exists. Containers on that network
reach the endpoint; containers on other networks do not. The env file carries a scoped token
(one profile, a lifetime), never the main token.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

CONTAINER_ADDRESS: Final = "169.254.170.2"
CONTAINER_SUBNET: Final = "169.254.170.0/24"
DEFAULT_NETWORK: Final = "ssod"
#: A fixed bridge name, so firewall rules and `ip addr show ssod0` find it.
BRIDGE_NAME: Final = "ssod0"
ENGINES: Final = ("docker", "podman")


def network_create_argv(engine: str, network: str) -> list[str]:
    """``docker network create`` for a bridge whose host side is 169.254.170.2."""
    argv = [engine, "network", "create", "--driver", "bridge"]
    argv += ["--subnet", CONTAINER_SUBNET, "--gateway", CONTAINER_ADDRESS]
    if engine == "docker":
        argv += ["--opt", f"com.docker.network.bridge.name={BRIDGE_NAME}"]
    else:
        argv += ["--interface-name", BRIDGE_NAME]
    return [*argv, network]


def network_inspect_argv(engine: str, network: str) -> list[str]:
    """The command that says whether ``network`` exists (exit 0) and what its subnet is."""
    return [engine, "network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
            network]  # fmt: skip


def shell_line(argv: list[str], *, root: bool) -> str:
    """``argv`` as a line to paste into a shell (``sudo`` first when it needs root)."""
    import shlex

    return ("sudo " if root else "") + shlex.join(argv)


def container_url(port: int, profile: str) -> str:
    """``AWS_CONTAINER_CREDENTIALS_FULL_URI`` as seen from a container on the network."""
    return f"http://{CONTAINER_ADDRESS}:{port}/credentials/{quote(profile, safe='')}"


def env_file_text(url: str, token: str, region: str | None) -> str:
    """A ``docker run --env-file`` / compose ``env_file`` file: ``NAME=VALUE`` lines, no quotes.

    Docker takes everything after the first ``=`` literally, so nothing here is quoted; the URL
    and the token contain no newline or ``#``.
    """
    lines = [
        f"AWS_CONTAINER_CREDENTIALS_FULL_URI={url}",
        f"AWS_CONTAINER_AUTHORIZATION_TOKEN={token}",
    ]
    if region:
        lines += [f"AWS_REGION={region}", f"AWS_DEFAULT_REGION={region}"]
    return "\n".join(lines) + "\n"


def usage_text(engine: str, network: str, env_file: str | None, profile: str) -> str:
    """How to hand the file to ``docker run`` and to compose (for stderr)."""
    source = env_file or f"<(ssod docker env --profile {profile})"
    compose_file = env_file or "ssod-" + profile + ".env"
    return "\n".join(
        [
            f"Run containers on the {network} network with this env file:",
            f"  {engine} run --network {network} --env-file {source} IMAGE ...",
            f"Docker compose (write the file with --env-file {compose_file} first):",
            "  services:",
            "    app:",
            f"      env_file: {compose_file}",
            f"      networks: [{network}]",
            "  networks:",
            f"    {network}:",
            "      external: true",
        ]
    )
