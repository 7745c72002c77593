"""EKS bearer-token verification, as aws-iam-authenticator's ``tokenVerifier.Verify`` does it.

The checks, in its order (kubernetes-sigs/aws-iam-authenticator ``pkg/token/token.go``): length
at most 4096; the ``k8s-aws-v1.`` prefix; unpadded base64url; an ``https`` URL to an STS host on
the allowlist; path ``/``; only the known query keys, each once; ``Action=GetCallerIdentity``;
``x-k8s-aws-id`` among the signed headers; ``0 <= X-Amz-Expires <= 900``; at most 15 minutes
after ``X-Amz-Date``. Where the authenticator then replays the URL to STS with the header
``x-k8s-aws-id: <its cluster>``, this recomputes the signature with the secret the emulator
issued and the cluster's own name, and checks the session token and the key's expiry as STS
would. Pure: time and credentials are passed in.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from ssod.emulator import sigv4
from ssod.emulator.credentials import IssuedCredentials

PREFIX = "k8s-aws-v1."
MAX_TOKEN_LENGTH = 4096
LIFETIME = timedelta(minutes=15)
_KEYS = frozenset(
    {
        "action",
        "version",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-signedheaders",
    }
)
_HOST = re.compile(
    r"^sts(?:\.amazonaws\.com|(?:-fips)?\.[a-z]{2,4}(?:-[a-z]+)+-\d+\."
    r"(?:amazonaws\.com|amazonaws\.com\.cn|api\.aws|api\.amazonwebservices\.com\.cn"
    r"|amazonaws\.eu|api\.amazonwebservices\.eu|c2s\.ic\.gov|sc2s\.sgov\.gov"
    r"|cloud\.adc-e\.uk|csp\.hci\.ic\.gov|api\.aws\.ic\.gov|api\.aws\.scloud))$"
)
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")


class Refused(ValueError):
    """The token is not valid for this cluster; the message says which check failed."""


def verify(
    token: str,
    cluster: str,
    lookup: Callable[[str], IssuedCredentials | None],
    now: float,
) -> IssuedCredentials:
    """The credentials that signed ``token`` for ``cluster``; ``Refused`` otherwise."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise Refused("token is too large")
    if not token.startswith(PREFIX):
        raise Refused("token is missing expected prefix")
    parts = urlsplit(_decode(token[len(PREFIX) :]))
    if parts.scheme != "https":
        raise Refused("unexpected scheme")
    if not _HOST.match(parts.netloc):
        raise Refused("unexpected hostname in pre-signed URL")
    if parts.path != "/":
        raise Refused("unexpected path in pre-signed URL")
    params = _params(parts.query)
    signed = params.get("x-amz-signedheaders", "").split(";")
    if "x-k8s-aws-id" not in signed:
        raise Refused("client did not sign the x-k8s-aws-id header in the pre-signed URL")
    expires = params.get("x-amz-expires", "")
    if not expires.isdigit() or not 0 <= int(expires) <= LIFETIME.total_seconds():
        raise Refused("invalid X-Amz-Expires parameter in pre-signed URL")
    try:
        date = datetime.strptime(params.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ")
    except ValueError:
        raise Refused("error parsing X-Amz-Date parameter") from None
    if datetime.fromtimestamp(now, UTC) > date.replace(tzinfo=UTC) + LIFETIME:
        raise Refused("X-Amz-Date parameter is expired (15 minute expiration)")
    return _replay(parts.netloc, parts.query, params, signed, cluster, lookup, now)


def _decode(body: str) -> str:
    """The URL in an unpadded base64url body (``base64.RawURLEncoding`` refuses padding)."""
    if not _BASE64URL.match(body):
        raise Refused("token is not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Refused("token is not unpadded base64url") from None


def _params(query: str) -> dict[str, str]:
    """The query's parameters by lower-case name: only known keys, each once, the right Action."""
    params: dict[str, str] = {}
    for key, values in parse_qs(query, keep_blank_values=True).items():
        if key.lower() not in _KEYS:
            raise Refused(f"non-allowlisted query parameter {key!r}")
        if len(values) != 1 or key.lower() in params:
            raise Refused("query parameter with multiple values not supported")
        params[key.lower()] = values[0]
    if params.get("action") != "GetCallerIdentity":
        raise Refused("unexpected action parameter in pre-signed URL")
    return params


def _replay(
    host: str,
    raw_query: str,
    params: dict[str, str],
    signed: list[str],
    cluster: str,
    lookup: Callable[[str], IssuedCredentials | None],
    now: float,
) -> IssuedCredentials:
    """What STS would answer the URL sent with ``x-k8s-aws-id: cluster``."""
    scope = params.get("x-amz-credential", "").split("/")
    if len(scope) != 5 or scope[3] != "sts" or scope[4] != "aws4_request":
        raise Refused("sts: IncompleteSignature")
    creds = lookup(scope[0])
    if creds is None or params.get("x-amz-security-token") != creds.session_token:
        raise Refused("sts: InvalidClientTokenId")
    headers = {"host": [host], "x-k8s-aws-id": [cluster], "x-amz-date": [params["x-amz-date"]]}
    if set(signed) - headers.keys():
        raise Refused("sts: SignatureDoesNotMatch (a header this request lacks is signed)")
    auth = sigv4.SigV4Header(
        scope[0], scope[1], scope[2], scope[3], tuple(signed), params.get("x-amz-signature", "")
    )
    unsigned = "&".join(
        pair for pair in raw_query.split("&") if not pair.lower().startswith("x-amz-signature=")
    )
    expected = sigv4.expected_signature(
        auth, creds.secret_access_key, "GET", "/", unsigned, headers, b""
    )
    if not sigv4.signature_matches(auth, expected):
        raise Refused("sts: SignatureDoesNotMatch")
    if now >= creds.expires_at:
        raise Refused("sts: ExpiredToken")
    return creds
