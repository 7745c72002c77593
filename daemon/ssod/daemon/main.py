"""``ssod daemon``: logging set-up and the asyncio entry point.

Logs go to stderr, one line per event. Third-party loggers that print request bodies at debug
level (botocore and friends log tokens and client secrets there) are held at WARNING whatever
ssod's own level is, so no secret reaches a log line.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from ssod.daemon.app import Daemon
from ssod.daemon.settings import Settings

#: Loggers that would log secrets (request and response bodies) at DEBUG or INFO.
_CHATTY = ("botocore", "aiobotocore", "urllib3", "aiohttp", "asyncio", "watchdog", "s3transfer")


def configure_logging(level: str) -> None:
    """One line per event on stderr; third-party loggers capped at WARNING."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)


def run(args: argparse.Namespace) -> int:
    """Run the daemon in the foreground until SIGTERM or SIGINT."""
    configure_logging(args.log_level)
    settings = Settings.from_environment(
        ecs_port=args.ecs_port,
        ecs_listen=args.ecs_listen,
        imds_profile=args.imds_profile,
        imds_port=args.imds_port,
        imds_listen=args.imds_listen,
        runtime_dir=args.runtime_dir,
        token_margin=args.token_margin,
        credential_margin=args.credential_margin,
        notifications=False if args.no_notify else None,
        started_by=args.started_by,
        token_store=args.token_store,
    )
    asyncio.run(Daemon(settings).run())
    return 0
