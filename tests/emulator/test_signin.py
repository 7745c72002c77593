"""The emulator's federation endpoint, over HTTP: getSigninToken for credentials it issued (from
the portal and from AssumeRole), login's redirect, expiry, single use, counts and faults.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest

from emulator_support import Login, sts_with
from ssod.emulator.testing.background import BackgroundEmulator


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET ``url`` without following redirects: status, headers, body."""
    try:
        with _OPENER.open(url, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def session_of(creds: dict[str, str]) -> str:
    return json.dumps(
        {
            "sessionId": creds["accessKeyId"],
            "sessionKey": creds["secretAccessKey"],
            "sessionToken": creds["sessionToken"],
        }
    )


def get_token(emu: BackgroundEmulator, session: str, **extra: str) -> tuple[int, bytes]:
    query = urlencode({"Action": "getSigninToken", **extra, "Session": session})
    status, _, body = fetch(f"{emu.url}/federation?{query}")
    return status, body


def login_url(emu: BackgroundEmulator, token: str, destination: str) -> str:
    query = {"Action": "login", "Issuer": "test", "Destination": destination, "SigninToken": token}
    return f"{emu.url}/federation?{urlencode(query)}"


@pytest.fixture
def creds(sso: Any, login: Login) -> dict[str, str]:
    result: dict[str, str] = sso.get_role_credentials(
        accessToken=login.access_token, accountId="111111111111", roleName="Admin"
    )["roleCredentials"]
    return result


def test_sign_in_token_opens_the_destination_once(
    emu: BackgroundEmulator, creds: dict[str, str]
) -> None:
    status, body = get_token(emu, session_of(creds), SessionDuration="3600")
    assert status == 200, body
    token = json.loads(body)["SigninToken"]
    destination = "https://console.aws.amazon.com/s3/home?region=eu-west-1"
    status, headers, _ = fetch(login_url(emu, token, destination))
    assert (status, headers["Location"]) == (302, destination)
    again, _, _ = fetch(login_url(emu, token, destination))
    assert again == 400  # a sign-in token is good for one sign-in
    assert emu.calls()["getSigninToken"] == 1 and emu.calls()["login"] == 2


@pytest.mark.parametrize(
    ("change", "extra"),
    [
        ({"sessionKey": "wrong"}, {}),
        ({"sessionToken": "wrong"}, {}),
        ({"sessionId": "ASIAUNKNOWN"}, {}),
        ({}, {"SessionDuration": "899"}),
        ({}, {"SessionDuration": "43201"}),
        ({}, {"SessionDuration": "1h"}),
    ],
)
def test_refused_sessions(
    emu: BackgroundEmulator, creds: dict[str, str], change: dict[str, str], extra: dict[str, str]
) -> None:
    session = json.loads(session_of(creds)) | change
    status, body = get_token(emu, json.dumps(session), **extra)
    assert status == 400
    assert b"Invalid" in body


def test_not_json_and_unknown_actions(emu: BackgroundEmulator) -> None:
    assert get_token(emu, "{not json")[0] == 400
    assert fetch(f"{emu.url}/federation?Action=nope")[0] == 400
    assert fetch(login_url(emu, "unknown", "https://console.aws.amazon.com/"))[0] == 400


def test_expired_credentials_and_tokens(emu: BackgroundEmulator, creds: dict[str, str]) -> None:
    token = json.loads(get_token(emu, session_of(creds))[1])["SigninToken"]
    emu.advance_clock(901)  # the sign-in token lives 15 minutes
    assert fetch(login_url(emu, token, "https://console.aws.amazon.com/"))[0] == 400
    emu.advance_clock(3600)  # the role credentials one hour
    status, body = get_token(emu, session_of(creds))
    assert status == 400 and b"expired" in body


def test_destination_must_be_https(emu: BackgroundEmulator, creds: dict[str, str]) -> None:
    token = json.loads(get_token(emu, session_of(creds))[1])["SigninToken"]
    assert fetch(login_url(emu, token, "http://console.aws.amazon.com/"))[0] == 400
    assert fetch(login_url(emu, token, "javascript:alert(1)"))[0] == 400
    # A refused destination does not use the token up.
    assert fetch(login_url(emu, token, "https://console.aws.amazon.com/"))[0] == 302


def test_role_chained_credentials_take_no_session_duration(
    emu: BackgroundEmulator, creds: dict[str, str]
) -> None:
    assumed = sts_with(emu.url, creds).assume_role(
        RoleArn="arn:aws:iam::111111111111:role/Deployer", RoleSessionName="chain"
    )["Credentials"]
    chained = {
        "accessKeyId": assumed["AccessKeyId"],
        "secretAccessKey": assumed["SecretAccessKey"],
        "sessionToken": assumed["SessionToken"],
    }
    assert get_token(emu, session_of(chained), SessionDuration="3600")[0] == 400
    assert get_token(emu, session_of(chained))[0] == 200


def test_faults_and_post(emu: BackgroundEmulator, creds: dict[str, str]) -> None:
    emu.set_faults({"operation": "getSigninToken", "kind": "status", "status": 503, "count": 1})
    assert get_token(emu, session_of(creds))[0] == 503
    body = urlencode({"Action": "getSigninToken", "Session": session_of(creds)}).encode()
    request = urllib.request.Request(f"{emu.url}/federation", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert "SigninToken" in json.loads(resp.read())
