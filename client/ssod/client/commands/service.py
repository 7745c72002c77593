"""``ssod service install|uninstall|status``: start the daemon at login with systemd or launchd.

Arguments and output only; the plans live in ``ssod.client.service.control`` and the file contents
in ``ssod.client.service.units``, both imported when a subcommand runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from ssod.client import common
from ssod.errors import EXIT_NO_DAEMON

_NO_MANAGER_HELP = """\
{why}.
That is normal in containers, CI jobs and su/sudo shells without a login session.
Run the daemon in the foreground instead:

    ssod daemon

or log in to a normal session (for a headless machine: loginctl enable-linger "$USER") and
run `ssod service install` again; `ssod service install --dry-run` prints the unit to install
by hand."""


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod service`` and its subcommands to the command line."""
    p = sub.add_parser(
        "service",
        help="start the daemon at login (systemd user unit or launchd agent)",
        description=(
            "Install, remove or inspect the ssod daemon as a systemd user service (Linux) or a "
            "launchd agent (macOS). The service does not see your shell's environment: install "
            "copies AWS_CONFIG_FILE, AWS_CA_BUNDLE, AWS_ENDPOINT_URL*, proxy and SSOD_* variables "
            "that are set, plus any named with --env."
        ),
    )
    p.set_defaults(handler=common.usage(p))
    verbs = p.add_subparsers(dest="service_command", metavar="ACTION")
    install = verbs.add_parser(
        "install",
        help="write the unit or agent, then enable and start it",
        description=(
            "Write ~/.config/systemd/user/ssod.service (Linux) or "
            "~/Library/LaunchAgents/io.ssod.daemon.plist (macOS) for this ssod installation, "
            "then enable and start it. Running it again updates the file and restarts the daemon."
        ),
    )
    install.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="also give the service this variable (its value in this shell, or VALUE); repeatable",
    )
    _dry_run(install)
    install.set_defaults(handler=_install)
    uninstall = verbs.add_parser("uninstall", help="stop and disable the service, remove its file")
    _dry_run(uninstall)
    uninstall.set_defaults(handler=_uninstall)
    status = verbs.add_parser("status", help="show whether the service is installed and running")
    status.set_defaults(handler=_status)


def _dry_run(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the file it would write and the commands it would run; change nothing",
    )


def _install(args: argparse.Namespace) -> int:
    import os
    import sys

    from ssod.client.service import control as servicectl
    from ssod.client.service import units as service
    from ssod.errors import SsodError

    backend = servicectl.backend_for(os.environ)
    spec = service.build_spec(os.environ, args.env)
    runner = servicectl.run_command
    unavailable = backend.unavailable(runner)
    unsupported = backend.unsupported(spec)
    if args.dry_run:
        sys.stdout.write(servicectl.describe(backend.install_plan(spec, runner)))
        for why in (unavailable, unsupported):
            if why is not None:
                print(f"note: {why}; a real install would stop here", file=sys.stderr)
        return 0
    if unavailable is not None:
        raise SsodError(_NO_MANAGER_HELP.format(why=unavailable))
    if unsupported is not None:
        raise SsodError(unsupported)
    servicectl.apply(backend.install_plan(spec, runner), runner, sys.stdout)
    print(f"ssod is installed as a {backend.name} service; `ssod service status` shows how it is.")
    return 0


def _uninstall(args: argparse.Namespace) -> int:
    import os
    import sys

    from ssod.client.service import control as servicectl
    from ssod.errors import SsodError

    backend = servicectl.backend_for(os.environ)
    runner = servicectl.run_command
    steps = backend.uninstall_plan(runner)
    if not steps:
        print(f"ssod is not installed as a {backend.name} service (no {backend.path})")
        if not args.dry_run:
            _stop_on_demand()
        return 0
    if args.dry_run:
        sys.stdout.write(servicectl.describe(steps))
        return 0
    if (why := backend.unavailable(runner)) is not None:
        raise SsodError(f"{why}; to remove the service by hand: rm {backend.path}")
    servicectl.apply(steps, runner, sys.stdout)
    print(f"ssod is no longer a {backend.name} service.")
    _stop_on_demand()
    return 0


def _stop_on_demand() -> None:
    """Stop a daemon started on demand too: with the service gone, none should stay behind."""
    from ssod.client.service import stopper

    found = stopper.running()
    if found is not None and found[0].started_by == "autostart":
        stopper.stop(*found)
        print(f"Stopped the ssod daemon started on demand (pid {found[0].pid}).")


def _status(args: argparse.Namespace) -> int:
    import os

    from ssod.client.service import control as servicectl

    backend = servicectl.backend_for(os.environ)
    lines, running = backend.status(servicectl.run_command)
    print("\n".join(lines))
    return 0 if running else EXIT_NO_DAEMON
