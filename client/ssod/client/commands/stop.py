"""``ssod stop``: stop this HOME's daemon, whether started on demand or in a terminal.

A daemon a service manager runs is not stopped behind its back (it would start it again, or
count a failure): this names the manager's command instead and exits 1. No daemon running is
not an error. The work is ``ssod.client.service.stopper``'s.
"""

from __future__ import annotations

import argparse
from typing import Any

_HOW = {"autostart": "started on demand", "foreground": "started by hand", "service": "a service"}


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod stop`` to the command line."""
    p = sub.add_parser(
        "stop",
        help="stop the running daemon",
        description=(
            "Stop this user's ssod daemon (started on demand or with `ssod daemon`): in-flight "
            "refreshes finish, the sockets are removed, the token cache stays. A daemon run by "
            "a service manager is stopped with the manager's own command, which this names. "
            "Exits 0 when no daemon runs."
        ),
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ssod.client.common import run_command

    return run_command(_main, args)


def _main(args: argparse.Namespace) -> int:
    import sys

    from ssod.client.service import stopper
    from ssod.errors import EXIT_ERROR

    found = stopper.running()
    if found is None:
        print("No ssod daemon is running.", file=sys.stderr)
        return 0
    holder, lock = found
    how = _HOW.get(holder.started_by or "", f"started by {holder.started_by or 'unknown'}")
    if holder.started_by == "service":
        print(
            f"ssod: the daemon (pid {holder.pid}) runs as a service; stop it with "
            f"`{stopper.service_stop_command()}`, or remove the service with "
            "`ssod service uninstall`",
            file=sys.stderr,
        )
        return EXIT_ERROR
    stopper.stop(holder, lock)
    print(f"Stopped the ssod daemon (pid {holder.pid}, {how}).", file=sys.stderr)
    return 0
