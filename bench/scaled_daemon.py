"""``python -m bench.scaled_daemon --time-scale N``: the real ssod daemon, time-lapsed N times.

Runs ssod's own ``Daemon`` with every duration of its ``RefreshPolicy`` (token and credential
margins, the credential lead, jitter, backoff, the recent-use window) divided by N. Against an
emulator issuing tokens and credentials N times shorter-lived, a working day plays in seconds
with the production schedule's proportions. ``ssod daemon --token-margin/--credential-margin``
alone would scale only the margins: the 5-minute lead and 30-second jitter would stay, and a
4-second credential would be refreshed 1.5 s after it was issued, not 40 "minutes".
Everything else (settings from the environment, logging, lifecycle) is ``ssod daemon``'s.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from datetime import timedelta

from ssod.daemon.app import Daemon
from ssod.daemon.engine.schedule import RefreshPolicy
from ssod.daemon.main import configure_logging
from ssod.daemon.settings import Settings


def scaled_policy(factor: float, policy: RefreshPolicy | None = None) -> RefreshPolicy:
    """``policy`` (default: ssod's defaults) with every duration divided by ``factor``."""
    base = policy or RefreshPolicy()
    changes = {
        f.name: getattr(base, f.name) / factor
        for f in dataclasses.fields(base)
        if isinstance(getattr(base, f.name), timedelta)
    }
    return dataclasses.replace(base, **changes)


def main() -> None:
    """Parse the arguments and run the daemon until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-scale", type=float, required=True, help="divide durations by N")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    configure_logging(args.log_level)
    settings = Settings.from_environment(notifications=False)
    settings = dataclasses.replace(settings, policy=scaled_policy(args.time_scale))
    asyncio.run(Daemon(settings).run())


if __name__ == "__main__":
    main()
