"""What the ``ssod`` commands share: which session or profile they mean, the IPC client, errors.

Profile resolution follows botocore (``AWS_DEFAULT_PROFILE``, then ``AWS_PROFILE``, then
``default``), so ``ssod`` and the AWS CLI mean the same profile. Errors become one ``ssod: ...``
line on stderr that names what failed and what to do next, and the exit code ``ssod.errors``
gives the error class (documented in ``ssod --help``). Cheap to import: the IPC client (pyzmq)
is loaded only when a command talks to the daemon.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from ssod.errors import (
    EXIT_USAGE,
    AwsError,
    AwsUnavailable,
    ConfigError,
    LoginFailed,
    ProfileNotFound,
    RoleAccessDenied,
    SessionNotFound,
    SsodError,
    StartUrlUnreachable,
)

if TYPE_CHECKING:
    import argparse

    from ssod.client.ipc import IpcClient
    from ssod.replies import StatusReply

#: Default wait for a reply; the daemon answers from memory, or within about a second.
DEFAULT_TIMEOUT = 10.0


class Target(NamedTuple):
    """The session a command acts on, named directly or through a profile."""

    sso_session: str | None = None
    profile: str | None = None
    #: Neither was given: the profile came from the environment or is ``default``.
    defaulted: bool = False

    def args(self) -> dict[str, str]:
        """The IPC arguments naming this target."""
        if self.sso_session is not None:
            return {"sso_session": self.sso_session}
        return {"profile": self.profile or "default"}

    def flags(self) -> str:
        """The command-line flags naming this target (for hints)."""
        if self.sso_session is not None:
            return f"--sso-session {self.sso_session}"
        return f"--profile {self.profile}"

    def describe(self) -> str:
        """``sso-session corp`` or ``profile dev``."""
        if self.sso_session is not None:
            return f"sso-session {self.sso_session}"
        return f"profile {self.profile}"


def default_profile(environ: Mapping[str, str] | None = None) -> str:
    """The profile the AWS CLI would use: botocore checks AWS_DEFAULT_PROFILE, then AWS_PROFILE."""
    env = os.environ if environ is None else environ
    return env.get("AWS_DEFAULT_PROFILE") or env.get("AWS_PROFILE") or "default"


def add_target_arguments(parser: argparse.ArgumentParser, *, allow_all: bool = False) -> None:
    """``--sso-session NAME | --profile NAME`` (and ``--all``), mutually exclusive."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--sso-session", metavar="NAME", help="the [sso-session NAME] to use")
    group.add_argument(
        "--profile",
        metavar="NAME",
        help="use the SSO session of this profile (default: $AWS_PROFILE, then default)",
    )
    if allow_all:
        group.add_argument("--all", action="store_true", help="every configured SSO session")


def target_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Target:
    """The target the flags name, or the default profile."""
    session = getattr(args, "sso_session", None)
    profile = getattr(args, "profile", None)
    if session:
        return Target(sso_session=session)
    if profile:
        return Target(profile=profile)
    return Target(profile=default_profile(environ), defaulted=True)


def resolve_target(client: IpcClient, target: Target) -> Target:
    """Pick the only configured session when nothing names one and there is no default profile.

    The AWS CLI fails here ("The config profile (default) could not be found"); with one
    session there is nothing to choose, so we use it. An explicit AWS_PROFILE is respected.
    """
    if not target.defaulted or target.profile != "default":
        return target
    from ssod.wire import Op

    status = client.request(Op.STATUS)
    profiles = [p for p in dicts(status.get("profiles")) if p.get("name")]
    if any(p["name"] == "default" for p in profiles):
        return target
    sessions = dicts(status.get("sessions"))
    if len(sessions) == 1:
        only = sessions[0]
        if only.get("kind") == "sso-session":
            return Target(sso_session=str(only["name"]), defaulted=True)
        legacy = [p for p in profiles if p.get("session") == only.get("name")]
        if legacy:
            return Target(profile=str(legacy[0]["name"]), defaulted=True)
    if (broken := config_error(status)) is not None:
        raise broken
    names = ", ".join(str(s.get("name")) for s in sessions) or "none"
    raise ProfileNotFound(
        "no profile named and no [default] profile: name one with --profile NAME or "
        f"--sso-session NAME, or set AWS_PROFILE (configured sso-sessions: {names})"
    )


