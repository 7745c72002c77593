"""``ssod logout``: sign one session (or ``--all``) out through the daemon.

Unlike ``aws sso logout``, which logs out of everything, this acts per session. The daemon
revokes the token at the portal, deletes its cache file and the AWS CLI's cached role
credentials of that session, and forgets its role credentials; this prints what was done.
"""

from __future__ import annotations

import argparse
from typing import Any

from ssod.client.common import add_no_start_argument, add_target_arguments

#: The daemon calls the portal's Logout for each session.
LOGOUT_TIMEOUT = 30.0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod logout`` to the command line."""
    p = sub.add_parser(
        "logout",
        help="sign out of an SSO session (revoke, delete its cached token and credentials)",
        description=(
            "Sign out of one SSO session (default: the session of $AWS_PROFILE, then of the "
            "default profile) or of all of them: revoke the token, delete its file in "
            "~/.aws/sso/cache and the session's role credentials in ~/.aws/cli/cache."
        ),
    )
    add_target_arguments(p, allow_all=True)
    add_no_start_argument(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ssod.client.common import run_command

    return run_command(_main, args)


def _main(args: argparse.Namespace) -> int:
    from ssod.client import common
    from ssod.client.output import render
    from ssod.wire import Op

    with common.connect(LOGOUT_TIMEOUT, start=common.wants_start(args)) as client:
        if args.all:
            result = client.request(Op.LOGOUT, all=True)
        else:
            target = common.resolve_target(client, common.target_from_args(args))
            result = client.request(Op.LOGOUT, **target.args())
    print(render.logout_text(result))
    return 0
