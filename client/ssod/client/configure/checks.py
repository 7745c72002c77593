"""The checks a configure answer must pass, shared by the prompts and the flags.

Owns what ``ssod configure`` accepts as a start URL, a region, an output format, registration
scopes and a profile or sso-session name: each check returns None for a good value, or what is
wrong with it. The wizard's prompts (``configure.steps``, ``configure.session``) and the
command's flags (``ssod.client.commands.configure``) use the same ones. Pure.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ssod.client.configure.prompt import Validator

_HOST = r"^((?!-)[A-Z\d-]{1,63}(?<!-)\.)*((?!-)[A-Z\d-]{1,63}(?<!-))$"


def check_start_url(value: str) -> str | None:
    """None for a usable start URL: botocore's ``is_valid_endpoint_url``, and https only.

    The AWS CLI's prompt takes any scheme but its login refuses all but https
    (awscli/customizations/sso/resolve.py), as IAM Identity Center does.
    """
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return "Not a valid Start URL"
    if not (host and re.match(_HOST, host.rstrip("."), re.IGNORECASE)):
        if "://" not in value and check_start_url(f"https://{value}") is None:
            return f"Not a valid Start URL: it starts with https://, as in https://{value}"
        return "Not a valid Start URL"
    if parts.scheme.lower() != "https":
        return (
            "Not a valid Start URL: IAM Identity Center start URLs use https, "
            "like https://d-1234567890.awsapps.com/start"
        )
    return None


def check_region(value: str) -> str | None:
    """None for a region name (``us-east-1``); otherwise what is wrong with it."""
    from ssod.client.configure import regions

    return regions.check_region(value)


def check_client_region(value: str) -> str | None:
    """Like ``check_region``, but nothing at all is fine too (no default client region)."""
    return check_region(value) if value else None


def check_output(value: str) -> str | None:
    """None for one of the AWS CLI's output formats, or nothing."""
    from ssod.client.configure import regions

    return regions.check_output(value)


def check_scopes(value: str) -> str | None:
    """None if ``value`` is a comma-separated list of scopes without whitespace inside one."""
    if any(re.search(r"\s", scope.strip()) for scope in value.split(",")):
        return "Scope values must be separated by commas"
    return None


def check_name(kind: str) -> Validator:
    """A validator for a profile or sso-session name botocore can read back."""

    def check(name: str) -> str | None:
        from ssod import configwriter
        from ssod.errors import ConfigError

        try:
            configwriter.check_name(kind, name)
        except ConfigError as err:
            return err.message
        return None

    return check
