"""``ssod token rotate``: replace the ECS endpoint's authorization token.

The daemon writes the new token to its token file at once; this prints what shells must do
(re-run ``ssod env``) and never prints the token itself.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod token`` (with its one action, ``rotate``) to the command line."""
    p = sub.add_parser(
        "token",
        help="manage the ECS endpoint's authorization token",
        description="Manage the authorization token of the daemon's ECS endpoint.",
    )
    actions = p.add_subparsers(dest="token_action", metavar="ACTION")
    rotate = actions.add_parser(
        "rotate",
        help="replace the token (shells must run `ssod env` again)",
        description=(
            "Replace the ECS endpoint's authorization token. Tools that read "
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE follow by themselves; shells that exported "
            'AWS_CONTAINER_AUTHORIZATION_TOKEN must run eval "$(ssod env)" again.'
        ),
    )
    rotate.set_defaults(handler=_rotate)

    def usage(_args: argparse.Namespace) -> int:
        from ssod.errors import EXIT_USAGE

        p.print_help(sys.stderr)
        return EXIT_USAGE

    p.set_defaults(handler=usage)


def _rotate(args: argparse.Namespace) -> int:
    from ssod.client.common import run_command

    return run_command(_main, args)


def _main(args: argparse.Namespace) -> int:
    from ssod.client import common, render
    from ssod.wire import Op

    with common.connect() as client:
        endpoint = client.request(Op.ROTATE_TOKEN)
    print(render.rotated_text(endpoint))
    return 0
