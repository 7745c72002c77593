"""AWS console sign-in URLs: partitions and their hosts, destinations, session durations.

Pure: no I/O, no clock. The federation flow (IAM User Guide, "Enable custom identity broker
access to the AWS console"): the role credentials go to ``https://{signin}/federation?
Action=getSigninToken`` (``federation.py`` makes that call), and the token it answers goes into
``Action=login&Issuer=...&Destination=...&SigninToken=...`` on the same endpoint. Each partition
has its own sign-in and console hosts (as aws-vault ``cli/login.go`` and granted use them); a
destination must be https on a console host of the credentials' partition, so a sign-in URL
can never send the user, signed in, somewhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from ssod.daemon.config.awsconfig import ChainedProfile, SsoProfile
from ssod.errors import CannotFederate, DestinationRefused, UsageError

ISSUER = "ssod"
MIN_DURATION = 900
MAX_DURATION = 43200
FEDERATION_PATH = "/federation"


@dataclass(frozen=True)
class Partition:
    """One AWS partition's sign-in and console hosts."""

    name: str
    signin_host: str
    console_host: str


PARTITIONS = {
    p.name: p
    for p in (
        Partition("aws", "signin.aws.amazon.com", "console.aws.amazon.com"),
        Partition("aws-cn", "signin.amazonaws.cn", "console.amazonaws.cn"),
        Partition("aws-us-gov", "signin.amazonaws-us-gov.com", "console.amazonaws-us-gov.com"),
    )
}

#: Region prefixes of partitions with no public console federation endpoint (ISO regions).
_NO_CONSOLE = {
    "us-iso-": "aws-iso",
    "us-isob-": "aws-iso-b",
    "us-isof-": "aws-iso-f",
    "eu-isoe-": "aws-iso-e",
}
_SERVICE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s?)?$")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d+$")


def partition_name(region: str) -> str:
    """The partition a region belongs to (``aws`` for every region of the commercial one)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    for prefix, name in _NO_CONSOLE.items():
        if region.startswith(prefix):
            return name
    return "aws"


def arn_partition(arn: str) -> str | None:
    """The partition field of an ARN, or None if ``arn`` is not one."""
    parts = arn.split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "arn" and parts[1] else None


def partition(name: str, profile: str) -> Partition:
    """The ``Partition`` called ``name``; ``CannotFederate`` if it has no console sign-in."""
    found = PARTITIONS.get(name)
    if found is None:
        raise CannotFederate(
            f"profile {profile!r} is in partition {name}, which has no console federation "
            f"endpoint ssod knows (it knows {', '.join(PARTITIONS)})"
        )
    return found


def check_region(region: str, part: Partition) -> str:
    """``region`` if it is a region name of ``part``; ``UsageError`` otherwise."""
    if not _REGION.match(region):
        raise UsageError(f"{region!r} is not an AWS region name (like us-east-1)")
    if partition_name(region) != part.name:
        raise UsageError(
            f"region {region} is not in partition {part.name}, where the profile's "
            "credentials are valid"
        )
    return region


def parse_duration(text: str) -> int:
    """Seconds from ``3600``, ``3600s``, ``90m``, ``1h`` or ``1h30m``, within 900..43200."""
    found = _DURATION.match(text.strip().lower())
    if not text.strip() or found is None:
        raise UsageError(f"--duration {text!r}: give seconds (3600), minutes (90m) or hours (1h)")
    hours, minutes, seconds = (int(found.group(g) or 0) for g in "hms")
    total = hours * 3600 + minutes * 60 + seconds
    if not MIN_DURATION <= total <= MAX_DURATION:
        raise UsageError(
            f"--duration {text}: a console session lasts 15 minutes to 12 hours "
            f"({MIN_DURATION} to {MAX_DURATION} seconds), not {total} seconds"
        )
    return total


def destination(part: Partition, region: str, wanted: str | None) -> str:
    """The console page to land on: the home page, a service's page, or a console URL.

    ``wanted`` is a service name (``s3``: ``https://{console}/s3/home?region=R``) or an https
    URL on the partition's console host or one of its regional hosts. Anything else raises
    ``DestinationRefused``.
    """
    query = urlencode({"region": region})
    if not wanted:
        return f"https://{part.console_host}/console/home?{query}"
    if _SERVICE.match(wanted):
        return f"https://{part.console_host}/{wanted}/home?{query}"
    if "://" not in wanted:
        raise DestinationRefused(
            f"destination {wanted!r} is neither a service name (like s3 or ec2) nor an https "
            f"URL on {part.console_host}"
        )
    try:
        parts = urlsplit(wanted)
        port = parts.port
    except ValueError:
        raise DestinationRefused(f"destination {wanted!r} is not a valid URL") from None
    host = (parts.hostname or "").lower()
    on_console = host == part.console_host or host.endswith("." + part.console_host)
    if (
        parts.scheme != "https"
        or not on_console
        or port not in (None, 443)
        or parts.username is not None
        or any(c.isspace() for c in wanted)
    ):
        raise DestinationRefused(
            f"destination {wanted!r} is not an https URL on the AWS console "
            f"({part.console_host}, partition {part.name}): ssod signs in to the console only"
        )
    return wanted


def federation_url(part: Partition, endpoint_override: str | None = None) -> str:
    """The federation endpoint: the partition's sign-in host, or the configured override."""
    base = endpoint_override.rstrip("/") if endpoint_override else f"https://{part.signin_host}"
    return base + FEDERATION_PATH


def login_url(federation: str, landing: str, signin_token: str) -> str:
    """The sign-in URL the browser opens: the token redeemed, then ``landing``."""
    query = urlencode(
        {"Action": "login", "Issuer": ISSUER, "Destination": landing, "SigninToken": signin_token},
        quote_via=quote,
    )
    return f"{federation}?{query}"


@dataclass(frozen=True)
class ConsolePlan:
    """Everything a console sign-in needs but the credentials and the sign-in token."""

    partition: Partition
    region: str
    destination: str
    federation_url: str
    duration: int | None


def plan(
    name: str,
    profile: SsoProfile | ChainedProfile,
    root: SsoProfile,
    *,
    destination_arg: str | None = None,
    region_arg: str | None = None,
    duration_arg: str | None = None,
    endpoint_override: str | None = None,
) -> ConsolePlan:
    """Check and resolve ``ssod console``'s arguments for profile ``name``.

    The partition is the credentials': the role ARN's for a chained profile, else the SSO
    region's (the portal there issues them). The region: ``--region``, the profile's, the root
    profile's, then the SSO region.
    """
    chained = isinstance(profile, ChainedProfile)
    from_arn = arn_partition(profile.role_arn) if isinstance(profile, ChainedProfile) else None
    part = partition(from_arn or partition_name(root.sso_region), name)
    region = check_region(region_arg or profile.region or root.region or root.sso_region, part)
    duration = parse_duration(duration_arg) if duration_arg else None
    if duration is not None and chained:
        raise CannotFederate(
            f"profile {name!r} gets its credentials by role chaining (role_arn with "
            "source_profile), and AWS refuses a console session duration for those: run it "
            "without --duration (the console session then lasts as long as the credentials)"
        )
    return ConsolePlan(
        partition=part,
        region=region,
        destination=destination(part, region, destination_arg),
        federation_url=federation_url(part, endpoint_override),
        duration=duration,
    )
