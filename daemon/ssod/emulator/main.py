"""``ssod emulator``: build the config from the parsed arguments, serve until SIGINT/SIGTERM.

Prints the ``export AWS_ENDPOINT_URL_...=`` lines on stdout (so ``eval`` works) and the
rest on stderr; ``--port-file`` receives the bound port once the server listens.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from ssod import atomicfile
from ssod.emulator.config import EmulatorConfig
from ssod.emulator.data import DirectoryError, default_directory, load_directory
from ssod.emulator.server import Emulator


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The EmulatorConfig the command-line flags describe."""
    base = EmulatorConfig()
    directory = load_directory(Path(args.data)) if args.data else default_directory()
    return EmulatorConfig(
        token_lifetime=args.token_lifetime or base.token_lifetime,
        credential_lifetime=args.credential_lifetime or base.credential_lifetime,
        refresh_rotation=args.refresh_rotation,
        auto_approve=not args.no_auto_approve,
        approve_delay=base.approve_delay if args.approve_delay is None else args.approve_delay,
        latency=args.latency,
        directory=directory,
    )


def run(args: argparse.Namespace) -> int:
    """Serve the emulator until interrupted; returns the exit status."""
    try:
        config = config_from_args(args)
    except DirectoryError as err:
        print(f"ssod: {err}", file=sys.stderr)
        return 7
    try:
        asyncio.run(_serve(config, args.host, args.port, args.port_file, args.env_file))
    except OSError as err:
        print(f"ssod: cannot listen on {args.host}:{args.port}: {err.strerror}", file=sys.stderr)
        return 1
    return 0


async def _serve(
    config: EmulatorConfig,
    host: str,
    port: int,
    port_file: str | None,
    env_file: str | None = None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Emulator(config).serve(host, port) as running:
        lines = "".join(f"export {name}={value}\n" for name, value in running.env.items())
        sys.stdout.write(lines)
        sys.stdout.flush()
        if env_file:
            _write_atomically(Path(env_file), lines)  # sourcing it never sees half of it
        if port_file:
            _write_atomically(Path(port_file), f"{running.port}\n")
        print(
            "ssod emulator: serving sso-oidc, the SSO portal, STS and the federation endpoint "
            f"on {running.url} (any https start URL and any region work; control API under "
            "/_emulator/)",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()


def _write_atomically(path: Path, text: str) -> None:
    atomicfile.write(path, text.encode("utf-8"))
