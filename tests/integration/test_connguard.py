"""The endpoints' connection rules (``connguard``, ``listeners``) over real loopback sockets:
a refused request ends its connection, and a full server makes room by evicting a connection
that never presented a token, never one that did.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from otheruser import OtherUser
from ssod.daemon.aws.credentials import RoleCredentials
from ssod.daemon.serve.ecs import EcsServer
from ssod.daemon.serve.http.listenpolicy import ListenAddress
from ssod.daemon.serve.imds import ImdsServer
from ssod.daemon.store import ecstoken

HOST = "127.0.0.1"
LOOPBACK = (ListenAddress(HOST, required=True),)
CREDS = RoleCredentials(
    "AKIAEXAMPLE", "secret", "session", datetime(2030, 1, 1, tzinfo=UTC), "123456789012", None
)


class Provider:
    def held(self, profile: str) -> RoleCredentials | None:
        return CREDS if profile == "dev" else None

    async def credentials(self, profile: str) -> RoleCredentials:
        return CREDS


@pytest.fixture
async def server() -> AsyncIterator[tuple[EcsServer, str]]:
    token = ecstoken.new_token()
    ecs = EcsServer(Provider(), lambda: token, port=0, head_timeout=5.0, max_connections=4)
    await ecs.start()
    try:
        yield ecs, token
    finally:
        await ecs.stop()


def ask(sock: socket.socket, port: int, path: str, **headers: str) -> tuple[int, bytes]:
    """One keep-alive request on ``sock``: the status and the raw head."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    reader = sock.makefile("rb")
    head = b""
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        head += line
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    reader.read(length)
    reader.close()
    return int(head.split()[1]), head


def closed_by_server(sock: socket.socket, wait: float = 3.0) -> bool:
    """True once the server has closed or reset ``sock`` (False: still open after ``wait``)."""
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/health", {"Host": "evil.example:1"}),  # wrong Host
        ("/credentials/dev", {}),  # no token
        ("/credentials/dev", {"Authorization": "wrong"}),
        ("/nothing", {}),
    ],
)
async def test_a_refused_request_ends_its_connection(
    server: tuple[EcsServer, str], path: str, headers: dict[str, str]
) -> None:
    ecs, _ = server

    def exchange() -> tuple[int, bytes, bool]:
        with socket.create_connection((HOST, ecs.port), timeout=5) as sock:
            if "Host" in headers:
                raw = f"GET {path} HTTP/1.1\r\nHost: {headers['Host']}\r\n\r\n".encode()
                sock.sendall(raw)
                reader = sock.makefile("rb")
                head = reader.readline()
                reader.close()
                return int(head.split()[1]), head, closed_by_server(sock)
            status, head = ask(sock, ecs.port, path, **headers)
            return status, head, closed_by_server(sock)

    status, _head, closed = await asyncio.to_thread(exchange)
    assert 400 <= status < 500
    assert closed


async def test_an_answered_request_keeps_its_connection(server: tuple[EcsServer, str]) -> None:
    ecs, token = server

    def exchange() -> list[int]:
        with socket.create_connection((HOST, ecs.port), timeout=5) as sock:
            return [
                ask(sock, ecs.port, "/health")[0],
                ask(sock, ecs.port, "/credentials/dev", Authorization=token)[0],
                ask(sock, ecs.port, "/credentials/dev", Authorization=token)[0],
            ]

    assert await asyncio.to_thread(exchange) == [200, 200, 200]


async def test_full_evicts_an_idle_untrusted_connection_never_a_trusted_one(
    server: tuple[EcsServer, str],
) -> None:
    ecs, token = server

    def scenario() -> None:
        socks: list[socket.socket] = []
        try:
            # Two connections that proved the token, two that never said anything.
            for _ in range(2):
                sock = socket.create_connection((HOST, ecs.port), timeout=5)
                socks.append(sock)
                assert ask(sock, ecs.port, "/credentials/dev", Authorization=token)[0] == 200
            idle = [socket.create_connection((HOST, ecs.port), timeout=5) for _ in range(2)]
            socks += idle
            # Full: each newcomer takes the slot of an idle untrusted one, oldest first.
            newcomer = socket.create_connection((HOST, ecs.port), timeout=5)
            socks.append(newcomer)
            assert closed_by_server(idle[0])
            assert ask(newcomer, ecs.port, "/credentials/dev", Authorization=token)[0] == 200
            later = socket.create_connection((HOST, ecs.port), timeout=5)
            socks.append(later)
            assert closed_by_server(idle[1])
            assert ask(later, ecs.port, "/credentials/dev", Authorization=token)[0] == 200
            # Now every slot is trusted: a fifth connection is reset, and the others all serve.
            fifth = socket.create_connection((HOST, ecs.port), timeout=5)
            socks.append(fifth)
            assert closed_by_server(fifth)
            for sock in (*socks[:2], newcomer, later):
                assert ask(sock, ecs.port, "/credentials/dev", Authorization=token)[0] == 200
        finally:
            for sock in socks:
                with contextlib.suppress(OSError):
                    sock.close()

    await asyncio.to_thread(scenario)


