"""kubectl's ExecCredential for an EKS token, and the daemon request ``ssod eks token`` makes.

Both the full command line and the daemon's fast socket use these two functions, so both paths
print the same bytes. The profile and region follow botocore's environment (``AWS_DEFAULT_PROFILE``
then ``AWS_PROFILE``; ``AWS_REGION`` then ``AWS_DEFAULT_REGION``) and FIPS/dual-stack follow
``AWS_USE_FIPS_ENDPOINT``/``AWS_USE_DUALSTACK_ENDPOINT``. ``apiVersion`` is echoed from
``KUBERNETES_EXEC_INFO`` when it is ``v1`` or ``v1beta1``, else ``v1beta1``, as the AWS CLI does
(get_token.py ``discover_api_version``). Pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ssod import eksargv

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"


def api_version(exec_info: str | None) -> str:
    """The apiVersion kubectl asked for in ``KUBERNETES_EXEC_INFO``, if it is one we speak."""
    try:
        info = json.loads(exec_info or "")
    except ValueError:
        return V1BETA1
    wanted = info.get("apiVersion") if isinstance(info, dict) else None
    return wanted if wanted in (V1, V1BETA1) else V1BETA1


def render(reply: Mapping[str, object], exec_info: str | None) -> str:
    """The ExecCredential JSON object, one line (stdout holds nothing else)."""
    body = {
        "kind": "ExecCredential",
        "apiVersion": api_version(exec_info),
        "spec": {},
        "status": {"expirationTimestamp": reply["expiration"], "token": reply["token"]},
    }
    return json.dumps(body, separators=(",", ":"))


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def request_args(fields: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, object]:
    """The ``eks_token`` IPC arguments for parsed flags (``eksargv`` names) and environment."""
    profile = (
        fields.get(eksargv.PROFILE)
        or environ.get("AWS_DEFAULT_PROFILE")
        or environ.get("AWS_PROFILE")
        or "default"
    )
    args: dict[str, object] = {
        "profile": profile,
        "cluster": fields.get(eksargv.CLUSTER_ID) or fields.get(eksargv.CLUSTER) or "",
    }
    region = (
        fields.get(eksargv.REGION) or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    )
    if region:
        args["region"] = region
    for name in (eksargv.ROLE_ARN, eksargv.SESSION_NAME):
        if fields.get(name):
            args[name] = fields[name]
    if _flag(environ.get("AWS_USE_FIPS_ENDPOINT")):
        args["fips"] = True
    if _flag(environ.get("AWS_USE_DUALSTACK_ENDPOINT")):
        args["dualstack"] = True
    return args
