"""The ``ssod`` command line: parse arguments, hand off to one command module, map errors to exits.

This module must stay cheap to import: command modules are imported only when their command
runs, and nothing here imports aiohttp, aiobotocore, botocore or watchdog (a test proves it).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ssod import errors
from ssod.errors import EXIT_USAGE, SsodError
from ssod.version import __version__

Handler = Callable[[argparse.Namespace], int]

# Each command module defines ``register(subparsers)``: it adds its arguments and a handler that
# imports the command's real work lazily. Registering must import nothing heavy. Modules are
# named, not imported, so that a run of one command imports and registers only that one:
# ``ssod credentials`` is on the hot path of every tool that uses credential_process. Each lives in
# ``ssod.client.commands.<module>``.
_COMMANDS: dict[str, str] = {
    "login": "login",
    "logout": "logout",
    "status": "status",
    "stop": "stop",
    "env": "env",
    "exec": "exec",
    "console": "console",
    "credentials": "credentials",
    "roles": "roles",
    "configure": "configure",
    "token": "token",
    "docker": "docker",
    "daemon": "daemon",
    "emulator": "emulator",
    "service": "service",
    "completion": "completion",
    "eks": "eks",
}


def _register(name: str, sub: argparse._SubParsersAction[Any]) -> None:
    module = importlib.import_module(f"ssod.client.commands.{_COMMANDS[name]}")
    module.register(sub)


_EPILOG = f"""\
exit status:
  {errors.EXIT_OK}    success
  {errors.EXIT_ERROR}    other error (IPC, cache files, runtime directory)
  {errors.EXIT_USAGE}    usage error
  {errors.EXIT_NO_DAEMON}    no daemon is running: `ssod service install` or `ssod daemon`
  {errors.EXIT_LOGIN_REQUIRED}    a login is needed: `ssod login` (scripts: `ssod status --check`)
  {errors.EXIT_NOT_FOUND}    no such profile or sso-session
  {errors.EXIT_AWS}    AWS refused (access denied) or could not be reached
  {errors.EXIT_CONFIG}    the AWS config file has an error
  {errors.EXIT_LOGIN_FAILED}    the login failed or was cancelled
  130  interrupted (Ctrl-C)
"""


class Parser(argparse.ArgumentParser):
    """argparse, plus "did you mean" for a mistyped command, subcommand or choice."""

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        choices = action.choices
        if choices is not None and value not in choices:
            close = closest(str(value), [str(c) for c in choices])
            if close is not None:
                message = f"invalid choice: {value!r}; did you mean {close!r}?"
                raise argparse.ArgumentError(action, message)
        super()._check_value(action, value)


def closest(word: str, candidates: Sequence[str]) -> str | None:
    """The candidate ``word`` was most likely meant as, if one is close enough."""
    import difflib  # only on the error path

    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    """Every option of ``parser`` and of its subcommands (only the command being run is built)."""
    found: list[str] = []
    for action in parser._actions:
        found.extend(s for s in action.option_strings if s.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.extend(_option_strings(sub))
    return sorted(set(found))


def _unrecognized(parser: argparse.ArgumentParser, extras: Sequence[str]) -> str:
    """argparse's message for arguments nobody took, with the option that was meant."""
    message = f"unrecognized arguments: {' '.join(extras)}"
    for word in extras:
        if word.startswith("--"):
            close = closest(word.partition("=")[0], _option_strings(parser))
            if close is not None:
                return f"{message}; did you mean {close}?"
    return message


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``ssod`` argument parser: every command, or only ``only`` (a known command name)."""
    parser = Parser(
        prog="ssod",
        description="Keep AWS IAM Identity Center (SSO) credentials fresh and serve them locally.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ssod {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (only,) if only in _COMMANDS else _COMMANDS:
        assert name is not None
        _register(name, sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ssod`` console script."""
    words = sys.argv[1:] if argv is None else list(argv)
    if words and words[0] not in _COMMANDS:
        from ssod import eksargv

        # A kubeconfig written by `aws eks update-kubeconfig`, its command pointed at ssod.
        words = eksargv.translate(words) or words
    # `ssod COMMAND ...` needs only that command's parser; anything else gets them all.
    parser = build_parser(only=words[0] if words else None)
    args, extras = parser.parse_known_args(words)
    if extras:
        parser.error(_unrecognized(parser, extras))
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
    # `python -m ssod.client.cli` behaves as the console script: the fast path first.
    from ssod.client import fastpath

    sys.exit(fastpath.main())
