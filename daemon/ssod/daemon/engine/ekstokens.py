"""EKS tokens served from memory: one signing per token lifetime, whatever the number of kubectls.

Owns the tokens signed so far, per (profile, role, STS host, cluster), and the credentials of the
roles ``--role-arn`` names, per (profile, role, session name): assumed once with the profile's
credentials (``RoleSessionName=EKSGetTokenAuth`` unless told, as the AWS CLI does) and kept until
they fall under the signing floor, as the broker keeps a chained profile's. The lifetime rules
are ``ekslife``'s; signing is ``ekssign``'s (HMAC only). A cold key signs once for all waiters
(single flight). A logout drops what the session's profiles signed (``forget``). Logs one line
per signing and per AssumeRole, never a token or a key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ssod.daemon.aws import ekssign
from ssod.daemon.aws.api import EksCluster
from ssod.daemon.aws.credentials import RoleCredentials
from ssod.daemon.config.model import AwsConfig
from ssod.daemon.engine import ekslife
from ssod.daemon.engine.model import Clock
from ssod.errors import AwsUnavailable, UsageError

log = logging.getLogger("ssod.eks")

#: What the AWS CLI names the role session of ``eks get-token --role-arn`` (get_token.py).
DEFAULT_SESSION_NAME = "EKSGetTokenAuth"

TokenKey = tuple[str, str, str, str]  # profile, role ARN|session ("" for none), STS host, cluster
RoleKey = tuple[str, str, str]  # profile, role ARN, session name


class CredentialSource(Protocol):
    """What EKS tokens need of the broker (``engine.broker.Broker``)."""

    @property
    def config(self) -> AwsConfig | None: ...

    def check_served(self, name: str) -> None: ...

    async def credentials(self, name: str) -> RoleCredentials: ...

    def discard(self, name: str) -> None: ...


class EksAws(Protocol):
    """The AWS calls EKS tokens and kubeconfig entries need (``aws.api.BotocoreAws``)."""

    async def assume_role(
        self,
        source: RoleCredentials,
        region: str,
        role_arn: str,
        session_name: str,
        *,
        duration_seconds: int | None = None,
        external_id: str | None = None,
    ) -> RoleCredentials: ...

    async def describe_cluster(
        self, source: RoleCredentials, region: str, name: str
    ) -> EksCluster: ...


@dataclass(frozen=True)
class EksRequest:
    """One ``eks get-token``: whose credentials, which cluster, which STS endpoint."""

    profile: str
    cluster: str
    region: str | None = None
    role_arn: str | None = None
    session_name: str | None = None
    fips: bool = False
    dualstack: bool = False


@dataclass(frozen=True)
class EksToken:
    """A signed token and the end reported to kubectl."""

    token: str = field(repr=False)
    expires_at: datetime
    region: str
    host: str


class EksTokens:
    """Signs EKS tokens with the broker's credentials and hands each out for its lifetime."""

    def __init__(self, broker: CredentialSource, aws: EksAws, clock: Clock) -> None:
        self._broker = broker
        self._aws = aws
        self._clock = clock
        self._tokens: dict[TokenKey, EksToken] = {}
        self._signing: dict[TokenKey, asyncio.Task[EksToken]] = {}
        self._roles: dict[RoleKey, RoleCredentials] = {}
        self._assuming: dict[RoleKey, asyncio.Task[RoleCredentials]] = {}

    def region_for(self, request: EksRequest) -> str:
        """The region asked for, else the profile's, else the global STS endpoint's."""
        if request.region:
            return request.region
        config = self._broker.config
        found = config.profiles.get(request.profile) if config is not None else None
        return (found.region if found is not None else None) or ekssign.GLOBAL_REGION

    async def token(self, request: EksRequest) -> EksToken:
        """A token for ``request``: the one held while reusable, else a new signing."""
        self._broker.check_served(request.profile)
        region = self.region_for(request)
        try:
            host = ekssign.sts_host(region, fips=request.fips, dualstack=request.dualstack)
        except ekssign.UnsupportedEndpoint as err:
            raise UsageError(str(err)) from None
        role = f"{request.role_arn}|{request.session_name or DEFAULT_SESSION_NAME}"
        key = (request.profile, role if request.role_arn else "", host, request.cluster)
        held = self._tokens.get(key)
        if held is not None and ekslife.reusable(held.expires_at, self._clock.now()):
            return held
        task = self._signing.get(key)
        if task is None:
            task = asyncio.create_task(self._sign(key, request, region, host), name="eks sign")
            self._signing[key] = task
            task.add_done_callback(lambda _t: self._signing.pop(key, None))
        return await asyncio.shield(task)

    async def _sign(self, key: TokenKey, request: EksRequest, region: str, host: str) -> EksToken:
        creds = await self._signing_credentials(request, region)
        now = self._clock.now()
        end = ekslife.token_end(now, creds.expiration)
        if not ekslife.printable(end, now):
            raise AwsUnavailable(
                f"the credentials of profile {request.profile} expire too soon to sign an EKS "
                "token and could not be refreshed; ssod will retry"
            )
        signer = ekssign.Signer(creds.access_key_id, creds.secret_access_key, creds.session_token)
        url = ekssign.presign(signer, host, region, request.cluster, now)
        issued = EksToken(ekssign.token(url), end, region, host)
        for stale in [
            k for k, t in self._tokens.items() if not ekslife.printable(t.expires_at, now)
        ]:
            del self._tokens[stale]  # ended: no request will be answered with it again
        self._tokens[key] = issued
        log.info(
            "event=eks_token_signed profile=%s role=%s host=%s cluster=%s expires_at=%s",
            request.profile,
            request.role_arn or "-",
            host,
            request.cluster,
            end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        return issued

    async def _signing_credentials(self, request: EksRequest, region: str) -> RoleCredentials:
        if request.role_arn:
            return await self._role_credentials(request, region)
        creds = await self._broker.credentials(request.profile)
        if not ekslife.fit_to_sign(creds.expiration, self._clock.now()):
            self._broker.discard(request.profile)  # refresh first
            creds = await self._broker.credentials(request.profile)
        return creds

    async def _role_credentials(self, request: EksRequest, region: str) -> RoleCredentials:
        assert request.role_arn is not None
        key = (request.profile, request.role_arn, request.session_name or DEFAULT_SESSION_NAME)
        held = self._roles.get(key)
        if held is not None and ekslife.fit_to_sign(held.expiration, self._clock.now()):
            return held
        task = self._assuming.get(key)
        if task is None:
            task = asyncio.create_task(self._assume(key, region), name="eks assume role")
            self._assuming[key] = task
            task.add_done_callback(lambda _t: self._assuming.pop(key, None))
        return await asyncio.shield(task)

    async def _assume(self, key: RoleKey, region: str) -> RoleCredentials:
        profile, role_arn, session_name = key
        source = await self._broker.credentials(profile)
        sts_region = region if region != ekssign.GLOBAL_REGION else "us-east-1"
        creds = await self._aws.assume_role(source, sts_region, role_arn, session_name)
        self._roles[key] = creds
        log.info("event=eks_role_assumed profile=%s role=%s", profile, role_arn)
        return creds

    async def cluster(self, profile: str, region: str | None, name: str) -> EksCluster:
        """EKS DescribeCluster for ``name`` with the profile's credentials."""
        request = EksRequest(profile=profile, cluster=name, region=region)
        self._broker.check_served(profile)
        creds = await self._broker.credentials(profile)
        region = self.region_for(request)
        if region == ekssign.GLOBAL_REGION:
            region = "us-east-1"  # botocore's default for a global endpoint
        return await self._aws.describe_cluster(creds, region, name)

    def forget(self, profiles: Set[str]) -> None:
        """Drop the tokens and role credentials of ``profiles`` (their session logged out)."""
        for token_key in [k for k in self._tokens if k[0] in profiles]:
            del self._tokens[token_key]
        for role_key in [k for k in self._roles if k[0] in profiles]:
            del self._roles[role_key]

    async def close(self) -> None:
        """Cancel what is in flight."""
        tasks = [*self._signing.values(), *self._assuming.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