@pytest.fixture(params=["ecs", "imds"])
async def endpoint(request: pytest.FixtureRequest) -> AsyncIterator[tuple[int, bytes]]:
    """A running ECS or IMDS endpoint (they share these rules): its port and a path that
    answers 401 without a token."""
    served: EcsServer | ImdsServer
    if request.param == "ecs":
        served = EcsServer(Provider(), lambda: "token", port=0)
        path = b"/credentials/dev"
    else:
        served = ImdsServer(Provider(), "dev", lambda: "us-east-1", port=0, listen=LOOPBACK)
        path = b"/latest/meta-data/iam/security-credentials/dev"
    await served.start()
    try:
        yield served.port, path
    finally:
        await served.stop()


def status_of(port: int, head: bytes) -> int:
    with socket.create_connection((HOST, port), timeout=5) as sock:
        sock.sendall(head)
        line = sock.makefile("rb").readline()
    return int(line.split()[1])


@pytest.mark.parametrize(
    ("head", "refused"),
    [
        (b"GET /PATH\r\n\r\n", True),  # HTTP/0.9: no version at all
        (b"GET /PATH HTTP/0.9\r\nHost: HOST\r\n\r\n", True),
        (b"GET http://evil.example/PATH HTTP/1.1\r\nHost: HOST\r\n\r\n", True),
        (b"GET https://HOST/PATH HTTP/1.1\r\nHost: HOST\r\n\r\n", True),
        (b"GET //evil.example/PATH HTTP/1.1\r\nHost: HOST\r\n\r\n", False),  # a path
        (b"GET http://HOST/PATH HTTP/1.1\r\nHost: HOST\r\n\r\n", False),  # ours
        (b"GET /PATH HTTP/1.0\r\nHost: HOST\r\n\r\n", False),
    ],
)
async def test_request_targets_and_versions_no_sdk_sends_are_400(
    endpoint: tuple[int, bytes], head: bytes, refused: bool
) -> None:
    port, path = endpoint
    raw = head.replace(b"HOST", f"{HOST}:{port}".encode()).replace(b"/PATH", path)
    status = await asyncio.to_thread(status_of, port, raw)
    assert (status == 400) is refused, status


#: Another user's idle connections: open ``N``, then say how many the server left open.
_HOARDER = """
socks = [socket.create_connection(('127.0.0.1', PORT)) for _ in range(N)]
time.sleep(0.5)
alive = 0
for s in socks:
    s.setblocking(False)
    try:
        alive += s.recv(1) != b''
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print(alive, flush=True)
time.sleep(60)
"""


async def test_another_uid_holds_at_most_a_quarter_of_the_slots(
    other_user: OtherUser,
) -> None:
    token = ecstoken.new_token()
    ecs = EcsServer(Provider(), lambda: token, port=0, head_timeout=30.0, max_connections=8)
    await ecs.start()
    hoarder = other_user.popen(f"PORT = {ecs.port}\nN = 6\n" + _HOARDER)
    try:
        assert hoarder.stdout is not None
        line = await asyncio.to_thread(hoarder.stdout.readline)
        assert int(line) == 2  # 8 // FOREIGN_SHARE

        def owner() -> list[int]:
            socks = [socket.create_connection((HOST, ecs.port), timeout=5) for _ in range(6)]
            try:
                return [ask(s, ecs.port, "/credentials/dev", Authorization=token)[0] for s in socks]
            finally:
                for s in socks:
                    s.close()

        # The other six slots are the owner's, all at once and without evicting anything.
        assert await asyncio.to_thread(owner) == [200] * 6
    finally:
        hoarder.kill()
        await asyncio.to_thread(hoarder.communicate, timeout=30)
        await ecs.stop()
