"""``ssod emulator``: arguments only; the emulator itself lives in ``ssod.emulator`` (aiohttp)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod emulator`` to the command line."""
    p = sub.add_parser(
        "emulator",
        help="run the IAM Identity Center emulator (sso-oidc, portal, STS) for offline use",
        description=(
            "Serve an IAM Identity Center emulator (sso-oidc, the SSO portal, STS and the console "
            "federation endpoint) over HTTP, for offline use, demos and tests. Prints the "
            "AWS_ENDPOINT_URL_* settings to use."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    p.add_argument("--port-file", metavar="PATH", help="write the bound port to PATH")
    p.add_argument("--data", metavar="FILE", help="JSON directory of users, accounts and roles")
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
