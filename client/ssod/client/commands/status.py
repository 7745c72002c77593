"""``ssod status``: the daemon, every session and every served profile, at a glance or as JSON.

Rendering lives in ``render`` (the JSON keys are documented there); this only asks the daemon.
Colour only on a terminal without NO_COLOR.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod status`` to the command line."""
    p = sub.add_parser(
        "status",
        help="show the daemon, its sessions and its profiles",
        description=(
            "Show the daemon (version, ECS endpoint, uptime), every SSO session (state, token "
            "expiry, refresh) and every profile it serves (account, role, credential expiry)."
        ),
    )
    p.add_argument("--json", action="store_true", help="machine-readable output (stable keys)")
    from ssod.client.common import add_no_start_argument

    add_no_start_argument(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ssod.client.common import run_command

    return run_command(_main, args)


def _main(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from ssod.client import common
    from ssod.client.output import render
    from ssod.wire import Op

    with common.connect(start=common.wants_start(args)) as client:
        status = client.request(Op.STATUS)
    if args.json:
        print(render.status_json(status))
    else:
        print(render.status_text(status, datetime.now(UTC), color=common.use_color()))
    return 0
