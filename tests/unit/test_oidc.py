"""PKCE pieces and device-flow polling decisions as the AWS CLI has them (docs/protocols.md 5.2)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from ssod.daemon.aws import oidc


def test_verifier_shape() -> None:
    verifier = oidc.code_verifier()
    assert len(verifier) == 64
    assert set(verifier) <= set(oidc._VERIFIER_ALPHABET)
    assert oidc.code_verifier() != verifier


def test_challenge_is_s256_without_padding() -> None:
    # RFC 7636 appendix B example.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oidc.code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    challenge = oidc.code_challenge(oidc.code_verifier())
    assert len(challenge) == 43
    assert "=" not in challenge
    digest = base64.urlsafe_b64decode(challenge + "=")
    assert len(digest) == hashlib.sha256().digest_size


def test_state_is_uuid4() -> None:
    assert uuid.UUID(oidc.new_state()).version == 4


def test_authorize_url_matches_the_cli() -> None:
    request = oidc.AuthorizeRequest(
        oidc_endpoint="https://oidc.us-east-1.amazonaws.com",
        client_id="cid",
        redirect_uri=oidc.redirect_uri(4321),
        state="st",
        scopes=oidc.DEFAULT_SCOPES,
        challenge="abc",
    )
    url = request.url()
    assert url == (
        "https://oidc.us-east-1.amazonaws.com/authorize?response_type=code&client_id=cid"
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A4321%2Foauth%2Fcallback&state=st"
        "&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess&code_challenge=abc"
    )
    query = parse_qs(urlsplit(url).query)
    assert query["redirect_uri"] == ["http://127.0.0.1:4321/oauth/callback"]


def test_scopes_are_space_joined_and_encoded() -> None:
    request = oidc.AuthorizeRequest("http://e/", "c", "r", "s", ("a:b", "c"), "x")
    assert "&scopes=a%3Ab%20c&" in request.url()
    assert request.url().startswith("http://e/authorize?")


@pytest.mark.parametrize(
    ("session", "expected"),
    [("my-sso", "botocore-client-my-sso"), (None, "botocore-client-1700000000")],
)
def test_client_name(session: str | None, expected: str) -> None:
    assert oidc.client_name(session, 1700000000) == expected


@pytest.mark.parametrize(
    ("kind", "interval", "wait", "fails"),
    [
        ("authorization_pending", 5, 5, False),
        ("slow_down", 5, 10, False),
        ("slow_down", 10, 15, False),
        ("expired_token", 5, 0, True),
        ("access_denied", 5, 0, True),
        ("invalid_client", 5, 0, True),
    ],
)
def test_after_poll(kind: str, interval: int, wait: int, fails: bool) -> None:
    step = oidc.after_poll(kind, interval)
    assert step.wait == wait
    assert (step.fail is not None) == fails
