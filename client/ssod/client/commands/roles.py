"""``ssod roles``: every account and role a session can use, as a table or as JSON.

The daemon lists them with the session's token (the portal's ListAccounts and
ListAccountRoles); the table also names the profiles already configured for each role.
``fetch_roles`` is the one way to get the listing, for other commands too.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ssod.client.common import add_json_arguments, add_no_start_argument, add_target_arguments
from ssod.client.configure import roles_profiles

if TYPE_CHECKING:
    from ssod.client.common import Target
    from ssod.client.ipc import IpcClient
    from ssod.replies import RolesReply

#: One portal call per account: large organizations take a while.
ROLES_TIMEOUT = 120.0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod roles`` to the command line."""
    p = sub.add_parser(
        "roles",
        help="list the accounts and roles an SSO session can use",
        description=(
            "List every account and role the SSO session can use (default: the session of "
            "$AWS_PROFILE, then of the default profile), with the profiles configured for each."
        ),
    )
    add_target_arguments(p)
    add_json_arguments(p)
    add_no_start_argument(p)
    roles_profiles.add_arguments(p)
    p.set_defaults(handler=_run)


def fetch_roles(client: IpcClient, target: Target) -> RolesReply:
    """The daemon's roles listing for ``target``: session, start_url, region, accounts."""
    from ssod.wire import Op

    return client.request(Op.ROLES, **target.args())


def _run(args: argparse.Namespace) -> int:
    from ssod.client.common import run_command

    return run_command(_main, args)


def _main(args: argparse.Namespace) -> int:
    from ssod.client import common
    from ssod.client.output import render
    from ssod.wire import Op

    with common.connect(ROLES_TIMEOUT, start=common.wants_start(args)) as client:
        target = common.resolve_target(client, common.target_from_args(args))
        roles = fetch_roles(client, target)
        if args.write_profiles:
            return roles_profiles.run(client, roles, args)
        if args.json:
            print(render.roles_json(roles))
            return 0
        status = client.request(Op.STATUS)
    profiles = [
        p for p in common.dicts(status.get("profiles")) if p.get("session") == roles.get("session")
    ]
    print(render.roles_text(roles, profiles, color=common.use_color()))
    return 0
