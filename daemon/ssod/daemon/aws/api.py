"""Every call ssod makes to AWS: the only module that imports aiobotocore.

``AwsApi`` is the seam the broker and the login flows talk to. ``BotocoreAws`` implements it
with aiobotocore clients that honour the standard settings (``AWS_ENDPOINT_URL_SSO_OIDC``,
``AWS_ENDPOINT_URL_SSO``, ``AWS_ENDPOINT_URL_STS``, ``AWS_CA_BUNDLE``, proxies). Botocore errors
are translated here, once: into ``ssod.errors`` classes, or into ``OidcProblem`` /
``TokenRejected`` that the broker and login flows decide about. No secret reaches a message.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore import UNSIGNED
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ProxyConnectionError,
    ReadTimeoutError,
    SSLError,
)

from ssod.daemon.aws.credentials import RoleCredentials
from ssod.errors import AwsError, AwsUnavailable, RoleAccessDenied

log = logging.getLogger("ssod.aws")

#: Two attempts in all (botocore's ``max_attempts`` would count retries only); the broker adds
#: its own backoff on top, and the ECS endpoint never waits on either beyond one second.
_RETRIES = {"mode": "standard", "total_max_attempts": 2}


class OidcProblem(Exception):
    """sso-oidc said no; ``kind`` is the OAuth error (``authorization_pending``, ``slow_down``,
    ``expired_token``, ``access_denied``, ``invalid_grant``, ``invalid_client``, ...)."""

    def __init__(self, kind: str, operation: str) -> None:
        super().__init__(f"{operation}: {kind}")
        self.kind = kind


class TokenRejected(Exception):
    """The SSO portal refused the access token (401), even if its expiresAt lies ahead."""


class PortalThrottled(Exception):
    """The SSO portal throttled a listing call (TooManyRequestsException), botocore's retry
    too; the lister pauses and asks again (``engine.listing``). ``message`` says which call."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class TokenGrant:
    """What CreateToken returns."""

    access_token: str = field(repr=False)
    expires_in: int
    refresh_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ClientRegistration:
    """What RegisterClient returns."""

    client_id: str
    client_secret: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class DeviceAuthorization:
    """What StartDeviceAuthorization returns."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class Account:
    """One account the signed-in user can use."""

    account_id: str
    name: str
    email: str


@dataclass(frozen=True)
class EksCluster:
    """What ``aws eks update-kubeconfig`` takes from DescribeCluster."""

    name: str
    arn: str
    endpoint: str
    certificate_authority: str
    status: str


class AwsApi(Protocol):
    """The AWS operations ssod needs. Implemented by BotocoreAws."""

    async def register_client(
        self,
        region: str,
        client_name: str,
        scopes: Sequence[str] | None,
        *,
        grant_types: Sequence[str] | None = None,
        redirect_uris: Sequence[str] | None = None,
        issuer_url: str | None = None,
    ) -> ClientRegistration: ...

    async def start_device_authorization(
        self, region: str, client_id: str, client_secret: str, start_url: str
    ) -> DeviceAuthorization: ...

    async def create_token(self, region: str, **params: str) -> TokenGrant: ...

    async def get_role_credentials(
        self, region: str, access_token: str, account_id: str, role_name: str
    ) -> RoleCredentials: ...

    async def list_accounts(self, region: str, access_token: str) -> list[Account]: ...

    async def list_account_roles(
        self, region: str, access_token: str, account_id: str
    ) -> list[str]: ...

    async def logout(self, region: str, access_token: str) -> None: ...

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

    def oidc_endpoint(self, region: str) -> str: ...

    async def has_oidc_endpoint(self, region: str) -> bool: ...

    async def close(self) -> None: ...


def _error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _status(err: ClientError) -> int:
    return int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


_OIDC_KINDS = {
    "AuthorizationPendingException": "authorization_pending",
    "SlowDownException": "slow_down",
    "ExpiredTokenException": "expired_token",
    "AccessDeniedException": "access_denied",
    "InvalidGrantException": "invalid_grant",
    "InvalidClientException": "invalid_client",
    "UnauthorizedClientException": "unauthorized_client",
    "InvalidRequestException": "invalid_request",
    "InvalidScopeException": "invalid_scope",
    "UnsupportedGrantTypeException": "unsupported_grant_type",
    "InvalidClientMetadataException": "invalid_client_metadata",
    "InvalidRedirectUriException": "invalid_redirect_uri",
}


#: Throttling error codes of the portal (botocore's retry handler's list, the ones it sends).
_THROTTLING = frozenset({"TooManyRequestsException", "ThrottlingException", "Throttling"})


def _unavailable(operation: str, err: Exception) -> AwsUnavailable:
    """What failed, once, in plain words: AWS's answer, or why none came (never a class name).

    The caller says what happens next (the broker retries; a command's user is told to try
    again), so no advice here. ``operation`` is the API's name or aiobotocore's method name.
    """
    name = "".join(part[:1].upper() + part[1:] for part in operation.split("_"))
    if isinstance(err, ClientError):
        detail = f"{_error_code(err) or 'error'} (HTTP {_status(err)})"
    else:
        detail = transport_failure(err)
    return AwsUnavailable(f"AWS {name} failed: {detail}")


#: Why no answer came, by the transport error's class; first match wins (subclasses first).
_TRANSPORT_FAILURES: tuple[tuple[type[Exception], str], ...] = (
    (SSLError, "the TLS connection to {host} failed (is AWS_CA_BUNDLE right?)"),
    (ProxyConnectionError, "cannot connect to the proxy for {host}"),
    (ConnectTimeoutError, "{host} did not accept a connection in time"),
    (EndpointConnectionError, "cannot connect to {host}"),
    (ReadTimeoutError, "{host} did not answer in time"),
    (ConnectionClosedError, "{host} closed the connection without answering"),
)


def transport_failure(err: Exception) -> str:
    """Why no answer came from an endpoint, in words: refused, timed out, TLS, closed."""
    kwargs = getattr(err, "kwargs", None)
    url = kwargs.get("endpoint_url") if isinstance(kwargs, dict) else None
    host = (urlsplit(url).netloc or url) if isinstance(url, str) and url else "the endpoint"
    for kind, words in _TRANSPORT_FAILURES:
        if isinstance(err, kind):
            return words.format(host=host)
    log.warning("event=aws_client_error kind=%s", type(err).__name__)
    return f"no answer from {host} (the daemon's log names the error)"


class BotocoreAws:
    """AwsApi over aiobotocore. Clients are created once per (service, region) and reused."""

    def __init__(self, *, connect_timeout: float = 5.0, read_timeout: float = 10.0) -> None:
        self._session = _isolated_session()
        self._stack = AsyncExitStack()
        self._clients: dict[tuple[str, str], Any] = {}
        self._oidc_regions: frozenset[str] | None = None
        self._config = AioConfig(
            signature_version=UNSIGNED,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries=_RETRIES,
        )
        self._signed_config = AioConfig(
            connect_timeout=connect_timeout, read_timeout=read_timeout, retries=_RETRIES
        )

    async def _client(self, service: str, region: str) -> Any:
        key = (service, region)
        client = self._clients.get(key)
        if client is None:
            creator = self._session.create_client(service, region_name=region, config=self._config)
            client = await self._stack.enter_async_context(creator)
            self._clients[key] = client
        return client

    def oidc_endpoint(self, region: str) -> str:
        """The sso-oidc base URL for ``region`` (the PKCE authorize URL is built on it)."""
        override = _oidc_override()
        if override:
            return override.rstrip("/")
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        return f"https://oidc.{region}.{suffix}"

    async def has_oidc_endpoint(self, region: str) -> bool:
        """Whether sso-oidc calls for ``region`` can reach IAM Identity Center at all.

        True for every region when an endpoint override is set (the emulator); otherwise the
        region must be one botocore's endpoint data lists for sso-oidc in some partition (a
        made-up ``ap-northeast-9`` would only fail later, as a connection error).
        """
        if _oidc_override():
            return True
        if self._oidc_regions is None:
            session = self._session
            found: set[str] = set()
            for partition in session.get_available_partitions():
                found.update(
                    await session.get_available_regions("sso-oidc", partition_name=partition)
                )
            self._oidc_regions = frozenset(found)
        return region in self._oidc_regions

    async def register_client(
        self,
        region: str,
        client_name: str,
        scopes: Sequence[str] | None,
        *,
        grant_types: Sequence[str] | None = None,
        redirect_uris: Sequence[str] | None = None,
        issuer_url: str | None = None,
    ) -> ClientRegistration:
        """RegisterClient, with exactly the members the AWS CLI sends (docs/protocols.md 1.2)."""
        params: dict[str, Any] = {"clientName": client_name, "clientType": "public"}
        if scopes:
            params["scopes"] = list(scopes)
        if grant_types:
            params["grantTypes"] = list(grant_types)
        if redirect_uris:
            params["redirectUris"] = list(redirect_uris)
        if issuer_url:
            params["issuerUrl"] = issuer_url
        reply = await self._oidc_call(region, "register_client", params)
        return ClientRegistration(
            client_id=reply["clientId"],
            client_secret=reply["clientSecret"],
            expires_at=datetime.fromtimestamp(int(reply["clientSecretExpiresAt"]), UTC),
        )

    async def start_device_authorization(
        self, region: str, client_id: str, client_secret: str, start_url: str
    ) -> DeviceAuthorization:
        """StartDeviceAuthorization."""
        reply = await self._oidc_call(
            region,
            "start_device_authorization",
            {"clientId": client_id, "clientSecret": client_secret, "startUrl": start_url},
        )
        return DeviceAuthorization(
            device_code=reply["deviceCode"],
            user_code=reply["userCode"],
            verification_uri=reply["verificationUri"],
            verification_uri_complete=reply.get("verificationUriComplete")
            or reply["verificationUri"],
            expires_in=int(reply["expiresIn"]),
            interval=int(reply.get("interval") or 5),
        )

    async def create_token(self, region: str, **params: str) -> TokenGrant:
        """CreateToken with the given members (clientId, clientSecret, grantType, ...)."""
        reply = await self._oidc_call(region, "create_token", dict(params))
        return TokenGrant(
            access_token=reply["accessToken"],
            expires_in=int(reply["expiresIn"]),
            refresh_token=reply.get("refreshToken"),
        )

    async def _oidc_call(self, region: str, method: str, params: dict[str, Any]) -> Any:
        try:
            client = await self._client("sso-oidc", region)
            return await getattr(client, method)(**params)
        except ClientError as err:
            kind = _OIDC_KINDS.get(_error_code(err))
            if kind is not None:
                raise OidcProblem(kind, method) from None
            raise _unavailable(method, err) from None
        except BotoCoreError as err:
            raise _unavailable(method, err) from None

    async def _portal_call(
        self, region: str, method: str, params: dict[str, Any], *, paced: bool = False
    ) -> Any:
        try:
            client = await self._client("sso", region)
            return await getattr(client, method)(**params)
        except ClientError as err:
            code = _error_code(err)
            if code == "UnauthorizedException":
                raise TokenRejected(method) from None
            if paced and code in _THROTTLING:
                raise PortalThrottled(_unavailable(method, err).message) from None
            if code in {"ForbiddenException", "ResourceNotFoundException"}:
                raise RoleAccessDenied(
                    f"IAM Identity Center refused {method}: {code}; check the account and role"
                ) from None
            raise _unavailable(method, err) from None
        except BotoCoreError as err:
            raise _unavailable(method, err) from None

    async def get_role_credentials(
        self, region: str, access_token: str, account_id: str, role_name: str
    ) -> RoleCredentials:
        """GetRoleCredentials; ``expiration`` arrives in epoch milliseconds."""
        reply = await self._portal_call(
            region,
            "get_role_credentials",
            {"accessToken": access_token, "accountId": account_id, "roleName": role_name},
        )
        creds = reply["roleCredentials"]
        return RoleCredentials(
            access_key_id=creds["accessKeyId"],
            secret_access_key=creds["secretAccessKey"],
            session_token=creds["sessionToken"],
            expiration=datetime.fromtimestamp(int(creds["expiration"]) / 1000, UTC),
            account_id=account_id,
        )

    async def list_accounts(self, region: str, access_token: str) -> list[Account]:
        """ListAccounts, all pages; PortalThrottled when throttled."""
        accounts: list[Account] = []
        params: dict[str, Any] = {"accessToken": access_token}
        while True:
            reply = await self._portal_call(region, "list_accounts", params, paced=True)
            accounts.extend(
                Account(
                    account_id=a["accountId"],
                    name=a.get("accountName", ""),
                    email=a.get("emailAddress", ""),
                )
                for a in reply.get("accountList", [])
            )
            if not reply.get("nextToken"):
                return accounts
            params["nextToken"] = reply["nextToken"]

    async def list_account_roles(
        self, region: str, access_token: str, account_id: str
    ) -> list[str]:
        """ListAccountRoles, all pages: the role names; PortalThrottled when throttled."""
        roles: list[str] = []
        params: dict[str, Any] = {"accessToken": access_token, "accountId": account_id}
        while True:
            reply = await self._portal_call(region, "list_account_roles", params, paced=True)
            roles.extend(r["roleName"] for r in reply.get("roleList", []))
            if not reply.get("nextToken"):
                return roles
            params["nextToken"] = reply["nextToken"]

    async def logout(self, region: str, access_token: str) -> None:
        """Portal Logout: revoke the session server-side."""
        await self._portal_call(region, "logout", {"accessToken": access_token})

    async def assume_role(
        self,
        source: RoleCredentials,
        region: str,
        role_arn: str,
        session_name: str,
        *,
        duration_seconds: int | None = None,
        external_id: str | None = None,
    ) -> RoleCredentials:
        """STS AssumeRole with ``source`` credentials (role chaining)."""
        params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": session_name}
        if duration_seconds:
            params["DurationSeconds"] = duration_seconds
        if external_id:
            params["ExternalId"] = external_id
        creator = self._signed_client("sts", region, source)
        try:
            async with creator as sts:
                reply = await sts.assume_role(**params)
        except ClientError as err:
            if _error_code(err) in {"AccessDenied", "AccessDeniedException"}:
                raise RoleAccessDenied(f"STS refused AssumeRole for {role_arn}") from None
            raise _unavailable("AssumeRole", err) from None
        except BotoCoreError as err:
            raise _unavailable("AssumeRole", err) from None
        creds = reply["Credentials"]
        expiration = creds["Expiration"]
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        return RoleCredentials(
            access_key_id=creds["AccessKeyId"],
            secret_access_key=creds["SecretAccessKey"],
            session_token=creds["SessionToken"],
            expiration=expiration.astimezone(UTC),
            account_id=role_arn.split(":")[4] if role_arn.count(":") >= 5 else source.account_id,
            role_arn=reply.get("AssumedRoleUser", {}).get("Arn") or role_arn,
        )

    def _signed_client(self, service: str, region: str, source: RoleCredentials) -> Any:
        """A one-off client of ``service`` signing with ``source``, for ``async with``."""
        return self._session.create_client(
            service,
            region_name=region,
            config=self._signed_config,
            aws_access_key_id=source.access_key_id,
            aws_secret_access_key=source.secret_access_key,
            aws_session_token=source.session_token,
        )

    async def describe_cluster(self, source: RoleCredentials, region: str, name: str) -> EksCluster:
        """EKS DescribeCluster with ``source`` credentials (``AWS_ENDPOINT_URL_EKS`` honoured)."""
        creator = self._signed_client("eks", region, source)
        try:
            async with creator as eks:
                reply = await eks.describe_cluster(name=name)
        except ClientError as err:
            code = _error_code(err)
            if code == "ResourceNotFoundException":
                raise AwsError(f"EKS has no cluster named {name!r} in {region}") from None
            if code in {"AccessDeniedException", "AccessDenied"}:
                raise RoleAccessDenied(f"EKS refused DescribeCluster for {name!r}") from None
            raise _unavailable("DescribeCluster", err) from None
        except BotoCoreError as err:
            raise _unavailable("DescribeCluster", err) from None
        cluster = reply["cluster"]
        return EksCluster(
            name=str(cluster.get("name", name)),
            arn=str(cluster.get("arn", "")),
            endpoint=str(cluster.get("endpoint", "")),
            certificate_authority=str(cluster.get("certificateAuthority", {}).get("data", "")),
            status=str(cluster.get("status", "")),
        )

    async def close(self) -> None:
        """Close every client and its connection pool."""
        self._clients.clear()
        await self._stack.aclose()


def _oidc_override() -> str | None:
    """The sso-oidc endpoint the environment sets, as botocore reads it (or None)."""
    return os.environ.get("AWS_ENDPOINT_URL_SSO_OIDC") or os.environ.get("AWS_ENDPOINT_URL")


def _isolated_session() -> AioSession:
    """An aiobotocore session that ignores the user's profiles.

    ssod's own calls must not depend on ``AWS_PROFILE`` naming a profile botocore cannot load,
    nor on a broken ``~/.aws/config`` (botocore parses it when creating a client), nor pick up
    ssod's own container endpoint as a credential source. Endpoint, CA bundle and proxy
    settings still come from the environment.
    """
    # No environment lookup for the profile name: with no profile botocore uses an empty
    # default, where a missing AWS_PROFILE profile would raise ProfileNotFound.
    session = AioSession(session_vars={"profile": (None, None, None, None)})
    session.set_config_variable("config_file", os.devnull)
    session.set_config_variable("credentials_file", os.devnull)
    return session
