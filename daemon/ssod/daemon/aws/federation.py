"""The one HTTP call console sign-in needs: ``getSigninToken`` on the AWS federation endpoint.

The federation endpoint is not an SDK operation, so this is a plain aiohttp client under the
outbound policy the start-URL lookup shares (``outbound``: the system trust store or
``AWS_CA_BUNDLE``, proxies from the environment as botocore reads them, never ``~/.netrc``), with
a short timeout. The role credentials travel only in the request body (the ``Session`` field of
a form POST, as the AWS Toolkit for JetBrains sends it), so they appear in no URL and no proxy
log; the answer's token is returned, never logged. A refusal (4xx) is ``FederationRefused``;
no answer, throttling or a 5xx is ``AwsUnavailable``.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import aiohttp

from ssod.daemon.aws import outbound
from ssod.daemon.aws.credentials import RoleCredentials
from ssod.errors import AwsUnavailable, FederationRefused

log = logging.getLogger("ssod.federation")

TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5)


class FederationClient:
    """Asks the federation endpoint for sign-in tokens (one HTTP session, opened lazily)."""

    def __init__(self, ca_bundle: str | None = None) -> None:
        self._ca_bundle = ca_bundle
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = outbound.session(TIMEOUT, self._ca_bundle)
        return self._session

    async def signin_token(
        self, federation_url: str, creds: RoleCredentials, duration: int | None
    ) -> str:
        """A sign-in token for ``creds``; ``duration`` is the console session's SessionDuration."""
        session = json.dumps(
            {
                "sessionId": creds.access_key_id,
                "sessionKey": creds.secret_access_key,
                "sessionToken": creds.session_token,
            }
        )
        form = {"Action": "getSigninToken", "Session": session}
        if duration is not None:
            form["SessionDuration"] = str(duration)
        try:
            proxy = outbound.proxy_for(federation_url)
            async with self._client().post(federation_url, data=form, proxy=proxy) as resp:
                body = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as err:
            host = urlsplit(federation_url).netloc or federation_url
            if isinstance(err, aiohttp.ClientConnectorError):
                why = f"cannot connect to {host}"
            elif isinstance(err, TimeoutError):
                why = f"{host} did not answer in time"
            else:
                why = f"{host} did not answer (the connection failed)"
            raise AwsUnavailable(f"the AWS sign-in endpoint failed: {why}") from None
        log.info("event=signin_token status=%d account=%s", status, creds.account_id)
        if status == 429 or status >= 500:
            raise AwsUnavailable(f"the AWS sign-in endpoint answered HTTP {status}")
        if status != 200:
            raise FederationRefused(
                f"the AWS sign-in endpoint refused (HTTP {status}) the credentials"
            )
        try:
            token = json.loads(body)["SigninToken"]
        except (ValueError, KeyError, TypeError):
            token = None
        if not isinstance(token, str) or not token:
            raise AwsUnavailable("the AWS sign-in endpoint answered without a SigninToken")
        return token

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
