"""EKS DescribeCluster (rest-json ``GET /clusters/{name}``) for the directory's clusters.

Signed SigV4 requests only, with credentials this emulator issued (the signature recomputed as
``sts.py`` does). The answer carries the cluster's ARN in the caller's account and the signing
region, ``status: ACTIVE``, and the endpoint and CA of its Kubernetes API stub (``kubeapi.py``).
Errors are rest-json, their type in ``x-amzn-ErrorType`` as botocore reads it.
"""

from __future__ import annotations

import base64
import json

from aiohttp import web

from ssod.emulator import sigv4
from ssod.emulator.credentials import IssuedCredentials
from ssod.emulator.errors import request_id
from ssod.emulator.prologue import PORTAL, STATE, begin


class EksError(Exception):
    """An EKS error: its type and HTTP status."""

    def __init__(self, kind: str, message: str, status: int) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status

    def response(self) -> web.Response:
        """The rest-json error answer."""
        return web.Response(
            status=self.status,
            body=json.dumps({"message": self.message}).encode(),
            headers={
                "Content-Type": "application/json",
                "x-amzn-ErrorType": f"{self.kind}:",
                "x-amzn-RequestId": request_id(),
            },
        )


def add_routes(app: web.Application) -> None:
    """Register DescribeCluster."""
    app.router.add_get("/clusters/{name}", _describe_cluster)


def _authenticate(request: web.Request) -> tuple[IssuedCredentials, str]:
    """The caller's credentials and the region it signed for."""
    header = request.headers.get("Authorization")
    try:
        auth = sigv4.parse_authorization(header or "")
    except sigv4.MalformedAuthorization:
        raise EksError("UnrecognizedClientException", "Missing Authentication Token", 403) from None
    state = request.app[STATE]
    creds = state.creds.lookup(auth.access_key_id)
    if creds is None or request.headers.get("X-Amz-Security-Token") != creds.session_token:
        raise EksError(
            "UnrecognizedClientException",
            "The security token included in the request is invalid",
            403,
        )
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    expected = sigv4.expected_signature(
        auth,
        creds.secret_access_key,
        request.method,
        request.raw_path.partition("?")[0],
        request.query_string,
        headers,
        b"",
    )
    if not sigv4.signature_matches(auth, expected):
        raise EksError("InvalidSignatureException", "Signature does not match", 403)
    if state.creds.expired(creds):
        raise EksError(
            "ExpiredTokenException", "The security token included in the request is expired", 403
        )
    return creds, auth.region


async def _describe_cluster(request: web.Request) -> web.StreamResponse:
    if (early := await begin(request, "DescribeCluster", PORTAL)) is not None:
        return early
    name = request.match_info["name"]
    state = request.app[STATE]
    try:
        creds, region = _authenticate(request)
        endpoint = state.kube_endpoints.get(name)
        if name not in state.config.directory.clusters or endpoint is None:
            raise EksError("ResourceNotFoundException", f"No cluster found for name: {name}.", 404)
    except EksError as err:
        return err.response()
    arn = f"arn:aws:eks:{region}:{creds.account_id}:cluster/{name}"
    return web.json_response(
        {
            "cluster": {
                "name": name,
                "arn": arn,
                "createdAt": 1764547200,
                "version": "1.32",
                "endpoint": endpoint,
                "roleArn": f"arn:aws:iam::{creds.account_id}:role/eks-cluster",
                "status": "ACTIVE",
                "certificateAuthority": {"data": base64.b64encode(state.kube_ca).decode()},
                "platformVersion": "eks.1",
            }
        }
    )
