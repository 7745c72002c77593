"""``eksauth``: the emulator's EKS token checks, one refusal per aws-iam-authenticator rule."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from ssod.daemon.aws import ekssign
from ssod.emulator import eksauth
from ssod.emulator.credentials import CredentialStore

NOW = 1_764_958_000.0
HOST = "sts.us-east-1.amazonaws.com"


def _store() -> tuple[CredentialStore, ekssign.Signer]:
    store = CredentialStore(lambda: NOW)
    issued = store.issue("111111111111", "ReadOnly", "user@example.com", 3600)
    signer = ekssign.Signer(issued.access_key_id, issued.secret_access_key, issued.session_token)
    return store, signer


def _url(signer: ekssign.Signer, cluster: str = "demo", host: str = HOST) -> str:
    return ekssign.presign(signer, host, "us-east-1", cluster, datetime.fromtimestamp(NOW, UTC))


def _token(url: str) -> str:
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def test_a_good_token_names_its_signer() -> None:
    store, signer = _store()
    creds = eksauth.verify(_token(_url(signer)), "demo", store.lookup, NOW + 60)
    assert creds.access_key_id == signer.access_key_id
    for host in (
        "sts.amazonaws.com",
        "sts-fips.us-gov-west-1.api.aws",
        "sts.cn-north-1.amazonaws.com.cn",
    ):
        url = ekssign.presign(signer, host, "us-east-1", "demo", datetime.fromtimestamp(NOW, UTC))
        assert eksauth.verify(_token(url), "demo", store.lookup, NOW)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda u: u, "X-Amz-Date parameter is expired"),  # checked 15 min + 1 s later
        (lambda u: u.replace("https://", "http://"), "unexpected scheme"),
        (lambda u: u.replace(HOST, "sts.example.com"), "unexpected hostname"),
        (lambda u: u.replace(HOST, f"{HOST}:443"), "unexpected hostname"),
        (lambda u: u.replace(".com/?", ".com/x?"), "unexpected path"),
        (lambda u: u + "&Extra=1", "non-allowlisted query parameter"),
        (lambda u: u + "&Action=GetCallerIdentity", "multiple values"),
        (lambda u: u.replace("GetCallerIdentity", "AssumeRole"), "unexpected action"),
        (lambda u: u.replace("host%3Bx-k8s-aws-id", "host"), "did not sign the x-k8s-aws-id"),
        (lambda u: u.replace("X-Amz-Expires=60", "X-Amz-Expires=901"), "X-Amz-Expires"),
        (lambda u: u.replace("X-Amz-Date=2", "X-Amz-Date=x2"), "error parsing X-Amz-Date"),
        (
            lambda u: u.replace("X-Amz-Security-Token=", "X-Amz-Security-Token=x"),
            "InvalidClientTokenId",
        ),
        (lambda u: u[:-1] + ("0" if u[-1] != "0" else "1"), "SignatureDoesNotMatch"),
    ],
)
def test_refused(change: object, reason: str) -> None:
    store, signer = _store()
    url = change(_url(signer))  # type: ignore[operator]
    later = NOW + 15 * 60 + 1 if "expired" in reason else NOW
    with pytest.raises(eksauth.Refused, match=reason):
        eksauth.verify(_token(url), "demo", store.lookup, later)


def test_refused_tokens_by_form_cluster_and_key() -> None:
    store, signer = _store()
    good = _token(_url(signer))
    for token, reason in [
        (good + "A" * 4096, "too large"),
        (good.removeprefix("k8s-aws-v1."), "missing expected prefix"),
        (good + "==", "unpadded base64url"),
        ("k8s-aws-v1.+" + good.removeprefix("k8s-aws-v1.")[1:], "base64url"),  # not url-safe
    ]:
        with pytest.raises(eksauth.Refused, match=reason):
            eksauth.verify(token, "demo", store.lookup, NOW)
    with pytest.raises(eksauth.Refused, match="SignatureDoesNotMatch"):
        eksauth.verify(good, "other", store.lookup, NOW)  # signed for demo
    with pytest.raises(eksauth.Refused, match="InvalidClientTokenId"):
        eksauth.verify(good, "demo", lambda _key: None, NOW)
    brief = store.issue("111111111111", "ReadOnly", "user@example.com", 60)
    signer = ekssign.Signer(brief.access_key_id, brief.secret_access_key, brief.session_token)
    with pytest.raises(eksauth.Refused, match="ExpiredToken"):
        eksauth.verify(_token(_url(signer)), "demo", store.lookup, NOW + 61)  # the key, not it
