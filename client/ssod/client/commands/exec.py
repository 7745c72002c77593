"""``ssod exec``: run a command (or ``$SHELL``) with its AWS SDKs pointed at the daemon.

The command gets what ``ssod env`` prints (``shell.env_vars``: the container-credentials URL
and token for one profile, and its region), ``SSOD_PROFILE`` for prompts, and loses every
variable that would win over the endpoint in the SDKs' credential chains. On POSIX ssod
``exec``s into the command: its exit status and signals (Ctrl-C) are the command's own, and
ssod does not stay in between. A session that needs a login is signed in first, through the
same flow as ``ssod login``, unless ``--no-login``. Nesting ``ssod exec`` for another profile
is refused unless ``--force``: the inner shell would silently change accounts. When the config
or the shared credentials file has a ``[default]`` profile with credentials of its own, SDKs
would use it before the endpoint, so the command then gets ``AWS_PROFILE`` naming its profile
instead (same account, via the SSO token cache).

The command gets a scoped token for its profile, bound to its process: ssod asks the daemon
for one with its own pid (which the command keeps, ssod ``exec``s into it) and, on Linux, its
start time, so the daemon refuses and drops the token as soon as the command has ended (and in
``--ttl`` at the latest). A daemon that cannot issue one (too old, at its cap) leaves the
command the main token, with a note on stderr: exec never fails for that.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ssod.client.ipc import IpcClient

#: Set in the command's environment: the profile it runs as (for prompts, and nesting checks).
PROFILE_VARIABLE = "SSOD_PROFILE"

#: Variables the SDKs would use before the container endpoint, or that name another one.
#: botocore's chain: environment keys, the profile (``AWS_PROFILE``), web identity, ... and the
#: relative container URI before the full one (``credentials.py`` ``create_credential_resolver``).
OVERRIDING = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",  # boto2's name for the session token, still read by some tools
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
)

DEFAULT_PROFILE = "default"

#: The shell's conventions for a command that cannot run.
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod exec`` to the command line."""
    p = sub.add_parser(
        "exec",
        help="run a command with AWS credentials of a profile (default: $SHELL)",
        description=(
            "Run COMMAND with its AWS SDKs getting credentials of one profile from the daemon "
            "(the variables `ssod env` prints, and SSOD_PROFILE), with AWS_ACCESS_KEY_ID, "
            "AWS_PROFILE and the other variables that would win over them removed. Without "
            "COMMAND, starts $SHELL. The exit status is COMMAND's. Signs in first if the "
            "session needs a login. COMMAND gets a scoped token: it serves this profile only "
            "and stops working when COMMAND exits (or after --ttl)."
        ),
        usage=(
            "%(prog)s [-h] [--profile NAME] [--no-login] [--force] [--ttl DURATION] "
            "[-- COMMAND [ARGS ...]]"
        ),
    )
    p.add_argument(
        "--profile",
        metavar="NAME",
        help="profile to use (default: $AWS_PROFILE, then $SSOD_PROFILE, then default)",
    )
    p.add_argument(
        "--no-login",
        action="store_true",
        help="fail (exit 4) instead of signing in when the session needs a login",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help=f"run even inside another `ssod exec` for a different profile (${PROFILE_VARIABLE})",
    )
    p.add_argument(
        "--ttl",
        metavar="DURATION",
        default=None,
        help=(
            "the longest the command's token works, even if the command runs on: 90s, 15m, "
            "12h, 7d (default 12h, at most 90d); it ends with the command anyway"
        ),
    )
    from ssod.client.common import add_no_start_argument

    add_no_start_argument(p)
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND", help=argparse.SUPPRESS)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ssod.client.common import run_command

    return run_command(_main, args)


def _main(args: argparse.Namespace) -> int:
    from ssod import scoped
    from ssod.client import common
    from ssod.client.commands import env as cmd_env
    from ssod.client.commands import login as cmd_login
    from ssod.client.output import shell

    profile = args.profile or profile_here(os.environ)
    refuse_nesting(os.environ, profile, force=bool(args.force))
    ttl = scoped.parse_ttl(args.ttl) if args.ttl is not None else None  # exit 2 before all else
    argv = command_argv(args.command, os.environ)
    with common.connect(start=common.wants_start(args)) as client:  # as `ssod env` does
        served = cmd_env.lookup(client, profile, named=bool(args.profile))
        cmd_login.ensure_signed_in(client, profile, login=not args.no_login)
        endpoint = credentials_endpoint(client, profile, served.endpoint, ttl)
    env = child_environment(os.environ, shell.env_vars(endpoint, profile, served.region), profile)
    if profile != DEFAULT_PROFILE and (
        DEFAULT_PROFILE in served.names or default_has_credentials(*_aws_files(os.environ))
    ):
        # SDKs would use [default]'s own credentials before the endpoint, and so the wrong
        # account: name the profile instead (its SSO settings use the token cache ssod keeps).
        env["AWS_PROFILE"] = profile
        print(
            "Note: [default] has credentials of its own, which SDKs use before the "
            f"endpoint: AWS_PROFILE={profile} is set so that they use {profile}'s",
            file=sys.stderr,
        )
    return replace_process(argv, env)


#: Settings that give a profile credentials of its own, which SDKs use before the endpoint.
_OWN_CREDENTIALS = frozenset(
    {
        "aws_access_key_id",
        "credential_process",
        "credential_source",
        "role_arn",
        "sso_account_id",
        "sso_session",
        "sso_start_url",
        "web_identity_token_file",
    }
)


