"""The ``ssod`` command line: parse arguments, hand off to one command module, map errors to exits.

This module must stay cheap to import: command modules are imported only when their command
runs, and nothing here imports aiohttp, aiobotocore, botocore or watchdog (a test proves it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ssod import errors
from ssod.client import (
    cmd_completion,
    cmd_configure,
    cmd_credentials,
    cmd_daemon,
    cmd_emulator,
    cmd_env,
    cmd_login,
    cmd_logout,
    cmd_roles,
    cmd_service,
    cmd_status,
    cmd_token,
)
from ssod.errors import EXIT_USAGE, SsodError
from ssod.version import __version__

Handler = Callable[[argparse.Namespace], int]

# Each command module defines ``register(subparsers)``: it adds its arguments and a handler that
# imports the command's real work lazily. Registering must import nothing heavy.
_COMMANDS: tuple[Callable[[Any], None], ...] = (
    cmd_login.register,
    cmd_logout.register,
    cmd_status.register,
    cmd_env.register,
    cmd_credentials.register,
    cmd_roles.register,
    cmd_configure.register,
    cmd_token.register,
    cmd_daemon.register,
    cmd_emulator.register,
    cmd_service.register,
    cmd_completion.register,
)

_EPILOG = f"""\
exit status:
  {errors.EXIT_OK}    success
  {errors.EXIT_ERROR}    other error (IPC, cache files, runtime directory)
  {errors.EXIT_USAGE}    usage error
  {errors.EXIT_NO_DAEMON}    no daemon is running: `ssod service install` or `ssod daemon`
  {errors.EXIT_LOGIN_REQUIRED}    the SSO session needs a login: `ssod login`
  {errors.EXIT_NOT_FOUND}    no such profile or sso-session
  {errors.EXIT_AWS}    AWS refused (access denied) or could not be reached
  {errors.EXIT_CONFIG}    the AWS config file has an error
  {errors.EXIT_LOGIN_FAILED}    the login failed or was cancelled
  130  interrupted (Ctrl-C)
"""


def build_parser() -> argparse.ArgumentParser:
    """The whole ``ssod`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="ssod",
        description="Keep AWS IAM Identity Center (SSO) credentials fresh and serve them locally.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ssod {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in _COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ssod`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args)
    except SsodError as err:
        print(f"ssod: {err.message}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
