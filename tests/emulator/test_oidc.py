"""sso-oidc through real botocore clients: registration, device flow, refresh, errors."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from emulator_support import DEVICE_GRANT, START_URL, client, device_login
from ssod.emulator.testing.background import BackgroundEmulator


def test_register_client_shape(oidc: Any) -> None:
    before = int(time.time())
    reg = oidc.register_client(clientName="botocore-client-x", clientType="public")
    assert reg["clientId"] and reg["clientSecret"]
    assert before <= reg["clientIdIssuedAt"] <= before + 2
    assert reg["clientSecretExpiresAt"] == reg["clientIdIssuedAt"] + 90 * 86400


def test_register_rejects_non_public_clients(oidc: Any) -> None:
    with pytest.raises(oidc.exceptions.InvalidClientMetadataException):
        oidc.register_client(clientName="x", clientType="confidential")
    with pytest.raises(oidc.exceptions.InvalidRedirectUriException):
        oidc.register_client(
            clientName="x",
            clientType="public",
            grantTypes=["authorization_code"],
            redirectUris=["https://evil.example.com/cb"],
        )


def test_device_flow_pending_then_slow_down_then_token(ssod_emulator_factory: Any) -> None:
    emu: BackgroundEmulator = ssod_emulator_factory(approve_delay=1.0)
    oidc = client("sso-oidc", emu.url)
    reg = oidc.register_client(clientName="x", clientType="public", scopes=["sso:account:access"])
    auth = oidc.start_device_authorization(
        clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=START_URL
    )
    assert auth["interval"] == 1 and auth["expiresIn"] == 600
    assert auth["verificationUriComplete"] == f"{emu.url}/device?user_code={auth['userCode']}"
    args = {
        "clientId": reg["clientId"],
        "clientSecret": reg["clientSecret"],
        "grantType": DEVICE_GRANT,
        "deviceCode": auth["deviceCode"],
    }
    # Two polls back to back, as the AWS CLI v2 does, are both "pending"; a third is too fast.
    for _ in range(2):
        with pytest.raises(oidc.exceptions.AuthorizationPendingException):
            oidc.create_token(**args)
    with pytest.raises(oidc.exceptions.SlowDownException):
        oidc.create_token(**args)
    emu.advance_clock(1.0)  # the polling interval passes on the emulator's clock
    token = oidc.create_token(**args)
    assert token["tokenType"] == "Bearer" and token["expiresIn"] == 8 * 3600
    assert token["refreshToken"]
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(**args)  # a device code is single-use
    assert emu.calls()["CreateToken:device_code"] == 5


def test_no_refresh_token_without_scopes(oidc: Any) -> None:
    assert device_login(oidc).refresh_token is None


def test_refresh_with_rotation(oidc: Any, login: Any) -> None:
    args = {"clientId": login.client_id, "clientSecret": login.client_secret}
    new = oidc.create_token(grantType="refresh_token", refreshToken=login.refresh_token, **args)
    assert new["refreshToken"] != login.refresh_token
    assert new["accessToken"] != login.access_token
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(grantType="refresh_token", refreshToken=login.refresh_token, **args)
    oidc.create_token(grantType="refresh_token", refreshToken=new["refreshToken"], **args)


def test_refresh_without_rotation(emu: BackgroundEmulator, oidc: Any, login: Any) -> None:
    emu.settings(refresh_rotation=False)
    args = {"clientId": login.client_id, "clientSecret": login.client_secret}
    for _ in range(2):
        new = oidc.create_token(grantType="refresh_token", refreshToken=login.refresh_token, **args)
        assert new["refreshToken"] == login.refresh_token


def test_revoked_refresh_token_is_invalid_grant(
    emu: BackgroundEmulator, oidc: Any, login: Any
) -> None:
    assert emu.revoke_refresh_tokens() == 1
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(
            clientId=login.client_id,
            clientSecret=login.client_secret,
            grantType="refresh_token",
            refreshToken=login.refresh_token,
        )


def test_expired_registration_is_invalid_client(
    emu: BackgroundEmulator, oidc: Any, login: Any
) -> None:
    emu.advance_clock(91 * 86400)
    with pytest.raises(oidc.exceptions.InvalidClientException) as info:
        oidc.create_token(
            clientId=login.client_id,
            clientSecret=login.client_secret,
            grantType="refresh_token",
            refreshToken=login.refresh_token,
        )
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401


def test_expired_and_denied_device_codes(ssod_emulator_factory: Any) -> None:
    emu: BackgroundEmulator = ssod_emulator_factory(auto_approve=False)
    oidc = client("sso-oidc", emu.url)
    reg = oidc.register_client(clientName="x", clientType="public")
    creds = {"clientId": reg["clientId"], "clientSecret": reg["clientSecret"]}
    first = oidc.start_device_authorization(startUrl=START_URL, **creds)
    second = oidc.start_device_authorization(startUrl=START_URL, **creds)
    assert emu.deny(user_code=second["userCode"]) == 1
    with pytest.raises(oidc.exceptions.AccessDeniedException):
        oidc.create_token(grantType=DEVICE_GRANT, deviceCode=second["deviceCode"], **creds)
    emu.advance_clock(601)
    with pytest.raises(oidc.exceptions.ExpiredTokenException):
        oidc.create_token(grantType=DEVICE_GRANT, deviceCode=first["deviceCode"], **creds)


def test_manual_approval_via_control_api_and_verification_page(ssod_emulator_factory: Any) -> None:
    emu: BackgroundEmulator = ssod_emulator_factory(auto_approve=False, device_interval=0)
    oidc = client("sso-oidc", emu.url)
    reg = oidc.register_client(clientName="x", clientType="public")
    creds = {"clientId": reg["clientId"], "clientSecret": reg["clientSecret"]}
    for approve in ("control", "page"):
        auth = oidc.start_device_authorization(startUrl=START_URL, **creds)
        with pytest.raises(oidc.exceptions.AuthorizationPendingException):
            oidc.create_token(grantType=DEVICE_GRANT, deviceCode=auth["deviceCode"], **creds)
        if approve == "control":
            assert emu.approve() == 1
        else:
            with urllib.request.urlopen(auth["verificationUriComplete"]) as page:
                assert b"<form" in page.read()
            form = f"user_code={auth['userCode']}".encode()
            with urllib.request.urlopen(f"{emu.url}/device", data=form) as page:
                assert b"approved" in page.read()
        token = oidc.create_token(grantType=DEVICE_GRANT, deviceCode=auth["deviceCode"], **creds)
        assert token["accessToken"]


def test_error_wire_shape_and_missing_content_type(emu: BackgroundEmulator) -> None:
    body = json.dumps({"clientId": "nope", "clientSecret": "x", "grantType": "refresh_token"})
    req = urllib.request.Request(f"{emu.url}/token", data=body.encode(), method="POST")
    req.remove_header("Content-type")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req)
    err = info.value
    assert err.code == 401
    assert err.headers["x-amzn-ErrorType"].startswith("InvalidClientException:http://")
    assert json.loads(err.read()) == {
        "error": "invalid_client",
        "error_description": "Invalid client provided",
    }
    err.close()


def test_unsupported_grant_type(oidc: Any, login: Any) -> None:
    with pytest.raises(oidc.exceptions.UnsupportedGrantTypeException):
        oidc.create_token(
            clientId=login.client_id, clientSecret=login.client_secret, grantType="password"
        )
