"""``ssod configure``: the ``aws configure sso`` wizard, asking the daemon instead of AWS.

Owns the arguments (a flag for every prompt, for scripts, each checked as it is parsed so a bad
one fails before anything is asked or written), the checks that prompts share with them, and
the closing words. The steps and their order (protocols.md section 5.1) are in
``configure_steps``, the undoable edit of the config file in ``configure_edit``, the writing
rules in ``configwriter`` and the prompts in ``prompt``. Registering imports nothing heavy.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ssod.client.configure_steps import Answers
    from ssod.client.prompt import Validator

_DESCRIPTION = (
    "Create or update a profile that gets its credentials from IAM Identity Center, step by step "
    "like `aws configure sso`: the daemon logs in and lists your accounts and roles, and "
    "~/.aws/config is written as the AWS CLI would write it (every other line kept). Each prompt "
    "has a flag; with --non-interactive nothing is asked and a missing answer is an error."
)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod configure`` to the command line."""
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
    p.add_argument(
        "--sso-start-url", metavar="URL", type=_flag(check_start_url), help="the portal URL"
    )
    p.add_argument(
        "--sso-region", metavar="REGION", type=_flag(check_token), help="the Identity Center region"
    )
    p.add_argument(
        "--scopes",
        metavar="LIST",
        type=_flag(check_scopes),
        help="registration scopes, comma-separated (default sso:account:access)",
    )
    p.add_argument("--account-id", metavar="ID", help="the AWS account of the profile")
    p.add_argument("--role-name", metavar="NAME", help="the role (permission set) of the profile")
    p.add_argument("--region", metavar="REGION", help="the profile's default client region")
    p.add_argument("--output", metavar="FORMAT", help="the profile's output format (json, text...)")
    p.add_argument("--no-browser", action="store_true", help="print the login URL, open nothing")
    p.add_argument(
        "--use-device-code", action="store_true", help="log in with a device code, not PKCE"
    )
    p.add_argument(
        "--non-interactive", action="store_true", help="never prompt: take flags and defaults"
    )
    p.set_defaults(handler=_handle)


_HOST = r"^((?!-)[A-Z\d-]{1,63}(?<!-)\.)*((?!-)[A-Z\d-]{1,63}(?<!-))$"


def check_start_url(value: str) -> str | None:
    """None for a usable start URL: botocore's ``is_valid_endpoint_url``, plus an http(s) scheme."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return "Not a valid Start URL"
    good_host = host and re.match(_HOST, host.rstrip("."), re.IGNORECASE)
    return None if parts.scheme in ("https", "http") and good_host else "Not a valid Start URL"


def check_token(value: str) -> str | None:
    """None for a non-empty value without whitespace (a region)."""
    if not value:
        return "A value is required"
    return None if value.split() == [value] else "No spaces, please"


def check_scopes(value: str) -> str | None:
    """None if ``value`` is a comma-separated list of scopes without whitespace inside one."""
    if any(re.search(r"\s", scope.strip()) for scope in value.split(",")):
        return "Scope values must be separated by commas"
    return None


def check_name(kind: str) -> Validator:
    """A validator for a profile or sso-session name botocore can read back."""

    def check(name: str) -> str | None:
        from ssod.client import configwriter
        from ssod.errors import ConfigError

        try:
            configwriter.check_name(kind, name)
        except ConfigError as err:
            return err.message
        return None

    return check


def _flag(check: Validator) -> Callable[[str], str]:
    # An argparse type: flags are checked (and stripped) before anything is asked or written.
    def parse(value: str) -> str:
        problem = check(value.strip())
        if problem:
            raise argparse.ArgumentTypeError(f"{value!r}: {problem}")
        return value.strip()

    return parse


def _handle(args: argparse.Namespace) -> int:
    from ssod.client.common import run_command

    try:
        return run_command(_configure, args)
    except KeyboardInterrupt:
        print("\nssod: configure cancelled; the config file was left as it was", file=sys.stderr)
        return 130


def _configure(args: argparse.Namespace) -> int:
    from ssod import paths
    from ssod.client.common import connect
    from ssod.client.configure_steps import Steps
    from ssod.client.prompt import Console

    console = Console()
    with connect() as client:
        steps = Steps(args, console, client, paths.aws_config_file())
        answers = steps.run()
    _conclude(console, answers)
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
