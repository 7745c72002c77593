"""``ssod docker setup`` and ``ssod docker env``: credentials for bridged containers.

``setup`` creates the container network whose host side is 169.254.170.2 (``containers``),
or prints the exact commands (``--dry-run``, or when it cannot run them: docker missing, or
not root and no access to docker's socket), then says whether the daemon serves that
address. ``env`` issues a scoped token for one profile and prints (or writes, 0600, with
``--env-file``) the env file a container on that network needs; how to pass it to
``docker run`` and compose goes to stderr. The token never goes into a process argument.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from ssod.client import common
from ssod.client.commands.token import add_name_argument, add_ttl_argument


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod docker`` (setup, env) to the command line."""
    from ssod.client.output import containers

    p = sub.add_parser(
        "docker",
        help="give bridged containers fresh credentials (setup, env)",
        description=(
            f"Containers on a network whose gateway is {containers.CONTAINER_ADDRESS} reach the "
            "daemon there, with a scoped token for one profile."
        ),
    )
    actions = p.add_subparsers(dest="docker_action", metavar="ACTION")
    setup = actions.add_parser(
        "setup",
        help=f"create the container network with gateway {containers.CONTAINER_ADDRESS}",
        description=(
            f"Create a bridge network with subnet {containers.CONTAINER_SUBNET} and gateway "
            f"{containers.CONTAINER_ADDRESS} (the ECS agent's address, which every SDK accepts "
            "over http). The daemon serves that address as soon as the bridge exists. Needs "
            "docker access (root or the docker group); otherwise the commands are printed."
        ),
    )
    _common(setup)
    setup.add_argument("--dry-run", action="store_true", help="print the commands, change nothing")
    setup.set_defaults(handler=common.handler(_setup))

    env = actions.add_parser(
        "env",
        help="print (or write) a container's env file with a scoped token",
        description=(
            "Issue a scoped token for PROFILE and print the env file a container on the "
            "network needs: AWS_CONTAINER_CREDENTIALS_FULL_URI, "
            "AWS_CONTAINER_AUTHORIZATION_TOKEN and the profile's region. Use it as "
            "`docker run --network ssod --env-file <(ssod docker env --profile dev) IMAGE`, "
            "or write it for compose with --env-file."
        ),
    )
    _common(env)
    env.add_argument("--profile", metavar="NAME", required=True, help="the profile to serve")
    add_ttl_argument(env)
    add_name_argument(env)
    env.add_argument(
        "--env-file", metavar="PATH", default=None, help="write the file here (0600) instead"
    )
    common.add_no_start_argument(env)
    env.set_defaults(handler=common.handler(_env))

    p.set_defaults(handler=common.usage(p))


def _common(parser: argparse.ArgumentParser) -> None:
    from ssod.client.output import containers

    parser.add_argument(
        "--network",
        default=containers.DEFAULT_NETWORK,
        help=f"network name (default {containers.DEFAULT_NETWORK})",
    )
    parser.add_argument(
        "--engine", default="docker", choices=containers.ENGINES, help="docker or podman"
    )


def _setup(args: argparse.Namespace) -> int:
    import os
    import shutil
    import subprocess

    from ssod.client.output import containers

    create = containers.network_create_argv(args.engine, args.network)
    sudo = os.geteuid() != 0
    if args.dry_run:
        print(containers.shell_line(create, root=sudo))
        return 0
    binary = shutil.which(args.engine)
    if binary is None:
        print(f"ssod: {args.engine} is not installed (or not on PATH); once it is, run:")
        print("  " + containers.shell_line(create, root=sudo))
        return 1
    if sudo and args.engine == "docker" and not _docker_reachable():
        print("ssod: you cannot reach docker's socket (not root, not in the docker group); run:")
        print("  " + containers.shell_line(create, root=True))
        return 1
    inspect = containers.network_inspect_argv(args.engine, args.network)
    found = subprocess.run(inspect, capture_output=True, text=True, check=False, timeout=60)
    if found.returncode == 0:
        subnet = found.stdout.strip()
        if subnet != containers.CONTAINER_SUBNET:
            print(
                f"ssod: network {args.network} exists with subnet {subnet or 'none'}, not "
                f"{containers.CONTAINER_SUBNET}; remove it (`{args.engine} network rm "
                f"{args.network}`) or pick another --network"
            )
            return 1
        print(f"Network {args.network} exists with gateway {containers.CONTAINER_ADDRESS}.")
    else:
        print("+ " + containers.shell_line(create, root=False))
        made = subprocess.run(create, check=False, timeout=120)
        if made.returncode != 0:
            return 1
    print(_daemon_note(args.network))
    return 0


