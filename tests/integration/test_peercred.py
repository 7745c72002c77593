"""Who owns the other end of a loopback TCP connection (``peercred``): the kernel's answer over
sock_diag, the ``/proc/net/tcp`` reading it falls back to, and a real second uid.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from otheruser import OtherUser
from ssod.daemon.serve.http import peercred

pytestmark = pytest.mark.skipif(not peercred.supported(), reason="Linux only (/proc/net/tcp)")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        yield srv


def by_proc(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    return peercred.find_uid(Path("/proc/net/tcp").read_text(), client, server)


def test_our_connection_is_ours_both_ways(listener: socket.socket) -> None:
    with socket.create_connection(listener.getsockname()) as client:
        accepted, peer = listener.accept()
        with accepted:
            server = listener.getsockname()
            assert peercred.peer_uid(peer, server) == os.getuid()
            assert by_proc(peer, server) == os.getuid()
            assert client.getsockname() == peer
    # A socket that does not exist (here) is nobody's.
    assert peercred.peer_uid(("127.0.0.1", 1), listener.getsockname()) is None


def test_ipv6_loopback(listener: socket.socket) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    with socket.socket(socket.AF_INET6) as srv:
        try:
            srv.bind(("::1", 0))
        except OSError:
            pytest.skip("no ::1 here")
        srv.listen()
        with socket.create_connection(srv.getsockname()[:2]):
            accepted, peer = srv.accept()
            with accepted:
                assert peercred.peer_uid(peer[:2], srv.getsockname()[:2]) == os.getuid()


def test_another_users_connection_is_theirs(listener: socket.socket, other_user: OtherUser) -> None:
    host, port = listener.getsockname()
    code = (
        f"s = socket.create_connection(({host!r}, {port}))\n"
        "print('connected', flush=True)\n"
        "time.sleep(30)\n"
    )
    stranger = other_user.popen(code)
    try:
        assert stranger.stdout is not None
        assert stranger.stdout.readline().strip() == "connected"
        accepted, peer = listener.accept()
        with accepted:
            assert peercred.peer_uid(peer, listener.getsockname()) == other_user.uid
            assert by_proc(peer, listener.getsockname()) == other_user.uid
    finally:
        stranger.kill()
        stranger.communicate(timeout=30)


def test_replies_the_kernel_may_give() -> None:
    error = struct.pack("=IHHIIi", 36, 2, 0, 1, 0, -2) + b"\0" * 16  # NLMSG_ERROR, ENOENT
    assert peercred.diag_uid(error) is None
    with pytest.raises(OSError):
        peercred.diag_uid(struct.pack("=IHHIIi", 36, 2, 0, 1, 0, -1) + b"\0" * 16)  # EPERM
    with pytest.raises(OSError):
        peercred.diag_uid(b"\0" * 8)
    found = struct.pack("=IHHII", 88, 20, 0, 1, 0) + b"\0" * 64 + struct.pack("=II", 4242, 7)
    assert peercred.diag_uid(found) == 4242