def default_has_credentials(config_text: str, credentials_text: str) -> bool:
    """Does ``[default]`` in the config or shared credentials file carry credentials?

    A plain line scan (a broken file must not stop the command): section headers, then
    ``key = value`` lines; ``[profile default]`` counts in the config file, as botocore reads it.
    """
    for text, names in (
        (config_text, ("default", "profile default")),
        (credentials_text, ("default",)),
    ):
        section = None
        for raw in text.splitlines():
            line = raw.strip()
            if line.startswith("[") and line.endswith("]"):
                section = " ".join(line[1:-1].split())
            elif section in names and not line.startswith(("#", ";")):
                key = line.split("=", 1)[0].strip().lower() if "=" in line else ""
                if key in _OWN_CREDENTIALS:
                    return True
    return False


def _aws_files(environ: Mapping[str, str]) -> tuple[str, str]:
    """The texts of the AWS config and shared credentials files ("" when unreadable)."""
    home = os.path.expanduser("~")
    paths = (
        environ.get("AWS_CONFIG_FILE") or os.path.join(home, ".aws", "config"),
        environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(home, ".aws", "credentials"),
    )
    texts = []
    for path in paths:
        try:
            with open(os.path.expanduser(path), encoding="utf-8", errors="replace") as f:
                texts.append(f.read(4 * 1024 * 1024))
        except OSError:
            texts.append("")
    return texts[0], texts[1]


def profile_here(environ: Mapping[str, str]) -> str:
    """The profile a command means without ``--profile``, inside ``ssod exec`` too.

    ``AWS_DEFAULT_PROFILE``/``AWS_PROFILE`` as botocore reads them (``ssod exec`` removes both,
    so inside it they are set only on purpose), then the ``ssod exec`` profile, then default.
    """
    from ssod.client.common import default_profile

    named = environ.get("AWS_DEFAULT_PROFILE") or environ.get("AWS_PROFILE")
    return named or environ.get(PROFILE_VARIABLE) or default_profile(environ)


def refuse_nesting(environ: Mapping[str, str], profile: str, *, force: bool) -> None:
    """``UsageError`` inside an ``ssod exec`` for another profile, unless ``force``."""
    from ssod.errors import UsageError

    outer = environ.get(PROFILE_VARIABLE)
    if outer and outer != profile and not force:
        raise UsageError(
            f"this shell already runs under `ssod exec` for profile {outer!r} "
            f"({PROFILE_VARIABLE}={outer}); exit it first, or pass --force to switch to "
            f"{profile!r} inside it"
        )


def command_argv(words: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """The command to run: the words after ``--``, or the user's ``$SHELL``."""
    argv = list(words)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if argv:
        return argv
    return [environ.get("SHELL") or ("cmd.exe" if sys.platform == "win32" else "/bin/sh")]


def credentials_endpoint(
    client: IpcClient, profile: str, endpoint: Mapping[str, Any], ttl: int | None = None
) -> Mapping[str, Any]:
    """The endpoint description (URL, token, token file) the command gets for ``profile``.

    A scoped token for ``profile`` bound to this process (the command, once ssod has
    ``exec``'d into it), without the main token's file: botocore reads the file before the
    variable. If the daemon does not issue one, the main token and its file, and a note.
    """
    from ssod import procinfo
    from ssod.errors import SsodError
    from ssod.wire import Op

    pid = os.getpid()
    request = {"profile": profile, "pid": str(pid)}
    started = procinfo.start_time(pid)
    if started is not None:
        request["started"] = str(started)
    if ttl is not None:
        request["ttl"] = str(ttl)
    try:
        token: str | None = client.request(Op.ISSUE_TOKEN, **request)["token"]
        why = "its reply has no token"
    except SsodError as err:
        token, why = None, err.message
    if not isinstance(token, str) or not token:
        print(
            f"Note: the daemon gave no token for this command alone ({why}); it gets "
            "the main token, which serves every profile",
            file=sys.stderr,
        )
        return endpoint
    return {**endpoint, "token": token, "token_file": None}


def child_environment(
    environ: Mapping[str, str], variables: Sequence[tuple[str, str]], profile: str
) -> dict[str, str]:
    """``environ`` without the ``OVERRIDING`` variables, plus ``variables`` and the profile."""
    env = {k: v for k, v in environ.items() if k not in OVERRIDING}
    env.update(variables)
    env[PROFILE_VARIABLE] = profile
    return env


def replace_process(argv: list[str], env: dict[str, str]) -> int:
    """Become ``argv`` (POSIX ``exec``); elsewhere run it and return its exit status."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name != "posix":
        return _run_child(argv, env)
    import signal

    # Python ignores SIGPIPE and SIGXFSZ, and exec keeps ignored signals ignored: give the
    # command the defaults a shell would (else `ssod exec -- yes | head` never ends).
    for name in ("SIGPIPE", "SIGXFSZ"):
        signum = getattr(signal, name, None)
        if signum is not None:
            signal.signal(signum, signal.SIG_DFL)
    try:
        os.execvpe(argv[0], argv, env)  # noqa: S606 (the user's own command, as typed)
    except OSError as err:
        return _cannot_run(argv[0], err)
    raise AssertionError("unreachable: exec returned")


def _run_child(argv: list[str], env: dict[str, str]) -> int:
    import signal
    import subprocess

    # Ctrl-C goes to the whole console group: the command decides what to do with it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.call(argv, env=env)
    except OSError as err:
        return _cannot_run(argv[0], err)
    finally:
        signal.signal(signal.SIGINT, previous)


def _cannot_run(name: str, err: OSError) -> int:
    missing = isinstance(err, FileNotFoundError)
    why = "command not found" if missing else (err.strerror or str(err))
    print(f"ssod: {name}: {why}", file=sys.stderr)
    return EXIT_NOT_FOUND if missing else EXIT_NOT_EXECUTABLE
