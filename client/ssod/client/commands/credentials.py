"""``ssod credentials``: one profile's role credentials, by default as credential_process output.

This is on the path of every tool that uses ``credential_process = ssod credentials --profile
NAME``. The console script answers the usual argument shapes without this module at all
(``ssod.client.fastpath``; the daemon renders with ``shell.credentials_text`` there too); this
full path imports only the IPC client and ``shell`` (json) and asks the daemon once. The
credentials go to stdout only; errors go to stderr, where botocore quotes them.
"""

from __future__ import annotations

import argparse
from typing import Any

#: The daemon answers from memory, or fetches within a few seconds (AWS retries included).
CREDENTIALS_TIMEOUT = 15.0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod credentials`` to the command line."""
    p = sub.add_parser(
        "credentials",
        help="print a profile's role credentials (credential_process format by default)",
        description=(
            "Print the role credentials of an SSO profile, from the daemon. The default format "
            "is what credential_process expects, so a profile can say: "
            "credential_process = ssod credentials --profile NAME"
        ),
    )
    p.add_argument(
        "--profile",
        metavar="NAME",
        help="the profile to serve (default: $AWS_PROFILE, then default)",
    )
    p.add_argument(
        "--format",
        default="process",
        choices=("process", "env", "json"),
        help="process: credential_process JSON (default); env: sh export lines; json: everything",
    )
    from ssod.client.common import add_no_start_argument

    add_no_start_argument(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ssod.client.common import run_command

    return run_command(_main, args)


def _main(args: argparse.Namespace) -> int:
    from ssod.client.common import connect, default_profile, wants_start
    from ssod.client.output.shell import credentials_text
    from ssod.wire import Op

    with connect(CREDENTIALS_TIMEOUT, start=wants_start(args)) as client:
        creds = client.request(
            Op.CREDENTIALS, profile=default_profile() if args.profile is None else args.profile
        )
    print(credentials_text(creds, args.format))
    return 0