def config_error(status: Mapping[str, Any]) -> ConfigError | None:
    """The daemon's config file error, if any: the cause of a profile it cannot find."""
    daemon = status.get("daemon")
    cause = daemon.get("config_error") if isinstance(daemon, dict) else None
    return ConfigError(cause) if isinstance(cause, str) and cause else None


def dicts(value: object) -> list[dict[str, Any]]:
    """The dicts in ``value`` if it is a list (replies are checked, never trusted blindly)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def connect(timeout: float = DEFAULT_TIMEOUT, *, start: bool = False) -> IpcClient:
    """An IPC client for the daemon of this user (``SSOD_RUNTIME_DIR`` and friends honoured).

    With ``start``, a daemon is started first when none runs (``ssod.client.service.autostart``),
    unless ``SSOD_NO_AUTOSTART`` says not to.
    """
    from ssod.client.ipc import IpcClient
    from ssod.client.service import autostart

    client = IpcClient(timeout=timeout)
    path = client.socket_path
    if start and path is not None and autostart.enabled():
        autostart.ensure_daemon(path)
    return client


def add_json_arguments(
    parser: argparse.ArgumentParser, help: str = "machine-readable output (stable keys)"
) -> None:
    """``--json``, and the AWS CLI's ``--output json`` (or ``text``) for the same choice."""
    import argparse

    class _Output(argparse.Action):
        def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
            namespace.json = values == "json"

    parser.add_argument("--json", action="store_true", help=help)
    parser.add_argument(
        "--output",
        choices=("json", "text"),
        action=_Output,
        dest="json",
        help="json: as --json; text: the default",
    )


def add_no_start_argument(parser: argparse.ArgumentParser) -> None:
    """``--no-start``: exit 3 rather than start a daemon when none runs."""
    parser.add_argument(
        "--no-start",
        action="store_true",
        help="do not start a daemon when none runs (also: SSOD_NO_AUTOSTART=1)",
    )


def wants_start(args: argparse.Namespace) -> bool:
    """Whether this command may start a daemon (no ``--no-start``)."""
    return not getattr(args, "no_start", False)


def explain(err: SsodError) -> str:
    """The error's message plus what to do next, chosen by its class (never by its text)."""
    hint = ""
    if isinstance(err, ProfileNotFound | SessionNotFound):
        hint = "`ssod status` lists the profiles and sessions ssod serves"
    elif isinstance(err, ConfigError):
        hint = "fix the config file; the daemon reloads it by itself"
    elif isinstance(err, RoleAccessDenied):
        hint = "`ssod roles` lists the accounts and roles you can use"
    elif isinstance(err, StartUrlUnreachable):
        hint = "that host is not AWS: check sso_start_url, the network and any proxy"
    elif isinstance(err, AwsUnavailable):
        hint = "check the network (and the SSO region), or try again in a moment"
    elif isinstance(err, LoginFailed):
        hint = "run `ssod login` again"
    return f"{err.message}; {hint}" if hint else err.message


def run_command(main: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run one command; an ``SsodError`` becomes a message on stderr and its exit code."""
    try:
        return main(args)
    except SsodError as err:
        print(f"ssod: {explain(err)}", file=sys.stderr)
        if isinstance(err, AwsError):
            note = _endpoints_note()
            if note is not None:
                print(f"Note: {note}", file=sys.stderr)
        return err.exit_code


def _endpoints_note() -> str | None:
    """After an AWS failure: whether the daemon calls other endpoints than this shell would."""
    from ssod.wire import Op

    try:
        with connect(2.0) as client:
            status = client.request(Op.STATUS)
    except SsodError:
        return None
    return endpoints_note(status)


def endpoints_note(status: StatusReply) -> str | None:
    """Whether the daemon calls other AWS endpoints than this shell would, and what to do."""
    from ssod import endpointvars

    endpoints = status["daemon"].get("endpoints")  # an older daemon does not say
    return None if endpoints is None else endpointvars.mismatch_note(endpoints, os.environ)


def handler(main: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A subcommand's handler: ``main`` run through :func:`run_command`."""
    return lambda args: run_command(main, args)


def usage(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """The handler of a command group given no subcommand: its help on stderr, exit 2."""

    def show(_args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    return show


def use_color(stream: Any = None, environ: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set or TERM=dumb."""
    env = os.environ if environ is None else environ
    out = sys.stdout if stream is None else stream
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())
