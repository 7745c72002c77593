"""Helpers for the emulator tests: real botocore clients pointed at a running emulator."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
START_URL = "https://d-1234567890.awsapps.com/start"
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def client(service: str, url: str, **kwargs: Any) -> Any:
    """A boto3 client for the emulator at ``url``, without retries."""
    return boto3.client(
        service, region_name="us-east-1", endpoint_url=url, config=NO_RETRIES, **kwargs
    )


def sts_with(url: str, creds: dict[str, str]) -> Any:
    """An STS client signing with portal-style (camelCase) role credentials."""
    return client(
        "sts",
        url,
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
    )


@dataclass
class Login:
    """A registered client and the token its device flow produced."""

    client_id: str
    client_secret: str
    access_token: str
    refresh_token: str | None


def device_login(oidc: Any, scopes: list[str] | None = None, poll: bool = False) -> Login:
    """Register and complete the device flow; ``poll`` waits for a delayed approval."""
    extra = {"scopes": scopes} if scopes is not None else {}
    reg = oidc.register_client(clientName="botocore-client-test", clientType="public", **extra)
    auth = oidc.start_device_authorization(
        clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=START_URL
    )
    args = {
        "clientId": reg["clientId"],
        "clientSecret": reg["clientSecret"],
        "grantType": DEVICE_GRANT,
        "deviceCode": auth["deviceCode"],
    }
    deadline = time.monotonic() + 10
    while True:
        try:
            token = oidc.create_token(**args)
            break
        except oidc.exceptions.AuthorizationPendingException:
            if not poll or time.monotonic() > deadline:
                raise
            time.sleep(auth["interval"])
    return Login(
        reg["clientId"], reg["clientSecret"], token["accessToken"], token.get("refreshToken")
    )
