"""The authorization-code flow with PKCE, as the AWS CLI v2 drives it (docs/protocols.md §5.2)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest

from emulator_support import START_URL, client
from ssod.emulator.testing.background import BackgroundEmulator

CALLBACK = "http://127.0.0.1/oauth/callback"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _verifier() -> tuple[str, str]:
    alphabet = string.ascii_letters + string.digits + "-._~"
    verifier = "".join(secrets.choice(alphabet) for _ in range(64))
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _register(oidc: Any) -> dict[str, Any]:
    reg: dict[str, Any] = oidc.register_client(
        clientName="botocore-client-my-sso",
        clientType="public",
        scopes=["sso:account:access"],
        grantTypes=["authorization_code", "refresh_token"],
        redirectUris=[CALLBACK],
        issuerUrl=START_URL,
    )
    return reg


def _authorize(url: str, client_id: str, redirect: str, state: str, challenge: str) -> Any:
    """GET /authorize exactly as the CLI builds it; returns the (unfollowed) response."""
    params = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect,
            "state": state,
            "code_challenge_method": "S256",
            "scopes": "sso:account:access",
        },
        quote_via=quote,
        safe="-_.~",
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        return opener.open(f"{url}/authorize?{params}&code_challenge={challenge}")
    except urllib.error.HTTPError as err:
        return err


def test_pkce_end_to_end(emu: BackgroundEmulator, oidc: Any) -> None:
    reg = _register(oidc)
    verifier, challenge = _verifier()
    state, redirect = str(uuid.uuid4()), "http://127.0.0.1:43210/oauth/callback"
    resp = _authorize(emu.url, reg["clientId"], redirect, state, challenge)
    assert resp.status == 302
    location = resp.headers["Location"]
    resp.close()
    assert location.startswith(redirect + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    args = {
        "clientId": reg["clientId"],
        "clientSecret": reg["clientSecret"],
        "grantType": "authorization_code",
        "redirectUri": redirect,
    }
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(code=query["code"][0], codeVerifier=verifier + "x", **args)
    # A failed exchange burns the code; authorize again.
    resp = _authorize(emu.url, reg["clientId"], redirect, state, challenge)
    code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
    resp.close()
    token = oidc.create_token(code=code, codeVerifier=verifier, **args)
    assert token["accessToken"] and token["refreshToken"] and token["expiresIn"] == 28800
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(code=code, codeVerifier=verifier, **args)  # single use
    assert emu.calls()["CreateToken:authorization_code"] == 3


def test_redirect_uri_must_match(emu: BackgroundEmulator, oidc: Any) -> None:
    reg = _register(oidc)
    verifier, challenge = _verifier()
    bad = _authorize(emu.url, reg["clientId"], "http://127.0.0.1:5/elsewhere", "s", challenge)
    assert bad.status == 400
    bad.close()
    redirect = "http://127.0.0.1:5555/oauth/callback"
    resp = _authorize(emu.url, reg["clientId"], redirect, "s", challenge)
    code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
    resp.close()
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(
            clientId=reg["clientId"],
            clientSecret=reg["clientSecret"],
            grantType="authorization_code",
            redirectUri="http://127.0.0.1:6666/oauth/callback",
            code=code,
            codeVerifier=verifier,
        )


def test_device_registration_cannot_authorize(emu: BackgroundEmulator, oidc: Any) -> None:
    reg = oidc.register_client(clientName="x", clientType="public")
    resp = _authorize(emu.url, reg["clientId"], CALLBACK, "s", _verifier()[1])
    assert resp.status == 400  # no registered redirect URI: an error page, no redirect
    resp.close()


def test_authorize_waits_for_approval(ssod_emulator_factory: Any) -> None:
    emu: BackgroundEmulator = ssod_emulator_factory(auto_approve=False)
    oidc = client("sso-oidc", emu.url)
    reg = _register(oidc)
    _, challenge = _verifier()
    redirect = "http://127.0.0.1:40000/oauth/callback"
    page = _authorize(emu.url, reg["clientId"], redirect, "st", challenge)
    assert page.status == 200 and b"Waiting for approval" in page.read()
    page.close()
    assert emu.approve() == 1
    resp = _authorize(emu.url, reg["clientId"], redirect, "st", challenge)
    assert resp.status == 302 and "code=" in resp.headers["Location"]
    resp.close()
