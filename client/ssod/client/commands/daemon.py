"""``ssod daemon``: arguments only; the daemon itself lives in ``ssod.daemon`` (aiohttp, zmq)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod daemon`` to the command line."""
    p = sub.add_parser(
        "daemon",
        help="run the credential daemon in the foreground",
        description=(
            "Run the ssod daemon in the foreground: keep every SSO session fresh and serve "
            "credentials over the ECS endpoint on 127.0.0.1 and over IPC. Usually started by "
            "`ssod service install`."
        ),
    )
    p.add_argument(
        "--ecs-port",
        type=int,
        default=None,
        help="ECS endpoint port on 127.0.0.1, exactly (default $SSOD_ECS_PORT, else 9179 when "
        "free, else a port of your own kept in the state dir; 0 picks a free one)",
    )
    p.add_argument(
        "--ecs-listen",
        metavar="ADDR[,ADDR]",
        default=None,
        help=(
            "addresses the ECS endpoint serves: 127.0.0.1 and link-local ones, which are served "
            "while they exist on this host (default $SSOD_ECS_LISTEN or 127.0.0.1,169.254.170.2)"
        ),
    )
    p.add_argument(
        "--imds-profile",
        metavar="NAME",
        default=None,
        help="serve this profile over an IMDSv2 endpoint (default $SSOD_IMDS_PROFILE; off)",
    )
    p.add_argument(
        "--imds-port",
        type=int,
        default=None,
        help="IMDS endpoint port (default $SSOD_IMDS_PORT or 9180; 0 picks a free one)",
    )
    p.add_argument(
        "--imds-listen",
        metavar="ADDR[,ADDR]",
        default=None,
        help=(
            "addresses the IMDS endpoint serves (default $SSOD_IMDS_LISTEN or 127.0.0.1; add "
            "169.254.170.2 for containers: IMDS has no token, every container there gets it)"
        ),
    )
    p.add_argument(
        "--runtime-dir",
        default=None,
        help="directory for the IPC socket (default $SSOD_RUNTIME_DIR or $XDG_RUNTIME_DIR/ssod)",
    )
    p.add_argument(
        "--token-margin",
        type=float,
        default=None,
        metavar="SECONDS",
        help="refresh SSO tokens this long before expiry (default $SSOD_TOKEN_MARGIN or 1200)",
    )
    p.add_argument(
        "--credential-margin",
        type=float,
        default=None,
        metavar="SECONDS",
        help="never serve role credentials with less left (default $SSOD_CREDENTIAL_MARGIN or 900)",
    )
    p.add_argument("--no-notify", action="store_true", help="no desktop notifications")
    p.add_argument(
        "--started-by",
        choices=("service", "autostart", "foreground"),
        default=None,
        help=(
            "how this daemon was started, shown by `ssod status` (default: service under "
            "systemd or launchd, else foreground); a service takes over from an autostarted one"
        ),
    )
    p.add_argument(
        "--token-store",
        choices=("shared", "keyring", "memory"),
        default=None,
        help=(
            "where refresh tokens and client secrets live: shared (the AWS CLI's cache, as the "
            "CLI keeps it), keyring (the OS keyring; cache files keep only short-lived tokens) or "
            "memory (nothing long-lived persisted; a restart needs a login). Default "
            "$SSOD_TOKEN_STORE or shared"
        ),
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="log level (default info); no secret is logged at any level",
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ssod.daemon.main import run

    return run(args)
