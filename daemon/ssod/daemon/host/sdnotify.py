"""systemd's readiness protocol: ``READY=1`` and ``STOPPING=1`` to ``$NOTIFY_SOCKET``.

Only when started as a ``Type=notify`` unit (systemd sets the variable); a no-op otherwise.
An abstract socket address is given with a leading ``@``.
"""

from __future__ import annotations

import contextlib
import os
import socket


def sd_notify(message: bytes) -> None:
    """Tell systemd about our state when started as a Type=notify unit; no-op otherwise."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    target = "\0" + address[1:] if address.startswith("@") else address
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(target)
        sock.sendall(message)
