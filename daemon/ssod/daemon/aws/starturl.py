"""Start-URL forms, as AWS CLI v2 (2.35.13 and later) treats them at login.

Read from awscli/customizations/sso/resolve.py (``resolve_start_url``) and its callers
(``sso/login.py``, ``configure/sso_commands.py``):

* Only ``https`` is accepted ("The sso_start_url must use the https scheme.").
* An AWS-owned host (``*.awsapps.com``, ``*.awsapps.cn``, ``*.app.aws``,
  ``*.portal.amazonaws.com`` and their China and EU forms, or exactly
  ``identitycenter.amazonaws.com[.cn|.eu]`` or ``identitycenter.us-gov.amazonaws.com``) is used
  **exactly as written**, a trailing ``/`` or ``#/`` included, with the configured region.
* Any other host (a vanity domain of your own) is resolved: ``HEAD`` (``GET`` after 405 or
  501), at most one redirect taken, the target normalised (host lower-cased, default port,
  query, fragment and the path's trailing ``/`` dropped); it must be https and AWS-owned. The
  region comes from the target's host name where it has one (``{id}.portal.{region}.app.aws``,
  ``{id}.{region}.portal.amazonaws.com``...), else from the config.

The configured URL stays the token-cache key (legacy form), the token's ``startUrl`` and the
registration key; only IAM Identity Center is sent the resolved one. The decisions are pure;
``resolve`` does the one HTTP request through a ``Fetch`` the caller gives (``http_fetch``
below is the real one, over aiohttp).
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

from ssod.errors import ConfigError, StartUrlUnreachable

_AWS_OWNED_SUFFIXES = (
    ".app.aws",
    ".portal.amazonaws.com",
    ".portal.amazonaws.com.cn",
    ".app.amazonwebservices.com.cn",
    ".portal.amazonaws.eu",
    ".api.amazonwebservices.eu",
    ".awsapps.com",
    ".awsapps.cn",
)
#: The last two are in CLI 2.36.7's list (docs/protocols.md 5.2), newer than the resolve.py read
#: here.
_AWS_OWNED_EXACT = (
    "identitycenter.amazonaws.com",
    "identitycenter.amazonaws.com.cn",
    "identitycenter.amazonaws.eu",
    "identitycenter.us-gov.amazonaws.com",
)
_REGION_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"^[^.]+\.portal\.(?P<region>[a-z0-9-]+)\.app\.aws$",
        r"^[^.]+\.(?P<region>[a-z0-9-]+)\.portal\.amazonaws\.com$",
        r"^[^.]+\.(?P<region>[a-z0-9-]+)\.portal\.amazonaws\.com\.cn$",
        r"^[^.]+\.portal\.(?P<region>[a-z0-9-]+)\.app\.amazonwebservices\.com\.cn$",
        r"^[^.]+\.(?P<region>[a-z0-9-]+)\.portal\.amazonaws\.eu$",
        r"^[^.]+\.portal\.(?P<region>[a-z0-9-]+)\.api\.amazonwebservices\.eu$",
    )
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"https": 443, "http": 80}
#: The CLI's default wait for the lookup (``_DEFAULT_TIMEOUT``).
TIMEOUT = 10.0

#: One HTTP request: (method, url) -> (status, Location header). Raises ``OSError`` (or
#: ``StartUrlUnreachable``) when the host cannot be reached.
Fetch = Callable[[str, str], Awaitable[tuple[int, str | None]]]


@dataclass(frozen=True)
class Resolved:
    """Where a configured start URL leads: the URL to send and the region to use."""

    url: str
    region: str


def is_aws_owned(hostname: str) -> bool:
    """Is this an AWS access-portal host (used as written, never looked up)?"""
    host = hostname.lower().rstrip(".")
    if host in _AWS_OWNED_EXACT:
        return True
    return any(host == s.lstrip(".") or host.endswith(s) for s in _AWS_OWNED_SUFFIXES)


def region_in_host(hostname: str) -> str | None:
    """The region a regional portal host name carries, if any."""
    host = hostname.lower().rstrip(".")
    for pattern in _REGION_PATTERNS:
        match = pattern.match(host)
        if match:
            return match.group("region")
    return None


def normalize(url: str) -> str:
    """A redirect target as the CLI keeps it (``_normalize_url``)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def needs_lookup(start_url: str) -> bool:
    """False for an AWS-owned start URL; raises ``ConfigError`` for one that is not https."""
    parts = urlsplit(start_url)
    if parts.scheme != "https":
        raise ConfigError(f"the start URL {start_url} must use https")
    if not parts.hostname:
        raise ConfigError(f"the start URL {start_url!r} is not a URL")
    return not is_aws_owned(parts.hostname)


