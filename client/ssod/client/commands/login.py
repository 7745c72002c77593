"""``ssod login``: sign a session in through the daemon, which runs the flow and streams progress.

The daemon owns the flow (device code, or authorization code with PKCE and its callback on
127.0.0.1); this command picks the flow's inputs, prints the URL and code to stderr like the
AWS CLI, opens the browser when one can open here and this run started the flow (joiners never
open a second tab), and waits. Ctrl-C cancels the flow in the daemon and exits 130.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ssod.client.common import add_no_start_argument, add_target_arguments

if TYPE_CHECKING:
    from ssod.client.browser import BrowserPlan
    from ssod.client.common import Target
    from ssod.client.ipc import IpcClient

#: The longest wait between two events: PKCE waits 10 minutes, a device code lives 10 minutes.
LOGIN_WAIT = 15 * 60.0
CANCEL_TIMEOUT = 3.0
EXIT_INTERRUPTED = 130


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod login`` to the command line."""
    p = sub.add_parser(
        "login",
        help="sign in to an SSO session (like `aws sso login`)",
        description=(
            "Sign in to an IAM Identity Center session through the daemon. Uses the "
            "authorization code flow with PKCE for [sso-session] profiles and the device code "
            "flow for legacy profiles, with --use-device-code, or when no browser can open here "
            "(an SSH session, no display). Concurrent logins for one session share one flow."
        ),
    )
    add_target_arguments(p)
    p.add_argument(
        "--no-browser", action="store_true", help="print the URL instead of opening a browser"
    )
    p.add_argument(
        "--use-device-code", action="store_true", help="use the device code flow (any device)"
    )
    add_no_start_argument(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ssod.client.common import run_command

    return run_command(_main, args)


def _main(args: argparse.Namespace) -> int:
    from ssod.client import common

    with common.connect(start=common.wants_start(args)) as client:
        target = common.resolve_target(client, common.target_from_args(args))
        if target.defaulted and target.sso_session:
            say(f"No profile named: using {target.describe()}, the only one configured.")
        return run_login(
            client,
            target,
            no_browser=bool(args.no_browser),
            use_device_code=bool(args.use_device_code),
        )


def run_login(
    client: IpcClient,
    target: Target,
    *,
    no_browser: bool = False,
    use_device_code: bool = False,
    done_to: TextIO | None = None,
) -> int:
    """Drive the daemon's login for ``target`` to its end: the one flow every caller shares.

    Picks the flow (device code when no browser can open here), prints the URL and code to
    stderr, opens the browser when this run started the flow, and prints the AWS CLI's success
    line to ``done_to`` (stdout by default; ``ssod exec`` keeps stdout for its command).
    Ctrl-C cancels the flow in the daemon and returns 130.
    """
    from ssod.client import browser

    browsers = browser.plan_here()
    automatic = not (use_device_code or no_browser or browsers.available)
    # Said once the daemon has started the flow: not before "no such profile".
    note = f"No browser can open here: {browsers.reason}. Using the device code flow."
    try:
        return _follow(
            client,
            target,
            no_browser,
            browsers,
            bool(use_device_code or automatic),
            sys.stdout if done_to is None else done_to,
            note if automatic else None,
        )
    except KeyboardInterrupt:
        _cancel(client, target)
        say("\nLogin cancelled.")
        return EXIT_INTERRUPTED


def _follow(
    client: IpcClient,
    target: Target,
    no_browser: bool,
    browsers: BrowserPlan,
    use_device_code: bool,
    done_to: TextIO,
    note: str | None = None,
) -> int:
    from ssod.client import browser
    from ssod.client.output import render
    from ssod.wire import Op

    stream = client.stream(
        Op.LOGIN,
        idle_timeout=LOGIN_WAIT,
        use_device_code=use_device_code or None,
        no_browser=no_browser or None,
        **target.args(),
    )
    for reply in stream:
        if note is not None:
            say(note)
            note = None
        event = dict(reply.result or {})
        if not reply.more:
            print(render.login_done_text(event), file=done_to, flush=True)
            return 0
        if event.get("event") != "verification":
            continue
        # Only the run that started the flow opens a tab: the rest join it (no tab storms).
        first = event.get("first") is not False
        opening = first and not no_browser and browsers.available
        say(
            render.verification_text(
                event,
                opening=opening,
                joined=not first,
                retry=f"ssod login {target.flags()}",
                session=target.describe(),
            )
        )
        if opening:
            why = browser.open_url(str(event.get("url") or ""), browsers)
            if why is not None:
                say(f"Could not open a browser ({why}): open the URL above yourself.")
    return 0


def ensure_signed_in(client: IpcClient, profile: str, *, login: bool) -> None:
    """Make sure the daemon can serve ``profile``; run the login first if it needs one.

    For commands that need credentials (``ssod exec``, ``ssod console``): asking for them now
    also warms the daemon, and an access-denied role fails here, before anything starts. The
    success line goes to stderr (stdout belongs to the command). ``login=False``: raise
    ``LoginRequired`` instead.
    """
    from ssod.client.common import Target
    from ssod.errors import LoginRequired
    from ssod.wire import Op

    try:
        client.request(Op.CREDENTIALS, profile=profile)
        return
    except LoginRequired:
        if not login:
            raise
        print(f"The session of profile {profile} needs a login: signing in.", file=sys.stderr)
    code = run_login(client, Target(profile=profile), done_to=sys.stderr)
    if code != 0:
        raise SystemExit(code)
    client.request(Op.CREDENTIALS, profile=profile)


def _cancel(client: IpcClient, target: Target) -> None:
    """Ask the daemon to stop the flow; a second Ctrl-C or a silent daemon does not matter."""
    import contextlib

    from ssod.errors import SsodError
    from ssod.wire import Op

    client.timeout = CANCEL_TIMEOUT
    with contextlib.suppress(SsodError, KeyboardInterrupt):
        client.request(Op.CANCEL_LOGIN, **target.args())


def say(text: str) -> None:
    """A line for the person at the terminal (stderr, as the AWS CLI does)."""
    print(text, file=sys.stderr, flush=True)
