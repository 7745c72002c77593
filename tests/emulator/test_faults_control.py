"""Fault injection and the control API, observed through botocore with retries disabled."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from emulator_support import Login, sts_with
from ssod.emulator.testing.background import BackgroundEmulator


def _creds(sso: Any, login: Login) -> Any:
    return sso.get_role_credentials(
        accessToken=login.access_token, accountId="111111111111", roleName="Admin"
    )["roleCredentials"]


def test_status_faults_per_service(
    emu: BackgroundEmulator, oidc: Any, sso: Any, login: Login
) -> None:
    creds = _creds(sso, login)
    emu.set_faults(
        {"operation": "RegisterClient", "kind": "status", "count": 1},
        {"operation": "GetRoleCredentials", "kind": "status", "status": 503, "count": 1},
        {"operation": "GetCallerIdentity", "kind": "status", "count": 1},
    )
    with pytest.raises(oidc.exceptions.InternalServerException):
        oidc.register_client(clientName="x", clientType="public")
    oidc.register_client(clientName="x", clientType="public")  # count used up
    with pytest.raises(ClientError) as info:
        _creds(sso, login)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    with pytest.raises(ClientError) as info:
        sts_with(emu.url, creds).get_caller_identity()
    assert info.value.response["Error"]["Code"] == "InternalFailure"
    assert emu.set_faults() == []


def test_throttle_faults_per_service(
    emu: BackgroundEmulator, oidc: Any, sso: Any, login: Login
) -> None:
    creds = _creds(sso, login)
    emu.set_faults(operation="*", kind="throttle")
    with pytest.raises(oidc.exceptions.SlowDownException):
        oidc.register_client(clientName="x", clientType="public")
    with pytest.raises(sso.exceptions.TooManyRequestsException):
        sso.list_accounts(accessToken=login.access_token)
    with pytest.raises(ClientError) as info:
        sts_with(emu.url, creds).get_caller_identity()
    assert info.value.response["Error"]["Code"] == "Throttling"
    emu.clear_faults()
    sso.list_accounts(accessToken=login.access_token)


def test_latency_fault_and_global_latency(emu: BackgroundEmulator, sso: Any, login: Login) -> None:
    # Lower bounds only: a busy machine can lengthen a call, never shorten the emulator's sleep.
    emu.set_faults(operation="ListAccounts", kind="latency", seconds=0.3, count=1)
    start = time.monotonic()
    sso.list_accounts(accessToken=login.access_token)
    assert time.monotonic() - start >= 0.3
    assert emu.set_faults() == []  # the rule was used up by that one call
    emu.settings(latency=0.2)
    assert emu.settings()["latency"] == 0.2
    start = time.monotonic()
    sso.list_accounts(accessToken=login.access_token)
    assert time.monotonic() - start >= 0.2


def test_drop_fault_closes_the_connection(emu: BackgroundEmulator, sso: Any, login: Login) -> None:
    emu.set_faults(operation="GetRoleCredentials", kind="drop", count=1)
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        _creds(sso, login)
    assert _creds(sso, login)["accessKeyId"]


def test_calls_are_counted_and_reset(emu: BackgroundEmulator, sso: Any, login: Login) -> None:
    calls = emu.calls()
    assert calls["RegisterClient"] == 1 and calls["CreateToken:device_code"] == 1
    emu.reset_calls()
    sso.list_accounts(accessToken=login.access_token)
    assert emu.calls() == {"ListAccounts": 1}
    assert emu.state.calls["ListAccounts"] == 1


def test_control_api_rejects_bad_input(emu: BackgroundEmulator) -> None:
    assert emu.health()
    for path, body in [
        ("faults", b'{"operation": "X", "kind": "explode"}'),
        ("settings", b'{"token_lifetime": "long"}'),
        ("settings", b'{"nonsense": 1}'),
        ("clock", b"[1]"),
    ]:
        req = urllib.request.Request(f"{emu.url}/_emulator/{path}", data=body, method="POST")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req)
        assert info.value.code == 400
        info.value.close()
    assert emu.settings()["token_lifetime"] == 8 * 3600


def test_peaks_count_the_calls_answered_at_once(
    emu: BackgroundEmulator, sso: Any, login: Login
) -> None:
    import threading

    emu.reset_calls()
    emu.settings(latency=0.3)
    threads = [
        threading.Thread(target=sso.list_accounts, kwargs={"accessToken": login.access_token})
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert emu.calls()["ListAccounts"] == 3
    assert 2 <= emu.peaks()["ListAccounts"] <= 3
    emu.settings(latency=0.0)
    sso.list_accounts(accessToken=login.access_token)
    assert emu.peaks()["ListAccounts"] >= 2  # a peak stays until reset
    emu.reset_calls()
    assert emu.peaks() == {}