def _docker_reachable() -> bool:
    import os

    host = os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        return True  # a remote or TCP daemon: let docker itself decide
    path = host.removeprefix("unix://") or "/var/run/docker.sock"
    return os.access(path, os.R_OK | os.W_OK)


def _daemon_note(network: str) -> str:
    from ssod.client import common
    from ssod.client.output import containers
    from ssod.errors import DaemonUnavailable
    from ssod.wire import Op

    try:
        with common.connect(timeout=5.0) as client:
            endpoint = client.request(Op.ENDPOINT)
    except DaemonUnavailable:
        return "No daemon is running; once one is, it serves the network's gateway too."
    if serves_containers(endpoint):
        return (
            f"The daemon serves containers on {network} at "
            f"http://{containers.CONTAINER_ADDRESS}:{endpoint.get('port')}. Next: "
            "ssod docker env --profile NAME"
        )
    if containers.CONTAINER_ADDRESS in _strs(endpoint.get("waiting")):
        return (
            f"The daemon serves {containers.CONTAINER_ADDRESS} within seconds of the bridge "
            "coming up (docker creates it at once, or when its daemon starts)."
        )
    return (
        f"The daemon is not configured to serve {containers.CONTAINER_ADDRESS}: restart it "
        "without --ecs-listen/SSOD_ECS_LISTEN, or include that address there."
    )


def _env(args: argparse.Namespace) -> int:
    from ssod.client import common
    from ssod.client.commands.token import issue_token
    from ssod.client.output import containers
    from ssod.wire import Op

    with common.connect(start=common.wants_start(args)) as client:
        endpoint = client.request(Op.ENDPOINT)
        status = client.request(Op.STATUS)
    profiles = {str(p.get("name")): p for p in common.dicts(status.get("profiles"))}
    region = profiles.get(args.profile, {}).get("region")
    issued = issue_token(args.profile, args.ttl, args.name)
    url = containers.container_url(int(str(endpoint["port"])), args.profile)
    text = containers.env_file_text(url, str(issued["token"]), str(region) if region else None)
    if args.env_file:
        write_private(args.env_file, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    print(
        f"Scoped token {issued['id']} for profile {args.profile} expires "
        f"{issued['expires_at']}; revoke: ssod token revoke {issued['id']}",
        file=sys.stderr,
    )
    print(containers.usage_text(args.engine, args.network, args.env_file, args.profile),
          file=sys.stderr)  # fmt: skip
    if not serves_containers(endpoint):
        print(
            f"ssod: warning: the daemon does not serve {containers.CONTAINER_ADDRESS} yet: "
            "run `ssod docker setup`",
            file=sys.stderr,
        )
    return 0


def _strs(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def serves_containers(endpoint: Mapping[str, object]) -> bool:
    """Does the daemon's ENDPOINT reply list the container address among those it serves?"""
    from ssod.client.output import containers

    return any(f"//{containers.CONTAINER_ADDRESS}:" in u for u in _strs(endpoint.get("urls")))


def write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically, mode 0600 (it holds a token)."""
    import os

    from ssod import atomicfile
    from ssod.errors import SsodError

    target = os.path.abspath(os.path.expanduser(path))
    try:
        atomicfile.write(target, text.encode())
    except OSError as err:
        raise SsodError(f"cannot write {target}: {err.strerror or err}") from None
