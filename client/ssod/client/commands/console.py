"""``ssod console``: open the AWS console signed in as a profile, or print the sign-in URL.

The daemon builds the URL (it asks the AWS federation endpoint for a sign-in token with the
profile's role credentials, and checks the destination, region and duration); this command
signs the session in first if it needs it (the same flow as ``ssod login``), then opens the URL
with the browser rules ``ssod login`` follows, or prints it with ``--print``. Where no browser
can open (SSH, no display) the URL is printed instead. The URL signs whoever opens it in, for
15 minutes: it goes to stdout only, never to a log or an argv. The browser gets a one-time
loopback link to it from the daemon (``consolelinks.py``) instead.
"""

from __future__ import annotations

import argparse
from typing import Any

#: The daemon may fetch credentials, then waits up to 15 s for the sign-in endpoint, twice.
CONSOLE_TIMEOUT = 45.0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod console`` to the command line."""
    p = sub.add_parser(
        "console",
        help="open the AWS console signed in as a profile",
        description=(
            "Open the AWS Management Console signed in with a profile's role credentials (through "
            "the AWS federation endpoint of the profile's partition), or print the sign-in URL. "
            "The URL signs in whoever opens it within 15 minutes: do not share it."
        ),
    )
    p.add_argument(
        "--profile",
        metavar="NAME",
        help="profile to use (default: $AWS_PROFILE, then $SSOD_PROFILE, then default)",
    )
    p.add_argument(
        "--destination",
        metavar="URL|SERVICE",
        help="a service (s3, ec2, ...) or an https console URL to land on (default: console home)",
    )
    p.add_argument(
        "--region", metavar="REGION", help="console region (default: the profile's region)"
    )
    p.add_argument(
        "--print", action="store_true", help="print the sign-in URL instead of opening a browser"
    )
    p.add_argument(
        "--duration",
        metavar="D",
        help="console session length, 15m to 12h: 3600, 90m, 1h (default: as AWS sets it)",
    )
    p.add_argument(
        "--no-login",
        action="store_true",
        help="fail (exit 4) instead of signing in when the session needs a login",
    )
    from ssod.client.common import add_no_start_argument

    add_no_start_argument(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ssod.client.common import run_command

    return run_command(_main, args)


def _main(args: argparse.Namespace) -> int:
    import os

    from ssod.client import browser, common
    from ssod.client.commands import exec as cmd_exec
    from ssod.client.commands import login as cmd_login
    from ssod.wire import Op

    profile = args.profile or cmd_exec.profile_here(os.environ)
    browsers = browser.plan_here()
    opening = browsers.available and not args.print
    wanted = {"destination": args.destination, "region": args.region, "duration": args.duration}
    with common.connect(timeout=CONSOLE_TIMEOUT, start=common.wants_start(args)) as client:
        cmd_login.ensure_signed_in(client, profile, login=not args.no_login)
        result = client.request(
            Op.CONSOLE,
            profile=profile,
            # The browser gets a one-time loopback link: its argv is readable by every user.
            **({"link": True} if opening else {}),
            **{k: v for k, v in wanted.items() if v},
        )
    url = result["url"]
    where = f"profile {profile} (account {result['account_id']}, {result['region']})"
    if args.print:
        print(url)
        return 0
    link = str(result.get("link") or "")
    why = browser.open_url(link, browsers) if opening and link else browsers.reason
    if why is None:
        cmd_login.say(f"Opened the AWS console for {where} in the browser.")
        return 0
    cmd_login.say(f"Could not open a browser ({why}). Open this URL within 15 minutes:")
    print(url, flush=True)
    return 0
