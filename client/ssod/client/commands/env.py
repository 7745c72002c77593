"""``ssod env``: the lines that point a shell's AWS SDKs at the daemon's ECS endpoint.

Prints ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` for one profile, the token file and the token
(and the profile's region as ``AWS_REGION``/``AWS_DEFAULT_REGION`` when it has one), quoted for
sh, fish or PowerShell, to stdout only (the token never goes into another process's
argv). Other variables are left alone, but when one of them would win over the endpoint in
botocore's credential chain (environment keys, a profile with its own SSO settings, the
relative container URI) a comment says so.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ssod.client.output.env import SHELL_CHOICES, USAGE, Served, render, served_from, usage_line

if TYPE_CHECKING:
    import argparse

    from ssod.client.ipc import IpcClient


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod env`` to the command line."""
    p = sub.add_parser(
        "env",
        help="print shell lines that point AWS SDKs at the daemon",
        description=(
            "Print the AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE "
            "and AWS_CONTAINER_AUTHORIZATION_TOKEN lines for a profile. Use: "
            + "; ".join(usage_line(name, None) for name in USAGE)
        ),
    )
    p.add_argument(
        "--profile", metavar="NAME", help="profile to serve (default: $AWS_PROFILE, then default)"
    )
    p.add_argument(
        "--shell",
        default="sh",
        choices=SHELL_CHOICES,
        help="syntax to print (default sh; bash and zsh are sh)",
    )
    p.add_argument(
        "--remote",
        action="store_true",
        help=(
            "print the lines for a remote shell reached with `ssh -R` (the forwarded port and a "
            "fresh scoped token for the profile) and the ssh options to use"
        ),
    )
    from ssod.client.commands.token import add_name_argument, add_ttl_argument

    add_ttl_argument(p)
    add_name_argument(p)
    from ssod.client.common import add_no_start_argument

    add_no_start_argument(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ssod.client.common import run_command

    return run_command(_main, args)


def _main(args: argparse.Namespace) -> int:
    import os

    from ssod.client import common
    from ssod.client.output import shell
    from ssod.wire import Op

    if not args.remote and (args.ttl is not None or args.name is not None):
        from ssod.errors import BadRequest

        raise BadRequest("--ttl and --name go with --remote (they describe its scoped token)")
    with common.connect(start=common.wants_start(args)) as client:
        endpoint = client.request(Op.ENDPOINT)
        status = client.request(Op.STATUS)
    if args.remote:
        from ssod.client.commands.token import issue_token

        profile = args.profile or common.default_profile()
        served = served_from(endpoint, status, profile, named=bool(args.profile))
        issued = issue_token(profile, args.ttl, args.name)
        print(
            shell.remote_env_text(
                served.endpoint, issued, profile, args.shell, region=served.region
            )
        )
        return 0
    out, notes = render(endpoint, status, args.profile, args.shell, os.environ, sys.stdout.isatty())
    print(out)
    for note in notes:
        print(note, file=sys.stderr)
    return 0


def lookup(client: IpcClient, profile: str, *, named: bool) -> Served:
    """The endpoint and region for ``profile``; ``ProfileNotFound`` if the daemon does not serve it.

    ``named``: the profile came from ``--profile`` (otherwise the hint says how to name one).
    """
    from ssod.wire import Op

    endpoint = client.request(Op.ENDPOINT)
    return served_from(endpoint, client.request(Op.STATUS), profile, named=named)
