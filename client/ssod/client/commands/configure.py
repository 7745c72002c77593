"""``ssod configure`` and ``ssod configure sso-session``: the AWS CLI's two SSO wizards.

Owns the arguments of both (a flag for every prompt, for scripts, each checked as it is parsed
so a bad one fails before anything is asked or written) and the closing words. The checks the
flags share with the prompts are in ``configure.checks``; the steps and their order
(docs/protocols.md section 5.1) in ``configure.steps`` and ``configure.session``, the undoable
edit of the config file in ``configure.edit``, the writing rules in ``ssod.configwriter``, the
prompts in ``configure.prompt`` and the region names in ``configure.regions``. Registering
imports nothing heavy (the region names, a tuple, complete the region flags in
``ssod completion``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ssod.client.configure.checks import (
    check_client_region,
    check_name,
    check_output,
    check_region,
    check_scopes,
    check_start_url,
)

if TYPE_CHECKING:
    from ssod.client.configure.prompt import Validator
    from ssod.client.configure.steps import Answers

_DESCRIPTION = (
    "Create or update a profile that gets its credentials from IAM Identity Center, step by step "
    "like `aws configure sso`: the daemon logs in and lists your accounts and roles, and "
    "~/.aws/config is written as the AWS CLI would write it (every other line kept). Each prompt "
    "has a flag; with --non-interactive nothing is asked and a missing answer is an error."
)


_SESSION_DESCRIPTION = (
    "Create or update an [sso-session NAME] section only, step by step like `aws configure "
    "sso-session`: its start URL, region and registration scopes. No profile is written and "
    "nothing is logged in: `ssod login --sso-session NAME` does that. Each prompt has a flag; "
    "with --non-interactive nothing is asked and a missing answer is an error."
)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod configure`` (and ``ssod configure sso-session``) to the command line."""
    from ssod.client.configure.regions import OUTPUT_FORMATS, REGIONS, SSO_REGIONS

    p = sub.add_parser("configure", help="create an SSO profile (like `aws configure sso`)")
    p.description = _DESCRIPTION
    named = _flag(check_name("profile"))
    p.add_argument(
        "--profile", metavar="NAME", type=named, help="the profile to write (default: asked)"
    )
    form = p.add_mutually_exclusive_group()
    form.add_argument(
        "--sso-session",
        metavar="NAME",
        type=_flag(check_name("sso-session")),
        help="the [sso-session NAME] to use",
    )
    form.add_argument(
        "--legacy",
        action="store_true",
        help="write the legacy form (no sso-session: device code, no token refresh)",
    )
    _session_arguments(p, SSO_REGIONS)
    p.add_argument("--account-id", metavar="ID", help="the AWS account of the profile")
    p.add_argument("--role-name", metavar="NAME", help="the role (permission set) of the profile")
    region = p.add_argument(
        "--region",
        metavar="REGION",
        type=_flag(check_client_region),
        help="the profile's default client region",
    )
    _complete(region, REGIONS)
    output = p.add_argument(
        "--output",
        metavar="FORMAT",
        type=_flag(check_output),
        help="the profile's output format (json, yaml, yaml-stream, text, table, off)",
    )
    _complete(output, OUTPUT_FORMATS)
    p.add_argument("--no-browser", action="store_true", help="print the login URL, open nothing")
    p.add_argument(
        "--use-device-code", action="store_true", help="log in with a device code, not PKCE"
    )
    p.add_argument(
        "--non-interactive", action="store_true", help="never prompt: take flags and defaults"
    )
    from ssod.client.common import add_no_start_argument

    add_no_start_argument(p)
    p.set_defaults(handler=_handle, form=None)
    forms = p.add_subparsers(dest="form", metavar="[sso-session]", title="forms")
    s = forms.add_parser(
        "sso-session",
        help="create or update an sso-session only (like `aws configure sso-session`)",
    )
    s.description = _SESSION_DESCRIPTION
    # SUPPRESS: a flag given before the form word (`configure --non-interactive sso-session`)
    # is kept, not reset to the default by the form's own parser.
    s.argument_default = argparse.SUPPRESS
    s.add_argument(
        "--sso-session",
        metavar="NAME",
        type=_flag(check_name("sso-session")),
        help="the [sso-session NAME] to write (default: asked)",
    )
    _session_arguments(s, SSO_REGIONS)
    s.add_argument(
        "--non-interactive", action="store_true", help="never prompt: take flags and defaults"
    )
    s.set_defaults(handler=_handle_session)


