"""Calls to the emulator's Kubernetes API stub with a bearer token, for the EKS tests."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request

from ssod.emulator.state import EmulatorState


def call_stub(state: EmulatorState, token: str, cluster: str = "demo") -> int:
    """The stub's HTTP status for ``GET /api`` with ``token`` (its CA trusted, nothing else)."""
    context = ssl.create_default_context(cadata=state.kube_ca.decode())
    request = urllib.request.Request(
        state.kube_endpoints[cluster] + "/api", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
