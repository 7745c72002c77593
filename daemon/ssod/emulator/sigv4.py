"""AWS Signature Version 4 verification for the STS endpoint, from the raw received request.

Recomputes the canonical request (method, path, sorted query, signed headers, payload hash),
the string to sign and the signature from the secret the emulator issued, as botocore's
``SigV4Auth`` builds them, and compares in constant time. Pure: no aiohttp.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"


class MalformedAuthorization(ValueError):
    """The Authorization header is not a SigV4 header."""


@dataclass(frozen=True)
class SigV4Header:
    """The parts of an ``Authorization: AWS4-HMAC-SHA256 ...`` header."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        """The credential scope."""
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def parse_authorization(value: str) -> SigV4Header:
    """Split a SigV4 Authorization header; MalformedAuthorization otherwise."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise MalformedAuthorization("not AWS4-HMAC-SHA256")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            fields[key] = val
    try:
        credential = fields["Credential"].split("/")
        signed = tuple(fields["SignedHeaders"].split(";"))
        signature = fields["Signature"]
    except KeyError as err:
        raise MalformedAuthorization(f"missing {err}") from err
    if len(credential) != 5 or credential[4] != "aws4_request":
        raise MalformedAuthorization("bad credential scope")
    key_id, date, region, service, _ = credential
    return SigV4Header(key_id, date, region, service, signed, signature)


def expected_signature(
    auth: SigV4Header,
    secret: str,
    method: str,
    raw_path: str,
    query: str,
    headers: Mapping[str, list[str]],
    body: bytes,
) -> str:
    """The signature a correct signer would have sent; ``headers`` keys are lower-case."""
    amz_date = ",".join(headers.get("x-amz-date", [""]))
    canonical = "\n".join(
        [
            method.upper(),
            quote(unquote(raw_path) or "/", safe="/~"),
            _canonical_query(query),
            "".join(
                f"{name}:{','.join(' '.join(v.split()) for v in headers.get(name, []))}\n"
                for name in auth.signed_headers
            ),
            ";".join(auth.signed_headers),
            _payload_hash(headers, body),
        ]
    )
    to_sign = "\n".join(
        [ALGORITHM, amz_date, auth.scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + secret).encode()
    for part in (auth.date, auth.region, auth.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def signature_matches(auth: SigV4Header, expected: str) -> bool:
    """Constant-time comparison of the sent and the expected signature."""
    return hmac.compare_digest(auth.signature.encode(), expected.encode())


def _canonical_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _payload_hash(headers: Mapping[str, list[str]], body: bytes) -> str:
    actual = hashlib.sha256(body).hexdigest()
    claimed = headers.get("x-amz-content-sha256")
    if claimed and claimed[0] != "UNSIGNED-PAYLOAD" and claimed[0] != actual:
        return actual  # a false claim: sign over the real body, so the signature fails
    return claimed[0] if claimed else actual