def _session_arguments(p: argparse.ArgumentParser, sso_regions: Sequence[str]) -> None:
    p.add_argument(
        "--sso-start-url",
        metavar="URL",
        type=_flag(check_start_url),
        help="the AWS access portal URL (https://...)",
    )
    region = p.add_argument(
        "--sso-region",
        metavar="REGION",
        type=_flag(check_region),
        help="the IAM Identity Center region (e.g. us-east-1)",
    )
    _complete(region, sso_regions)
    p.add_argument(
        "--scopes",
        metavar="LIST",
        type=_flag(check_scopes),
        help="registration scopes, comma-separated (default sso:account:access)",
    )


def _complete(action: argparse.Action, words: Sequence[str]) -> None:
    # The words `ssod completion` offers for a value that is checked, not restricted to them.
    vars(action)["completions"] = tuple(words)


def _flag(check: Validator) -> Callable[[str], str]:
    # An argparse type: flags are checked (and stripped) before anything is asked or written.
    def parse(value: str) -> str:
        problem = check(value.strip())
        if problem:
            raise argparse.ArgumentTypeError(f"{value!r}: {problem}")
        return value.strip()

    return parse


def _handle(args: argparse.Namespace) -> int:
    return _cancellable(_configure, args)


def _handle_session(args: argparse.Namespace) -> int:
    return _cancellable(_configure_session, args)


def _cancellable(main: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    from ssod.client.common import run_command

    try:
        return run_command(main, args)
    except KeyboardInterrupt:
        print("\nssod: configure cancelled; the config file was left as it was", file=sys.stderr)
        return 130


def _configure(args: argparse.Namespace) -> int:
    from ssod import paths
    from ssod.client.common import connect, wants_start
    from ssod.client.configure.prompt import Console
    from ssod.client.configure.steps import Steps

    console = Console()
    # A newcomer's first command: start a daemon if none runs (SSOD_NO_AUTOSTART=1 says not to).
    with connect(start=wants_start(args)) as client:
        steps = Steps(args, console, client, paths.aws_config_file())
        answers = steps.run()
    _conclude(console, answers)
    return 0


def _configure_session(args: argparse.Namespace) -> int:
    from ssod import paths
    from ssod.client.configure.prompt import Console
    from ssod.client.configure.session import SessionWizard

    console = Console()
    name = SessionWizard(args, console, paths.aws_config_file()).run()
    quoted = shlex.quote(name)
    console.say(
        f"\nCompleted configuring SSO session: {name}\n"
        "Run the following to login and refresh access token for this session:\n\n"
        f"ssod login --sso-session {quoted}"
    )
    return 0


def _conclude(console: Any, answers: Answers) -> None:
    name = answers.profile_name
    if not (answers.account_id and answers.role_name):
        console.say(f"Successfully configured SSO for profile: {name}")
        return
    console.say(f"\nWrote the profile {name} to {answers.config_file}.")
    if name == "default":
        console.say("The AWS CLI and SDKs now use it by default. Try:\n\n  aws s3 ls\n")
        return
    quoted = shlex.quote(name)
    console.say("To use this profile, name it with --profile, as shown:\n")
    console.say(f"  aws s3 ls --profile {quoted}\n")
    console.say("or point this shell at the ssod daemon:\n")
    console.say(f'  eval "$(ssod env --profile {quoted})"\n')
