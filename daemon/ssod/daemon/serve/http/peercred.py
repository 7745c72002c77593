"""Which local user owns the other end of a TCP connection: read from ``/proc/net/tcp``.

The IMDS protocol has no client secret, so on a shared host any user could ask a loopback
IMDS endpoint for our credentials. Linux lists every TCP socket of this network namespace in
``/proc/net/tcp`` (``tcp6`` for IPv6) with its owner's uid, so the client's socket (its local
address is our peer, its remote address our socket) names the user who opened it. A client in
another network namespace (a container behind a bridge) is not listed: ``peer_uid`` answers
None, and the caller decides. Parsing is pure (:func:`find_uid`); reading is one small file.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from pathlib import Path
from typing import Final

_PROC: Final = Path("/proc/net")


def supported() -> bool:
    """True where the kernel lists TCP sockets with their owners (Linux)."""
    return (_PROC / "tcp").exists()


def encode(host: str, port: int) -> str:
    """An address as ``/proc/net/tcp`` writes it: ``0100007F:1F90``."""
    ip = ipaddress.ip_address(host)
    if ip.version == 4:
        (word,) = struct.unpack("<I", socket.inet_aton(str(ip)))
        return f"{word:08X}:{port:04X}"
    words = struct.unpack("<4I", ip.packed)  # four host-order 32-bit words, each as %08X
    return "".join(f"{w:08X}" for w in words) + f":{port:04X}"


def find_uid(table: str, client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The uid of the socket ``client`` -> ``server`` in a ``/proc/net/tcp*`` text, if listed."""
    local, remote = encode(*client), encode(*server)
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 7 and fields[1] == local and fields[2] == remote:
            try:
                return int(fields[7])
            except ValueError:
                return None
    return None


def peer_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The uid owning the client end of this connection, or None when it is not on this host's
    network namespace (or the platform does not say)."""
    name = "tcp6" if ":" in client[0] else "tcp"
    try:
        table = (_PROC / name).read_text()
    except OSError:
        return None
    return find_uid(table, client, server)
