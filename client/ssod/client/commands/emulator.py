"""``ssod emulator``: arguments and help only; the emulator lives in ``ssod.emulator`` (aiohttp).

The help is where users look for the ``--data`` format and the control API, so both are in its
epilog (``ssod.emulator.data`` and ``ssod.emulator.control`` own them; a test keeps them equal).
"""

from __future__ import annotations

import argparse
from typing import Any

EPILOG = """\
default directory (without --data):
  user user@example.com; accounts 111111111111 (dev) and 222222222222 (prod),
  each with the roles ReadOnly and Admin

--data FILE (JSON; every user gets every account's roles):
  {"users": ["user@example.com"],
   "accounts": [{"id": "111111111111", "name": "dev", "email": "dev@example.com",
                 "roles": ["ReadOnly", "Admin"]}],
   "external_ids": {"arn:aws:iam::222222222222:role/Deploy": "s3cret"},
   "clusters": ["demo"]}
  clusters names the EKS clusters (DescribeCluster; each gets a Kubernetes API stub).

control API (JSON over HTTP, under the printed URL):
  GET    /_emulator/health          {"status": "ok"}
  GET    /_emulator/calls           {"CreateToken": 3, "CreateToken:refresh_token": 1, ...}
  POST   /_emulator/calls/reset     (the peaks too)
  GET    /_emulator/peaks           {"ListAccountRoles": 8, ...}: the most calls answered at once
  POST   /_emulator/approve         {"user_code"?, "user"?}  -> {"approved": n}
  POST   /_emulator/deny            {"user_code"?}           -> {"denied": n}
  GET    /_emulator/faults          POST (a rule or a list of rules)   DELETE
  POST   /_emulator/revoke          {"access_token"? | "refresh_token"?, "end_session"?}
  POST   /_emulator/forget-clients                           -> {"forgotten": n}
  GET    /_emulator/settings        POST {setting: value, ...} -> all settings
  POST   /_emulator/clock           {"advance": seconds}     -> {"now": epoch}
"""


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod emulator`` to the command line."""
    p = sub.add_parser(
        "emulator",
        help="run the IAM Identity Center emulator (sso-oidc, portal, STS) for offline use",
        description=(
            "Serve an IAM Identity Center emulator (sso-oidc, the SSO portal, STS and the console "
            "federation endpoint) over HTTP on loopback, for offline use, demos and tests. It "
            "prints the AWS_ENDPOINT_URL_* lines to use (start the ssod daemon from a shell "
            "that has them). Any https start URL and any region work; sign-ins are approved by "
            "themselves after a second (--no-auto-approve: wait for the control API). Its state "
            "(tokens, sessions) is in memory and ends with it."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    p.add_argument("--port-file", metavar="PATH", help="write the bound port to PATH")
    p.add_argument(
        "--env-file",
        metavar="PATH",
        help="write the export lines to PATH too, all at once, when it listens",
    )
    p.add_argument(
        "--data", metavar="FILE", help="JSON directory of users, accounts and roles (below)"
    )
    p.add_argument(
        "--token-lifetime",
        type=int,
        metavar="SECONDS",
        help="access-token lifetime (default 28800)",
    )
    p.add_argument(
        "--refresh-rotation",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="issue a new refresh token on each refresh (default: on)",
    )
    p.add_argument(
        "--credential-lifetime",
        type=int,
        metavar="SECONDS",
        help="role-credential lifetime (default 3600)",
    )
    p.add_argument(
        "--no-auto-approve",
        action="store_true",
        help="wait for approval on the verification page or the control API",
    )
    p.add_argument(
        "--approve-delay",
        type=float,
        metavar="SECONDS",
        help="how long a device code stays pending before auto-approval (default 1)",
    )
    p.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="latency added to every AWS call (default 0)",
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ssod.emulator.main import run

    return run(args)
