"""``ssod env``: the lines that point a shell's AWS SDKs at the daemon's ECS endpoint.

Prints ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` for one profile, the token file and the token
(and the profile's region as ``AWS_REGION``/``AWS_DEFAULT_REGION`` when it has one), quoted for
sh, fish or PowerShell, to stdout only (the token never goes into another process's
argv). Other variables are left alone, but when one of them would win over the endpoint in
botocore's credential chain (environment keys, a profile with its own SSO settings, the
relative container URI) a comment says so.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import argparse

    from ssod.client.ipc import IpcClient

_USAGE = {
    "sh": 'eval "$(ssod env{args})"',
    "fish": "ssod env{args} --shell fish | source",
    "powershell": "ssod env{args} --shell powershell | Invoke-Expression",
}
#: Shells that take sh's syntax (``--shell bash`` and ``--shell zsh`` print what ``sh`` does).
AS_SH = ("bash", "zsh")


def usage_line(shell_name: str, profile: str | None) -> str:
    """How to use ``ssod env`` in this shell, keeping ``--profile`` when one was given."""
    from ssod.client.output.shell import quote

    syntax = "sh" if shell_name in AS_SH else shell_name
    plain = profile is not None and profile.replace("-", "").replace("_", "").isalnum()
    word = profile if plain else quote(profile or "", "sh")
    args = f" --profile {word}" if profile else ""
    return _USAGE.get(syntax, _USAGE["sh"]).format(args=args)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod env`` to the command line."""
    p = sub.add_parser(
        "env",
        help="print shell lines that point AWS SDKs at the daemon",
        description=(
            "Print the AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE "
            "and AWS_CONTAINER_AUTHORIZATION_TOKEN lines for a profile. Use: "
            + "; ".join(usage_line(name, None) for name in _USAGE)
        ),
    )
    p.add_argument(
        "--profile", metavar="NAME", help="profile to serve (default: $AWS_PROFILE, then default)"
    )
    p.add_argument(
        "--shell",
        default="sh",
        choices=(*_USAGE, *AS_SH),
        help="syntax to print (default sh; bash and zsh are sh)",
    )
    p.add_argument(
        "--remote",
        action="store_true",
        help=(
            "print the lines for a remote shell reached with `ssh -R` (the forwarded port and a "
            "fresh scoped token for the profile) and the ssh options to use"
        ),
    )
    from ssod.client.commands.token import add_name_argument, add_ttl_argument

    add_ttl_argument(p)
    add_name_argument(p)
    from ssod.client.common import add_no_start_argument

    add_no_start_argument(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ssod.client.common import run_command

    return run_command(_main, args)


def _main(args: argparse.Namespace) -> int:
    import os

    from ssod.client import common
    from ssod.client.output import shell
    from ssod.wire import Op

    if not args.remote and (args.ttl is not None or args.name is not None):
        from ssod.errors import BadRequest

        raise BadRequest("--ttl and --name go with --remote (they describe its scoped token)")
    with common.connect(start=common.wants_start(args)) as client:
        endpoint = client.request(Op.ENDPOINT)
        status = client.request(Op.STATUS)
    if args.remote:
        from ssod.client.commands.token import issue_token

        profile = args.profile or common.default_profile()
        served = served_from(endpoint, status, profile, named=bool(args.profile))
        issued = issue_token(profile, args.ttl, args.name)
        print(
            shell.remote_env_text(
                served.endpoint, issued, profile, args.shell, region=served.region
            )
        )
        return 0
    out, notes = render(endpoint, status, args.profile, args.shell, os.environ, sys.stdout.isatty())
    print(out)
    for note in notes:
        print(note, file=sys.stderr)
    return 0


def render(
    endpoint: Mapping[str, Any],
    status: Mapping[str, Any],
    profile_arg: str | None,
    shell_name: str,
    environ: Mapping[str, str],
    stdout_tty: bool,
) -> tuple[str, list[str]]:
    """What ``ssod env`` prints to stdout, and the lines it prints to stderr, from two replies.

    The daemon's fast socket renders with this too (``ssod.client.fastpath``), so both paths
    print the same bytes. Raises ``ProfileNotFound`` for a profile the daemon does not serve.
    """
    from ssod.client import common
    from ssod.client.output import shell

    profile = profile_arg or common.default_profile(environ)
    served = served_from(endpoint, status, profile, named=bool(profile_arg))
    notes = precedence_notes(environ, served.names)
    lines = [f"Use: {usage_line(shell_name, profile_arg)}", *notes]
    out = shell.env_text(served.endpoint, profile, shell_name, lines, region=served.region)
    # eval swallows stdout: say it where the person can see it
    errs = [f"Note: {note}" for note in notes] if notes and not stdout_tty else []
    return out, errs


class Served(NamedTuple):
    """What the daemon says about serving one profile: its endpoint and the profile's region."""

    endpoint: Mapping[str, Any]
    region: str | None
    #: Every profile the daemon serves.
    names: frozenset[str]


def lookup(client: IpcClient, profile: str, *, named: bool) -> Served:
    """The endpoint and region for ``profile``; ``ProfileNotFound`` if the daemon does not serve it.

    ``named``: the profile came from ``--profile`` (otherwise the hint says how to name one).
    """
    from ssod.wire import Op

    endpoint = client.request(Op.ENDPOINT)
    return served_from(endpoint, client.request(Op.STATUS), profile, named=named)


def served_from(
    endpoint: Mapping[str, Any], status: Mapping[str, Any], profile: str, *, named: bool
) -> Served:
    """``lookup`` from the daemon's ``endpoint`` and ``status`` replies (pure)."""
    from ssod.client import common
    from ssod.errors import ProfileNotFound

    profiles = {str(p.get("name")): p for p in common.dicts(status.get("profiles"))}
    if profile not in profiles:
        if (broken := common.config_error(status)) is not None:
            raise broken
        daemon = status.get("daemon")
        where = daemon.get("config_file") if isinstance(daemon, dict) else None
        how = "" if named else "; name one with --profile NAME"
        raise ProfileNotFound(f"no SSO profile named {profile!r} in {where or 'the config'}{how}")
    region = profiles[profile].get("region")
    return Served(endpoint, str(region or "") or None, frozenset(profiles))


def precedence_notes(environ: Mapping[str, str], served: Collection[str]) -> list[str]:
    """What in this environment would win over the container endpoint in botocore's chain.

    botocore tries, in order: environment keys, the profile's assume-role, web identity, SSO,
    credentials file, credential_process and config keys, and only then the container
    endpoint (``credentials.py`` ``create_credential_resolver``). It prefers the relative
    container URI over the full one.
    """
    notes = []
    if environ.get("AWS_ACCESS_KEY_ID"):
        notes.append(
            "AWS_ACCESS_KEY_ID is set and wins over the endpoint: unset AWS_ACCESS_KEY_ID "
            "AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN to use ssod"
        )
    variable = next((v for v in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE") if environ.get(v)), None)
    active = environ[variable] if variable else "default"
    if active in served:
        where = f"{variable}={active} is set and that profile" if variable else "[default]"
        fix = f"unset {variable} to use the endpoint" if variable else "they work too"
        notes.append(
            f"{where} has SSO settings of its own, which SDKs use before the endpoint "
            f"(from the token cache ssod keeps fresh); {fix}"
        )
    if environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        notes.append(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is set; botocore and the Java SDK prefer it: "
            "unset it to use ssod"
        )
    return notes
