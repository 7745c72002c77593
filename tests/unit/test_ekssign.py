"""``ekssign``: byte-identical to what ``aws eks get-token`` makes with botocore, host by host."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.session
import pytest
from botocore.config import Config

from ssod.daemon.aws import ekssign

SIGNER = ekssign.Signer("ASIAEXAMPLEKEY123456", "s3cr/et+key", "IQoJb3JpZ2luX2Vj/+=token")


def _botocore_url(
    region: str, cluster: str, signer: ekssign.Signer, *, fips: bool = False, ds: bool = False
) -> str:
    """What get_token.py's TokenGenerator builds: a presigned URL with the header injected."""
    session = botocore.session.Session()
    session.set_config_variable("config_file", "/dev/null")
    sts = session.create_client(
        "sts",
        region_name=region,
        config=Config(use_fips_endpoint=fips, use_dualstack_endpoint=ds),
        aws_access_key_id=signer.access_key_id,
        aws_secret_access_key=signer.secret_access_key,
        aws_session_token=signer.session_token,
    )

    def keep(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "x-k8s-aws-id" in params:
            context["x-k8s-aws-id"] = params.pop("x-k8s-aws-id")

    def inject(request: Any, **_: Any) -> None:
        if "x-k8s-aws-id" in request.context:
            request.headers["x-k8s-aws-id"] = request.context["x-k8s-aws-id"]

    sts.meta.events.register("provide-client-params.sts.GetCallerIdentity", keep)
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", inject)
    return str(
        sts.generate_presigned_url(
            "get_caller_identity",
            Params={"x-k8s-aws-id": cluster},
            ExpiresIn=60,
            HttpMethod="GET",
        )
    )


def _signed_at(url: str) -> datetime:
    """The X-Amz-Date botocore signed at (its own clock): ours signs at the same moment."""
    stamp = parse_qs(urlsplit(url).query)["X-Amz-Date"][0]
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("region", "fips", "dualstack", "host"),
    [
        ("us-east-1", False, False, "sts.us-east-1.amazonaws.com"),
        ("eu-west-1", True, False, "sts-fips.eu-west-1.amazonaws.com"),
        ("eu-west-1", False, True, "sts.eu-west-1.api.aws"),
        ("ap-southeast-2", True, True, "sts-fips.ap-southeast-2.api.aws"),
        ("aws-global", False, False, "sts.amazonaws.com"),
        ("cn-north-1", False, False, "sts.cn-north-1.amazonaws.com.cn"),
        ("cn-northwest-1", False, True, "sts.cn-northwest-1.api.amazonwebservices.com.cn"),
        ("us-gov-west-1", True, False, "sts.us-gov-west-1.amazonaws.com"),
        ("us-gov-east-1", True, True, "sts-fips.us-gov-east-1.api.aws"),
        ("us-iso-east-1", False, False, "sts.us-iso-east-1.c2s.ic.gov"),
        ("us-isob-east-1", True, False, "sts-fips.us-isob-east-1.sc2s.sgov.gov"),
        ("eusc-de-east-1", False, False, "sts.eusc-de-east-1.amazonaws.eu"),
        ("eu-isoe-west-1", False, False, "sts.eu-isoe-west-1.cloud.adc-e.uk"),
        ("us-isof-south-1", True, False, "sts-fips.us-isof-south-1.csp.hci.ic.gov"),
    ],
)
def test_same_url_as_botocore(region: str, fips: bool, dualstack: bool, host: str) -> None:
    assert ekssign.sts_host(region, fips=fips, dualstack=dualstack) == host
    theirs = _botocore_url(region, "my-cluster", SIGNER, fips=fips, ds=dualstack)
    assert ekssign.presign(SIGNER, host, region, "my-cluster", _signed_at(theirs)) == theirs


def test_without_a_session_token_and_with_a_cluster_id() -> None:
    signer = ekssign.Signer("AKIAEXAMPLE", "secret", None)
    cluster_id = "0123abcd-4567-89ef-0123-456789abcdef"
    theirs = _botocore_url("us-west-2", cluster_id, signer)
    host = "sts.us-west-2.amazonaws.com"
    ours = ekssign.presign(signer, host, "us-west-2", cluster_id, _signed_at(theirs))
    assert ours == theirs
    assert "X-Amz-Security-Token" not in ours
    assert cluster_id not in ours  # a signed header, never in the URL


def test_dualstack_where_the_partition_has_none() -> None:
    with pytest.raises(ekssign.UnsupportedEndpoint):
        ekssign.sts_host("us-isof-south-1", dualstack=True)


def test_token_is_unpadded_base64url_of_the_url() -> None:
    for url in ("https://a/?b", "https://a/?bc", "https://a/?bcd"):
        token = ekssign.token(url)
        body = token.removeprefix("k8s-aws-v1.")
        assert token.startswith("k8s-aws-v1.") and "=" not in body
        assert base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode() == url


def test_secrets_stay_out_of_repr() -> None:
    assert "s3cr" not in repr(SIGNER) and "IQoJ" not in repr(SIGNER)
