"""Calls to the emulator's Kubernetes API stub with a bearer token, for the EKS tests."""

from __future__ import annotations

import glob
import os
import shutil
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


def real_kubectls() -> list[str]:
    """The kubectl binaries to test with, oldest first.

    Google Cloud SDK's ``kubectl`` is a dispatcher that asks the server for its version (running
    the exec plugin for that) before it runs the matching ``kubectl.1.NN`` beside it: what users
    of a plain kubectl never pay. The versioned binaries are used directly when present.
    """
    found = shutil.which("kubectl")
    if found is None:
        return []
    real = os.path.realpath(found)
    versioned = glob.glob(real + ".1.*")
    if not versioned:
        return [real]
    return sorted(versioned, key=lambda p: int(p.rsplit(".", 1)[1]))
