"""Console sign-in: a profile's role credentials exchanged for an AWS console login URL.

Plans the sign-in (``aws.console``: partition, region, destination, duration), asks the
federation endpoint for a sign-in token with the broker's credentials, and retries once with
new credentials when the endpoint refuses those it was given (revoked or expired ahead of
their time: a logout elsewhere, a clock off); a second refusal is the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ssod.daemon.aws import console
from ssod.daemon.aws.credentials import RoleCredentials
from ssod.daemon.aws.federation import FederationClient
from ssod.daemon.engine.broker import Broker
from ssod.errors import FederationRefused, SessionNotFound


@dataclass(frozen=True)
class ConsoleOpening:
    """A console login URL and what it leads to."""

    url: str
    plan: console.ConsolePlan
    creds: RoleCredentials


class ConsoleSignin:
    """Builds console login URLs for served profiles."""

    def __init__(
        self, broker: Broker, federation: FederationClient, endpoint_override: str | None
    ) -> None:
        self._broker = broker
        self._federation = federation
        self._endpoint_override = endpoint_override

    async def open(
        self,
        profile: str,
        *,
        destination: str | None = None,
        region: str | None = None,
        duration: str | None = None,
    ) -> ConsoleOpening:
        """A login URL for ``profile``; raises the plan's errors or ``FederationRefused``."""
        broker = self._broker
        config = broker.config
        if config is None:
            raise SessionNotFound("no configuration loaded")
        plan = console.plan(
            profile,
            config.profile(profile),
            config.sso_root(profile),
            destination_arg=destination,
            region_arg=region,
            duration_arg=duration,
            endpoint_override=self._endpoint_override,
        )
        creds = await broker.credentials(profile)
        try:
            token = await self._federation.signin_token(plan.federation_url, creds, plan.duration)
        except FederationRefused:
            broker.discard(profile)
            creds = await broker.credentials(profile)
            try:
                token = await self._federation.signin_token(
                    plan.federation_url, creds, plan.duration
                )
            except FederationRefused as err:
                raise FederationRefused(
                    f"{err.message} of profile {profile}, new ones too: the console cannot be "
                    f"opened with them (`ssod status` shows the profile)"
                ) from None
        url = console.login_url(plan.federation_url, plan.destination, token)
        return ConsoleOpening(url=url, plan=plan, creds=creds)