def landed(start_url: str, target: str) -> str:
    """The portal URL once the lookup of a vanity ``start_url`` ended at ``target``."""
    resolved = normalize(target)
    parts = urlsplit(resolved)
    if not parts.hostname or not is_aws_owned(parts.hostname):
        raise ConfigError(
            f"the start URL {start_url} does not lead to an AWS access portal "
            f"(it ends at {resolved}): check sso_start_url"
        )
    if parts.scheme != "https":
        raise ConfigError(f"the start URL {start_url} leads to {resolved}, which is not https")
    return resolved


async def follow(start_url: str, fetch: Fetch) -> str:
    """Where ``start_url`` redirects to (itself if it does not): one hop, as the CLI goes."""
    status, location = await fetch("HEAD", start_url)
    if status in (405, 501):
        status, location = await fetch("GET", start_url)
    if status in _REDIRECTS:
        if not location:
            raise ConfigError(f"the start URL {start_url} redirects without a Location")
        return urljoin(start_url, location)
    if not 200 <= status < 300:
        raise ConfigError(f"the start URL {start_url} answered HTTP {status}")
    return start_url


async def lookup(start_url: str, fetch: Fetch) -> str:
    """The AWS access-portal URL a vanity ``start_url`` leads to (normalised)."""
    try:
        target = await follow(start_url, fetch)
    except OSError as err:
        reason = str(err) or type(err).__name__
        host = urlsplit(start_url).hostname or start_url
        raise StartUrlUnreachable(
            f"could not look up the start URL {start_url}: its host {host} did not answer "
            f"({reason})"
        ) from None
    return landed(start_url, target)


async def resolve(start_url: str, configured_region: str | None, fetch: Fetch) -> Resolved:
    """Where to send a login for ``start_url``, and in which region (see the module doc)."""
    if not needs_lookup(start_url):
        if not configured_region:
            raise ConfigError(f"the start URL {start_url} needs an sso_region")
        return Resolved(start_url, configured_region)
    resolved = await lookup(start_url, fetch)
    region = region_in_host(urlsplit(resolved).hostname or "") or configured_region
    if not region:
        raise ConfigError(
            f"the start URL {start_url} leads to {resolved}, which does not name its region: "
            "set sso_region"
        )
    return Resolved(resolved, region)


def http_fetch(timeout: float = TIMEOUT) -> Fetch:
    """The real ``Fetch``: aiohttp, no redirects followed, under the outbound policy the
    console's federation client shares (``outbound``: AWS_CA_BUNDLE, proxies from the
    environment, never ``~/.netrc``).
    """

    async def fetch(method: str, url: str) -> tuple[int, str | None]:
        import aiohttp

        from ssod.daemon.aws import outbound

        limits = aiohttp.ClientTimeout(total=timeout)
        try:
            async with (
                outbound.session(limits, os.environ.get("AWS_CA_BUNDLE")) as session,
                session.request(
                    method, url, allow_redirects=False, proxy=outbound.proxy_for(url)
                ) as reply,
            ):
                return reply.status, reply.headers.get("Location")
        except (aiohttp.ClientError, TimeoutError) as err:
            raise OSError(type(err).__name__) from None

    return fetch
