"""The IPC operations ``eks_token`` and ``eks_cluster``: wire arguments in, reply mappings out.

Kept beside ``dispatch.py`` (which maps each ``Op`` here) so the EKS operations are one module:
arguments as the wire carries them become an ``EksRequest``; the reply is what the client (full
or fast path) renders into kubectl's ExecCredential or a kubeconfig entry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from ssod.daemon.engine.ekstokens import EksRequest, EksTokens
from ssod.daemon.serve.ipc import Progress
from ssod.replies import EksClusterReply, EksTokenReply

Result = AsyncIterator[Progress | Mapping[str, object]]


def _str(args: Mapping[str, object], name: str) -> str | None:
    value = args.get(name)
    return value if isinstance(value, str) and value else None


async def token(tokens: EksTokens, args: Mapping[str, object]) -> Result:
    """``{token, expiration, region, host}`` for one ``eks get-token``."""
    issued = await tokens.token(
        EksRequest(
            profile=_str(args, "profile") or "",
            cluster=_str(args, "cluster") or "",
            region=_str(args, "region"),
            role_arn=_str(args, "role_arn"),
            session_name=_str(args, "session_name"),
            fips=args.get("fips") is True,
            dualstack=args.get("dualstack") is True,
        )
    )
    reply: EksTokenReply = {
        "token": issued.token,
        "expiration": issued.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": issued.region,
        "host": issued.host,
    }
    yield reply


async def cluster(tokens: EksTokens, args: Mapping[str, object]) -> Result:
    """What DescribeCluster says of a cluster: name, ARN, endpoint, CA data, status."""
    found = await tokens.cluster(
        _str(args, "profile") or "", _str(args, "region"), _str(args, "cluster") or ""
    )
    reply: EksClusterReply = {
        "name": found.name,
        "arn": found.arn,
        "endpoint": found.endpoint,
        "certificate_authority": found.certificate_authority,
        "status": found.status,
    }
    yield reply
