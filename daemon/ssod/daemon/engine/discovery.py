"""What the configure wizard asks before any login: where a start URL leads, and whether a
region has IAM Identity Center.

A vanity start URL (one not on an AWS-owned host) is looked up as every login of it is
(``aws.starturl``); the region an AWS portal URL names is read from its host. A region has
Identity Center when the SDK knows an sso-oidc endpoint for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ssod.daemon.aws import starturl
from ssod.daemon.aws.api import AwsApi


@dataclass(frozen=True)
class StartUrlAnswer:
    """Where a start URL leads: the portal URL, the region its host names, whether looked up."""

    start_url: str
    region: str | None
    looked_up: bool


class Discovery:
    """Answers the wizard's questions about start URLs and regions."""

    def __init__(self, aws: AwsApi, fetch: starturl.Fetch | None = None) -> None:
        self._aws = aws
        self._fetch = fetch or starturl.http_fetch()

    async def has_identity_center(self, region: str) -> bool:
        """Whether ``region`` has an IAM Identity Center (sso-oidc) endpoint."""
        return await self._aws.has_oidc_endpoint(region)

    async def start_url(self, url: str) -> StartUrlAnswer:
        """Where ``url`` leads; a URL on an AWS-owned host is its own answer, not looked up."""
        if not starturl.needs_lookup(url):
            return StartUrlAnswer(start_url=url, region=None, looked_up=False)
        portal = await starturl.lookup(url, self._fetch)
        region = starturl.region_in_host(urlsplit(portal).hostname or "")
        return StartUrlAnswer(start_url=portal, region=region, looked_up=True)
