"""``ssod status``: the daemon, every session and every served profile, at a glance or as JSON.

Rendering lives in ``render`` (the JSON keys are documented there); this only asks the daemon,
fits the text to the terminal (``COLUMNS``, else the terminal's width, else 80) and says when
this shell's ``AWS_ENDPOINT_URL*`` differ from the daemon's. ``--check`` is for scripts: exit
0 when a session's token is usable, 4 when it needs a login. Colour only on a terminal
without NO_COLOR.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from ssod.client.common import Target


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod status`` to the command line."""
    p = sub.add_parser(
        "status",
        help="show the daemon, its sessions and its profiles",
        description=(
            "Show the daemon (version, ECS endpoint, uptime), every SSO session (state, token "
            "expiry, refresh) and every profile it serves (account, role, credential expiry). "
            "With --check: exit 0 if the session (of --profile, --sso-session, else "
            "$AWS_PROFILE, then default) is logged in, 4 if it needs a login."
        ),
    )
    from ssod.client.common import add_json_arguments, add_no_start_argument, add_target_arguments

    add_json_arguments(p)
    p.add_argument(
        "--check",
        action="store_true",
        help="only say whether the session needs a login: exit 0 if not, 4 if it does",
    )
    add_target_arguments(p)
    add_no_start_argument(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ssod.client.common import run_command

    return run_command(_main, args)


def _main(args: argparse.Namespace) -> int:
    import os
    import shutil
    import sys
    from datetime import UTC, datetime

    from ssod.client import common
    from ssod.client.output import render
    from ssod.errors import UsageError
    from ssod.wire import Op

    if not args.check and (args.profile or args.sso_session):
        raise UsageError("--profile and --sso-session go with --check")
    with common.connect(start=common.wants_start(args)) as client:
        if args.check:
            target = common.resolve_target(client, common.target_from_args(args))
        status = client.request(Op.STATUS)
    note = common.endpoints_note(status)
    if note is not None:
        print(f"Note: {note}", file=sys.stderr)
    now = datetime.now(UTC)
    if args.check:
        return _check(status, target, now)
    if args.json:
        print(render.status_json(status))
        return 0
    columns = shutil.get_terminal_size((0, 0)).columns if sys.stdout.isatty() else None
    width = render.terminal_width(os.environ, columns)
    print(render.status_text(status, now, color=common.use_color(), width=width))
    return 0


def _check(status: Mapping[str, Any], target: Target, now: datetime) -> int:
    """Exit 0 and say so if ``target``'s session is logged in; 4 with the login line if not."""
    import sys

    from ssod.client import common
    from ssod.client.output import render
    from ssod.errors import EXIT_LOGIN_REQUIRED, ProfileNotFound, SessionNotFound

    name = target.sso_session
    if name is None:
        profiles = {p.get("name"): p for p in common.dicts(status.get("profiles"))}
        if target.profile not in profiles:
            raise common.config_error(status) or ProfileNotFound(
                f"no SSO profile named {target.profile!r} is configured"
            )
        name = profiles[target.profile].get("session")
    sessions = {s.get("name"): s for s in common.dicts(status.get("sessions"))}
    session = sessions.get(name)
    if session is None:
        raise common.config_error(status) or SessionNotFound(f"no sso-session named {name!r}")
    if session.get("state") == "ready":
        expires = render.relative(session.get("token_expires_at"), now)
        print(f"{target.describe()} is logged in (token expires {expires})")
        return 0
    print(f"ssod: {render.login_needed_text(session)}", file=sys.stderr)
    return EXIT_LOGIN_REQUIRED
