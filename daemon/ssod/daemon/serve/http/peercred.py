"""Which local user owns the other end of a TCP connection.

The IMDS protocol has no client secret, so on a shared host any user could ask a loopback
IMDS endpoint for our credentials. Linux knows every TCP socket of this network namespace and
its owner's uid, so the client's socket (its local address is our peer, its remote address our
socket) names the user who opened it. The kernel is asked for that one socket over netlink
(``sock_diag``, as ``ss`` does: tens of microseconds); where that is not allowed, the whole
``/proc/net/tcp`` (``tcp6`` for IPv6) is read instead, which costs milliseconds on a busy host.
A client in another network namespace (a container behind a bridge) is not found:
``peer_uid`` answers None, and the caller decides. Parsing is pure (:func:`find_uid`,
:func:`diag_request`, :func:`diag_uid`).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
from pathlib import Path
from typing import Final

_PROC: Final = Path("/proc/net")
_NETLINK_SOCK_DIAG: Final = 4
_SOCK_DIAG_BY_FAMILY: Final = 20
_NLM_F_REQUEST: Final = 1
_NLMSG_ERROR: Final = 2
_NO_COOKIE: Final = 0xFFFFFFFF
#: In a reply: the netlink header (16), then inet_diag_msg's family, state, timer and retrans
#: (4), its socket id (48), expires, rqueue and wqueue (12), then the uid.
_UID_OFFSET: Final = 16 + 4 + 48 + 12


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


def diag_request(client: tuple[str, int], server: tuple[str, int]) -> bytes:
    """A ``SOCK_DIAG_BY_FAMILY`` request for exactly the TCP socket ``client`` -> ``server``."""
    family = socket.AF_INET6 if ":" in client[0] else socket.AF_INET

    def address(host: str) -> bytes:
        return socket.inet_pton(family, host).ljust(16, b"\0")

    sockid = struct.pack(
        "!HH16s16s", client[1], server[1], address(client[0]), address(server[0])
    ) + struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE)
    body = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
    header = struct.pack("=IHHII", 16 + len(body), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, 1, 0)
    return header + body


def diag_uid(reply: bytes) -> int | None:
    """The uid in a sock_diag reply; None when the kernel has no such socket (ENOENT).

    Any other error is an ``OSError``: the caller then reads ``/proc/net/tcp`` instead.
    """
    if len(reply) < 20:
        raise OSError(errno.EPROTO, "short sock_diag reply")
    kind = struct.unpack_from("=H", reply, 4)[0]
    if kind == _NLMSG_ERROR:
        code = -struct.unpack_from("=i", reply, 16)[0]
        if code == errno.ENOENT:
            return None
        raise OSError(code, "sock_diag refused")
    if kind != _SOCK_DIAG_BY_FAMILY or len(reply) < _UID_OFFSET + 4:
        raise OSError(errno.EPROTO, "unexpected sock_diag reply")
    return int(struct.unpack_from("=I", reply, _UID_OFFSET)[0])


def _ask_kernel(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    netlink = getattr(socket, "AF_NETLINK", None)
    if netlink is None:
        raise OSError(errno.EAFNOSUPPORT, "no netlink here")
    with socket.socket(netlink, socket.SOCK_RAW, _NETLINK_SOCK_DIAG) as sock:
        sock.settimeout(1.0)
        sock.sendto(diag_request(client, server), (0, 0))
        return diag_uid(sock.recv(8192))


def kernel_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The uid the kernel names at once (sock_diag), or None: not listed, or not asked here.

    Never the slow ``/proc`` reading: for callers that ask at every connection.
    """
    try:
        return _ask_kernel(client, server)
    except (OSError, ValueError):
        return None


def peer_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The uid owning the client end of this connection, or None when it is not on this host's
    network namespace (or the platform does not say)."""
    try:
        return _ask_kernel(client, server)
    except (OSError, ValueError):
        pass  # not allowed here (or no netlink): the slow way
    name = "tcp6" if ":" in client[0] else "tcp"
    try:
        table = (_PROC / name).read_text()
    except OSError:
        return None
    return find_uid(table, client, server)
