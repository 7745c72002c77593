"""The SSO portal and STS through real botocore clients, and the acceptance scenario."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator_support import NO_RETRIES, Login, client, device_login, sts_with
from ssod.emulator.testing.background import BackgroundEmulator


def _creds(sso: Any, login: Login, account: str = "111111111111", role: str = "ReadOnly") -> Any:
    return sso.get_role_credentials(
        accessToken=login.access_token, accountId=account, roleName=role
    )["roleCredentials"]


def _code(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    resp = info.value.response
    return resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"]


def test_acceptance_via_endpoint_variables(
    ssod_emulator: BackgroundEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ssod_emulator.env.items():
        monkeypatch.setenv(name, value)
    config = Config(region_name="us-east-1")
    oidc = boto3.client("sso-oidc", config=config)
    sso = boto3.client("sso", config=config)
    login = device_login(oidc, ["sso:account:access"], poll=True)
    refreshed = oidc.create_token(
        clientId=login.client_id,
        clientSecret=login.client_secret,
        grantType="refresh_token",
        refreshToken=login.refresh_token,
    )
    assert refreshed["refreshToken"] != login.refresh_token
    token = refreshed["accessToken"]
    accounts = [
        a
        for page in sso.get_paginator("list_accounts").paginate(accessToken=token)
        for a in page["accountList"]
    ]
    assert [a["accountName"] for a in accounts] == ["dev", "prod"]
    roles = [
        r["roleName"]
        for page in sso.get_paginator("list_account_roles").paginate(
            accessToken=token, accountId="222222222222"
        )
        for r in page["roleList"]
    ]
    assert roles == ["ReadOnly", "Admin"]
    before = time.time()
    creds = sso.get_role_credentials(accessToken=token, accountId="222222222222", roleName="Admin")[
        "roleCredentials"
    ]
    after = time.time()
    # An hour from when the emulator answered, which was between `before` and `after`.
    assert before + 3600 - 1 <= creds["expiration"] / 1000 <= after + 3600 + 1  # epoch ms
    sts = boto3.client(
        "sts",
        config=config,
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
    )
    me = sts.get_caller_identity()
    assert me["Account"] == "222222222222"
    assert re.fullmatch(
        r"arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_Admin_[0-9a-f]{16}/user@example\.com",
        me["Arn"],
    )
    assert re.fullmatch(r"AROA[A-Z2-7]{17}:user@example\.com", me["UserId"])
    asked = dt.datetime.now(dt.UTC)
    assumed = sts.assume_role(
        RoleArn="arn:aws:iam::111111111111:role/Deploy", RoleSessionName="ci", DurationSeconds=900
    )
    answered = dt.datetime.now(dt.UTC)
    new = assumed["Credentials"]
    # 900 s from when STS answered (between `asked` and `answered`; whole seconds on the wire).
    second = dt.timedelta(seconds=1)
    assert asked - second <= new["Expiration"] - dt.timedelta(seconds=900) <= answered + second
    assert assumed["AssumedRoleUser"]["Arn"] == "arn:aws:sts::111111111111:assumed-role/Deploy/ci"
    chained = boto3.client(
        "sts",
        config=config,
        aws_access_key_id=new["AccessKeyId"],
        aws_secret_access_key=new["SecretAccessKey"],
        aws_session_token=new["SessionToken"],
    ).get_caller_identity()
    assert chained["Arn"] == "arn:aws:sts::111111111111:assumed-role/Deploy/ci"
    calls = ssod_emulator.calls()
    assert calls["ListAccounts"] == 2 and calls["ListAccountRoles"] == 2
    assert calls["GetCallerIdentity"] == 2 and calls["CreateToken:refresh_token"] == 1


def test_unassigned_role_and_unknown_account(sso: Any, login: Login) -> None:
    with pytest.raises(ClientError) as info:
        _creds(sso, login, role="Billing")
    assert _code(info) == ("ForbiddenException", 403)
    with pytest.raises(sso.exceptions.ResourceNotFoundException):
        sso.list_account_roles(accessToken=login.access_token, accountId="999999999999")


def test_bad_expired_and_logged_out_tokens(
    emu: BackgroundEmulator, sso: Any, oidc: Any, login: Login
) -> None:
    with pytest.raises(sso.exceptions.UnauthorizedException) as info:
        sso.list_accounts(accessToken="not-a-token")
    assert info.value.response["Error"]["Message"] == "Session token not found or invalid"
    sso.logout(accessToken=login.access_token)
    with pytest.raises(sso.exceptions.UnauthorizedException):
        _creds(sso, login)
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(
            clientId=login.client_id,
            clientSecret=login.client_secret,
            grantType="refresh_token",
            refreshToken=login.refresh_token,
        )
    fresh = device_login(oidc, ["sso:account:access"])
    emu.advance_clock(8 * 3600)
    with pytest.raises(sso.exceptions.UnauthorizedException):
        _creds(sso, fresh)


def test_sts_rejects_bad_signatures_and_tokens(
    emu: BackgroundEmulator, sso: Any, login: Login
) -> None:
    creds = _creds(sso, login)
    cases = {
        "SignatureDoesNotMatch": {**creds, "secretAccessKey": "x" + creds["secretAccessKey"]},
        "InvalidClientTokenId": {**creds, "sessionToken": creds["sessionToken"] + "x"},
    }
    for code, bad in cases.items():
        with pytest.raises(ClientError) as info:
            sts_with(emu.url, bad).get_caller_identity()
        assert _code(info) == (code, 403)
    unknown = {**creds, "accessKeyId": "ASIAAAAAAAAAAAAAAAAA"}
    with pytest.raises(ClientError) as info:
        sts_with(emu.url, unknown).get_caller_identity()
    assert _code(info) == ("InvalidClientTokenId", 403)
    emu.advance_clock(3601)
    with pytest.raises(ClientError) as info:
        sts_with(emu.url, creds).get_caller_identity()
    assert _code(info) == ("ExpiredToken", 400)


def test_sts_rejects_unsigned_requests(emu: BackgroundEmulator) -> None:
    from botocore import UNSIGNED

    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=emu.url,
        config=NO_RETRIES.merge(Config(signature_version=UNSIGNED)),
    )
    with pytest.raises(ClientError) as info:
        sts.get_caller_identity()
    assert _code(info) == ("MissingAuthenticationToken", 403)


def test_assume_role_rules(ssod_emulator_factory: Any) -> None:
    from ssod.emulator import Account, Directory

    arn = "arn:aws:iam::111111111111:role/Deploy"
    directory = Directory(
        ("user@example.com",), (Account("111111111111", "dev", "d@x", ("Admin",)),), {arn: "ext"}
    )
    emu: BackgroundEmulator = ssod_emulator_factory(approve_delay=0.0, directory=directory)
    login = device_login(client("sso-oidc", emu.url), ["sso:account:access"])
    sts = sts_with(emu.url, _creds(client("sso", emu.url), login, role="Admin"))
    cases: list[tuple[dict[str, Any], tuple[str, int]]] = [
        ({"RoleArn": arn}, ("AccessDenied", 403)),
        ({"RoleArn": arn, "ExternalId": "ext", "DurationSeconds": 7200}, ("ValidationError", 400)),
        ({"RoleArn": "arn:aws:iam::333333333333:role/X"}, ("AccessDenied", 403)),
    ]
    for kwargs, expected in cases:
        with pytest.raises(ClientError) as info:
            sts.assume_role(RoleSessionName="s1", **kwargs)
        assert _code(info) == expected
    ok = sts.assume_role(RoleArn=arn, RoleSessionName="s1", ExternalId="ext")
    assert ok["Credentials"]["AccessKeyId"].startswith("ASIA")
