"""EKS authentication tokens: an STS GetCallerIdentity URL presigned with SigV4, made locally.

Owns the token format ``aws eks get-token`` prints (aws/aws-cli
``awscli/customizations/eks/get_token.py``: ``TokenGenerator`` and ``STSClientFactory``) and the
STS host it is signed for, as botocore's endpoint rules resolve it for ``sts`` (regional, FIPS,
dual-stack, each partition's DNS suffix; docs/eks.md). The signature is botocore's
``SigV4QueryAuth`` for a GET: the operation parameters first, then the ``X-Amz-*`` ones,
``X-Amz-Signature`` last; signed headers exactly ``host;x-k8s-aws-id``, the cluster name (or id)
in ``x-k8s-aws-id``, which travels as a header and never in the URL; the payload hash of an
empty body. Pure: HMAC only, no network, no clock (the signing time is an argument).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import quote

TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 (a format prefix, not a secret)
CLUSTER_HEADER = "x-k8s-aws-id"
#: ``URL_TIMEOUT`` in get_token.py; the authenticator ignores it and allows 15 minutes.
URL_EXPIRES = 60
ALGORITHM = "AWS4-HMAC-SHA256"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_SAFE = "-_.~"


class UnsupportedEndpoint(ValueError):
    """The partition has no endpoint of the asked variant (dual-stack in some ISO partitions)."""


class Partition(NamedTuple):
    """A partition's DNS suffixes (botocore ``partitions.json``)."""

    name: str
    dns_suffix: str
    dualstack_suffix: str | None


#: (region prefix, partition), most specific first; the ``aws`` partition is the fallback.
_PARTITIONS: tuple[tuple[str, Partition], ...] = (
    ("us-gov-", Partition("aws-us-gov", "amazonaws.com", "api.aws")),
    ("cn-", Partition("aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn")),
    ("us-isob-", Partition("aws-iso-b", "sc2s.sgov.gov", "api.aws.scloud")),
    ("us-isof-", Partition("aws-iso-f", "csp.hci.ic.gov", None)),
    ("eu-isoe-", Partition("aws-iso-e", "cloud.adc-e.uk", None)),
    ("us-iso-", Partition("aws-iso", "c2s.ic.gov", "api.aws.ic.gov")),
    ("eusc-", Partition("aws-eusc", "amazonaws.eu", "api.amazonwebservices.eu")),
)
_AWS = Partition("aws", "amazonaws.com", "api.aws")
GLOBAL_REGION = "aws-global"


class Signer(NamedTuple):
    """The credentials a token is signed with (secrets never shown by ``repr``)."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None

    def __repr__(self) -> str:
        return f"Signer(access_key_id={self.access_key_id!r})"


def partition(region: str) -> Partition:
    """The partition of ``region`` (by its name, as botocore's ``regionRegex`` does)."""
    for prefix, found in _PARTITIONS:
        if region.startswith(prefix):
            return found
    return _AWS


def sts_host(region: str, *, fips: bool = False, dualstack: bool = False) -> str:
    """The STS host botocore presigns for in ``region`` (its ``sts`` endpoint ruleset)."""
    part = partition(region)
    if region == GLOBAL_REGION and not fips and not dualstack:
        return "sts.amazonaws.com"
    if dualstack:
        if part.dualstack_suffix is None:
            raise UnsupportedEndpoint(f"STS has no dual-stack endpoint in {region}")
        suffix = part.dualstack_suffix
    else:
        suffix = part.dns_suffix
    # GovCloud's regional STS endpoints are FIPS endpoints already (IPv4 only).
    name = "sts-fips" if fips and not (part.name == "aws-us-gov" and not dualstack) else "sts"
    return f"{name}.{region}.{suffix}"


def signing_region(region: str) -> str:
    """The region in the credential scope (the global endpoint signs for us-east-1)."""
    return "us-east-1" if region == GLOBAL_REGION else region


def presign(signer: Signer, host: str, region: str, cluster: str, now: datetime) -> str:
    """The presigned GetCallerIdentity URL for ``cluster``, signed at ``now``."""
    moment = now.astimezone(UTC)
    amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
    day = moment.strftime("%Y%m%d")
    scope = f"{day}/{signing_region(region)}/sts/aws4_request"
    params = [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")]
    auth = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{signer.access_key_id}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(URL_EXPIRES)),
        ("X-Amz-SignedHeaders", f"host;{CLUSTER_HEADER}"),
    ]
    if signer.session_token:
        auth.append(("X-Amz-Security-Token", signer.session_token))
    encoded = [(quote(k, safe=_SAFE), quote(v, safe=_SAFE)) for k, v in params + auth]
    canonical = "\n".join(
        [
            "GET",
            "/",
            "&".join(f"{k}={v}" for k, v in sorted(encoded)),
            f"host:{host}\n{CLUSTER_HEADER}:{' '.join(cluster.split())}\n",
            f"host;{CLUSTER_HEADER}",
            _EMPTY_SHA256,
        ]
    )
    to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + signer.secret_access_key).encode()
    for part in (day, signing_region(region), "sts", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    query = "&".join(f"{k}={v}" for k, v in encoded)
    return f"https://{host}/?{query}&X-Amz-Signature={signature}"


def token(url: str) -> str:
    """``k8s-aws-v1.`` + the URL in unpadded base64url (``TokenGenerator.get_token``)."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
