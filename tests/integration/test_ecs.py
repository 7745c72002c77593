"""The ECS credentials endpoint over real HTTP: contract, security gate, limits, and botocore."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from ssod import errors
from ssod.daemon.aws.credentials import RoleCredentials
from ssod.daemon.serve.ecs import (
    DEFAULT_ECS_PORT,
    ECS_HOST,
    HEALTH_PATH,
    MAX_PROFILE_LENGTH,
    EcsServer,
    credentials_path,
)
from ssod.daemon.serve.http.replies import (
    CODE_FORBIDDEN,
    CODE_METHOD_NOT_ALLOWED,
    CODE_NOT_FOUND,
    CODE_UNAUTHORIZED,
)
from ssod.daemon.store import ecstoken
from ssod.version import __version__

EXPIRES = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"
LOGIN_MESSAGE = "sso-session 'corp' has no valid token: run `ssod login corp`"


def creds(key: str = "AKIAEXAMPLE", arn: str | None = None) -> RoleCredentials:
    return RoleCredentials(key, SECRET, SESSION, EXPIRES, "123456789012", arn)


class FakeProvider:
    """A CredentialProvider with a fixed cast of profiles."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.finished: list[str] = []
        self.calls: list[str] = []
        self.served = {
            "dev": creds(arn="arn:aws:iam::123456789012:role/Dev"),
            "prod/admin": creds("AKIAPRODADMIN"),
            "with space": creds("AKIASPACE"),
            "ünïcødé": creds("AKIAUNICODE"),
            "a" * MAX_PROFILE_LENGTH: creds("AKIALONG"),
        }

    def held(self, profile: str) -> RoleCredentials | None:
        # The broker's fast path: what is already in memory, without awaiting anything.
        found = self.served.get(profile)
        if found is not None:
            self.calls.append(profile)
        return found

    async def credentials(self, profile: str) -> RoleCredentials:
        self.calls.append(profile)
        if profile in self.served:
            return self.served[profile]
        if profile == "expired":
            raise errors.LoginRequired(LOGIN_MESSAGE)
        if profile == "down":
            raise errors.AwsUnavailable("IAM Identity Center did not answer")
        if profile == "denied":
            raise errors.RoleAccessDenied("no access to 123456789012/Admin")
        if profile == "awserr":
            raise errors.AwsError("AWS said no")
        if profile == "broken":
            raise RuntimeError(f"leaky {SECRET}")
        if profile == "slow":
            await asyncio.wait_for(self.release.wait(), 5)
            self.finished.append(profile)
            return creds("AKIASLOW")
        raise errors.ProfileNotFound(f"no profile named {profile!r} in ~/.aws/config")


class Harness:
    def __init__(self, server: EcsServer, provider: FakeProvider, token: list[str]) -> None:
        self.server = server
        self.provider = provider
        self.token_box = token

    @property
    def token(self) -> str:
        return self.token_box[0]

    @property
    def port(self) -> int:
        return self.server.port

    def auth(self) -> dict[str, str]:
        return {"Authorization": self.token}


@pytest.fixture
async def ecs() -> AsyncIterator[Harness]:
    provider = FakeProvider()
    token = [ecstoken.new_token()]
    server = EcsServer(provider, lambda: token[0], port=0)
    await server.start()
    try:
        yield Harness(server, provider, token)
    finally:
        provider.release.set()
        await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def until(check: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Poll ``check`` on the event loop until it is truthy; fail with ``what`` at ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def get(
    http: aiohttp.ClientSession, h: Harness, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    async with http.get(h.server.base_url + path, headers=headers) as resp:
        return resp.status, dict(resp.headers), await resp.read()


def raw_exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, read until the server closes or ``timeout`` passes."""
    with socket.create_connection((ECS_HOST, port), timeout=timeout) as sock:
        sock.sendall(data)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return out


def raw_request(h: Harness, target: str, *headers: str) -> bytes:
    head = f"GET {target} HTTP/1.1\r\n" + "".join(f"{x}\r\n" for x in headers)
    return (head + "Connection: close\r\n\r\n").encode("utf-8", "surrogateescape")


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


# --- the contract ------------------------------------------------------------------------


def test_constants_and_paths() -> None:
    assert DEFAULT_ECS_PORT == 9179
    assert ECS_HOST == "127.0.0.1"
    assert credentials_path("dev") == "/credentials/dev"
    assert credentials_path("prod/admin") == "/credentials/prod%2Fadmin"
    assert credentials_path("with space") == "/credentials/with%20space"
    assert credentials_path("..") == "/credentials/.."


async def test_binds_loopback_only_and_reports_its_port(ecs: Harness) -> None:
    assert ecs.port != 0
    assert ecs.server.base_url == f"http://127.0.0.1:{ecs.port}"
    assert ecs.server.url_for("prod/admin") == f"{ecs.server.base_url}/credentials/prod%2Fadmin"
    assert ecs.server.sockets == [("127.0.0.1", ecs.port)]
    assert ecs.server.served == ["127.0.0.1"] and ecs.server.waiting == []


async def test_serves_credentials(ecs: Harness, http: aiohttp.ClientSession) -> None:
    status, headers, body = await get(http, ecs, "/credentials/dev", ecs.auth())
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    assert json.loads(body) == {
        "AccessKeyId": "AKIAEXAMPLE",
        "SecretAccessKey": SECRET,
        "Token": SESSION,
        "Expiration": "2030-01-02T03:04:05Z",
        "AccountId": "123456789012",
        "RoleArn": "arn:aws:iam::123456789012:role/Dev",
    }


@pytest.mark.parametrize("profile", ["prod/admin", "with space", "ünïcødé", "a" * 256])
async def test_odd_profile_names_round_trip(
    ecs: Harness, http: aiohttp.ClientSession, profile: str
) -> None:
    url = ecs.server.url_for(profile)
    async with http.get(url, headers=ecs.auth()) as resp:
        assert resp.status == 200
        assert (await resp.json())["AccessKeyId"] == ecs.provider.served[profile].access_key_id
    assert ecs.provider.calls == [profile]


async def test_head_is_allowed(ecs: Harness, http: aiohttp.ClientSession) -> None:
    async with http.head(ecs.server.url_for("dev"), headers=ecs.auth()) as resp:
        assert resp.status == 200
        assert await resp.read() == b""
    async with http.head(ecs.server.base_url + HEALTH_PATH) as resp:
        assert resp.status == 200


async def test_health_needs_no_token_and_shows_no_secret(
    ecs: Harness, http: aiohttp.ClientSession
) -> None:
    async with http.get(ecs.server.base_url + HEALTH_PATH) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json"
        assert await resp.json() == {"status": "ok", "version": __version__}
    status, _, _ = await get(http, ecs, HEALTH_PATH, {"Host": "evil.com"})
    assert status == 403


@pytest.mark.parametrize(
    ("profile", "status", "code"),
    [
        ("nosuch", 404, "profile_not_found"),
        ("expired", 503, "login_required"),
        ("down", 503, "aws_unavailable"),
        ("denied", 403, "access_denied"),
        ("awserr", 502, "aws_error"),
    ],
)
async def test_provider_errors(
    ecs: Harness, http: aiohttp.ClientSession, profile: str, status: int, code: str
) -> None:
    async with http.get(ecs.server.url_for(profile), headers=ecs.auth()) as resp:
        assert resp.status == status
        assert resp.headers["Content-Type"] == "application/json"
        body = await resp.json()
    assert body["code"] == code
    assert body["message"]


async def test_login_required_names_the_session_and_the_command(
    ecs: Harness, http: aiohttp.ClientSession
) -> None:
    async with http.get(ecs.server.url_for("expired"), headers=ecs.auth()) as resp:
        assert (await resp.json())["message"] == LOGIN_MESSAGE


async def test_unexpected_errors_are_500_and_log_only_the_type(
    ecs: Harness, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with http.get(ecs.server.url_for("broken"), headers=ecs.auth()) as resp:
        assert resp.status == 500
        body = await resp.json()
    assert body["code"] == "internal_error"
    assert SECRET not in str(body)
    assert "RuntimeError" in caplog.text
    assert SECRET not in caplog.text


async def test_never_waits_beyond_the_limit_and_keeps_fetching(
    ecs: Harness, http: aiohttp.ClientSession
) -> None:
    started = time.monotonic()
    async with http.get(ecs.server.url_for("slow"), headers=ecs.auth()) as resp:
        elapsed = time.monotonic() - started
        assert resp.status == 503
        body = await resp.json()
        # Answered by the server's own limit: the fetch waits on an event nobody has set.
        assert ecs.provider.finished == [] and not ecs.provider.release.is_set()
    assert elapsed >= 0.9  # it did wait (a lower bound: a busy machine only lengthens it)
    assert body == {
        "code": "aws_unavailable",
        "message": "still fetching credentials for slow from AWS; retry",
    }
    # The fetch was not cancelled with the request: it finishes in the background.
    ecs.provider.release.set()
    await until(lambda: ecs.provider.finished, "the fetch to finish")
    assert ecs.provider.finished == ["slow"]


async def test_unknown_paths_are_json_404(ecs: Harness, http: aiohttp.ClientSession) -> None:
    for path in ["/", "/credentials/", "/credentials/a/b", "/role-arn/x", "/latest/meta-data/"]:
        status, headers, body = await get(http, ecs, path, ecs.auth())
        assert status == 404, path
        assert headers["Content-Type"] == "application/json"
        assert CODE_NOT_FOUND.encode() in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
@pytest.mark.parametrize("path", ["/credentials/dev", HEALTH_PATH, "/nowhere"])
async def test_other_methods_are_405(
    ecs: Harness, http: aiohttp.ClientSession, method: str, path: str
) -> None:
    async with http.request(method, ecs.server.base_url + path, headers=ecs.auth()) as resp:
        assert resp.status == 405
        assert resp.headers["Allow"] == "GET, HEAD"
        assert (await resp.json())["code"] == CODE_METHOD_NOT_ALLOWED
    assert ecs.provider.calls == []


# --- the token -----------------------------------------------------------------------------


async def test_no_token_is_401(ecs: Harness, http: aiohttp.ClientSession) -> None:
    status, headers, body = await get(http, ecs, "/credentials/dev")
    assert status == 401
    assert headers["Content-Type"] == "application/json"
    assert CODE_UNAUTHORIZED.encode() in body
    assert ecs.provider.calls == []


@pytest.mark.parametrize(
    "guess",
    [
        "same-length-but-wrong-token-value-xxxxxxxxx",  # 43 characters like the real one
        "short",
        "x" * 4000,
        "",
    ],
)
async def test_wrong_token_is_403(ecs: Harness, http: aiohttp.ClientSession, guess: str) -> None:
    status, _, body = await get(http, ecs, "/credentials/dev", {"Authorization": guess})
    assert status == 403
    assert CODE_FORBIDDEN.encode() in body
    assert ecs.provider.calls == []


async def test_token_prefix_and_suffix_do_not_count(
    ecs: Harness, http: aiohttp.ClientSession
) -> None:
    # (Surrounding spaces are not part of a header value in HTTP: the parser strips them.)
    for guess in [ecs.token[:-1], ecs.token + "x", "Bearer " + ecs.token, ecs.token * 2]:
        status, _, _ = await get(http, ecs, "/credentials/dev", {"Authorization": guess})
        assert status == 403, guess


@pytest.mark.parametrize(
    "header", ["X-Aws-Ec2-Metadata-Token", "X-Auth-Token", "Proxy-Authorization", "Cookie"]
)
async def test_token_in_another_header_does_not_count(
    ecs: Harness, http: aiohttp.ClientSession, header: str
) -> None:
    status, _, _ = await get(http, ecs, "/credentials/dev", {header: ecs.token})
    assert status == 401


async def test_token_in_the_query_does_not_count(ecs: Harness, http: aiohttp.ClientSession) -> None:
    status, _, _ = await get(http, ecs, f"/credentials/dev?token={ecs.token}")
    assert status == 401


async def test_rotation_takes_effect_without_restart(
    ecs: Harness, http: aiohttp.ClientSession
) -> None:
    old = ecs.token
    ecs.token_box[0] = ecstoken.new_token()
    assert (await get(http, ecs, "/credentials/dev", {"Authorization": old}))[0] == 403
    assert (await get(http, ecs, "/credentials/dev", ecs.auth()))[0] == 200


async def test_an_empty_token_never_authorizes(http: aiohttp.ClientSession) -> None:
    server = EcsServer(FakeProvider(), lambda: "", port=0)
    await server.start()
    try:
        async with http.get(server.url_for("dev"), headers={"Authorization": ""}) as resp:
            assert resp.status == 403
    finally:
        await server.stop()


# --- Host, Origin and browsers (DNS rebinding) ------------------------------------------


async def test_localhost_host_is_accepted(ecs: Harness, http: aiohttp.ClientSession) -> None:
    headers = {**ecs.auth(), "Host": f"localhost:{ecs.port}"}
    assert (await get(http, ecs, "/credentials/dev", headers))[0] == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.com",
        "evil.com:{port}",
        "127.0.0.1",
        "127.0.0.1:1",
        "localhost",
        "127.0.0.2:{port}",
        "[::1]:{port}",
        "127.0.0.1:{port}.evil.com",
        "169.254.170.2",
    ],
)
async def test_foreign_host_is_refused(
    ecs: Harness, http: aiohttp.ClientSession, host: str
) -> None:
    headers = {**ecs.auth(), "Host": host.format(port=ecs.port)}
    status, _, body = await get(http, ecs, "/credentials/dev", headers)
    assert status == 403
    assert b"Host" in body
    assert ecs.provider.calls == []


async def test_missing_host_is_refused(ecs: Harness) -> None:
    data = f"GET /credentials/dev HTTP/1.0\r\nAuthorization: {ecs.token}\r\n\r\n".encode()
    response = await asyncio.to_thread(raw_exchange, ecs.port, data)
    assert status_of(response) == 403
    assert ecs.provider.calls == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.com"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:{port}"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
async def test_browser_requests_are_refused(
    ecs: Harness, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    sent = {k: v.format(port=ecs.port) for k, v in headers.items()} | ecs.auth()
    status, _, _ = await get(http, ecs, "/credentials/dev", sent)
    assert status == 403
    assert ecs.provider.calls == []


@pytest.mark.parametrize("site", ["none", "same-origin"])
async def test_harmless_sec_fetch_site_passes(
    ecs: Harness, http: aiohttp.ClientSession, site: str
) -> None:
    status, _, _ = await get(http, ecs, "/credentials/dev", {"Sec-Fetch-Site": site} | ecs.auth())
    assert status == 200


# --- hostile input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/credentials/..%2f..",
        "/credentials/..%2F..%2Fetc%2Fpasswd",
        "/credentials/..",
        "/credentials/../../etc/passwd",
        "/credentials/%2e%2e",
        "/credentials/.",
    ],
)
async def test_path_traversal_goes_nowhere(ecs: Harness, target: str) -> None:
    data = raw_request(ecs, target, f"Host: 127.0.0.1:{ecs.port}", f"Authorization: {ecs.token}")
    response = await asyncio.to_thread(raw_exchange, ecs.port, data)
    assert status_of(response) in (400, 404)
    assert SECRET.encode() not in response


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("/credentials/", 404),
        ("/credentials", 404),
        ("/credentials/a/b", 404),
        ("/credentials/a%7Bb", 404),  # aiohttp's {profile} never matched braces
        ("/health/", 404),
        ("/health?x=1", 200),
        ("/credentials/dev?x=1", 200),  # the query is ignored
        ("/credentials/%25", 404),
    ],
)
async def test_routing_is_what_aiohttps_router_did(ecs: Harness, target: str, status: int) -> None:
    data = raw_request(ecs, target, f"Host: 127.0.0.1:{ecs.port}", f"Authorization: {ecs.token}")
    response = await asyncio.to_thread(raw_exchange, ecs.port, data)
    assert status_of(response) == status, response[:200]
    assert b"application/json" in response


async def test_a_percent_encoded_slash_and_percent_reach_the_provider(
    ecs: Harness, http: aiohttp.ClientSession
) -> None:
    target = f"http://127.0.0.1:{ecs.port}/credentials/a%2Fb%25c"
    async with http.get(target, headers=ecs.auth()) as resp:
        assert resp.status == 404
    assert ecs.provider.calls == ["a/b%c"]


@pytest.mark.parametrize("profile", ["a%00b", "a%0Ab", "a%0D%0Ab", "%7F", "x%C2%85y", "a" * 257])
async def test_bad_profile_names_are_400(ecs: Harness, profile: str) -> None:
    data = raw_request(
        ecs, "/credentials/" + profile, f"Host: 127.0.0.1:{ecs.port}", f"Authorization: {ecs.token}"
    )
    response = await asyncio.to_thread(raw_exchange, ecs.port, data)
    assert status_of(response) == 400
    assert b'"bad_request"' in response
    assert ecs.provider.calls == []


async def test_bad_profile_names_need_the_token_first(ecs: Harness) -> None:
    data = raw_request(ecs, "/credentials/a%00b", f"Host: 127.0.0.1:{ecs.port}")
    response = await asyncio.to_thread(raw_exchange, ecs.port, data)
    assert status_of(response) == 401


async def test_oversized_header_is_refused(ecs: Harness) -> None:
    data = raw_request(
        ecs,
        "/credentials/dev",
        f"Host: 127.0.0.1:{ecs.port}",
        f"Authorization: {ecs.token}",
        "X-Junk: " + "j" * 9000,
    )
    response = await asyncio.to_thread(raw_exchange, ecs.port, data)
    assert status_of(response) in (400, 431)
    assert SECRET.encode() not in response


async def test_oversized_url_is_refused(ecs: Harness) -> None:
    data = raw_request(
        ecs, "/credentials/" + "a" * 9000, f"Host: 127.0.0.1:{ecs.port}", "Authorization: x"
    )
    response = await asyncio.to_thread(raw_exchange, ecs.port, data)
    assert status_of(response) in (400, 414)


async def test_too_many_headers_are_refused(ecs: Harness) -> None:
    junk = [f"X-J{i}: v" for i in range(2000)]
    data = raw_request(ecs, "/credentials/dev", f"Host: 127.0.0.1:{ecs.port}", *junk)
    response = await asyncio.to_thread(raw_exchange, ecs.port, data)
    assert status_of(response) in (400, 431)


async def test_garbage_gets_400_and_the_server_lives_on(
    ecs: Harness, http: aiohttp.ClientSession
) -> None:
    for junk in [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", b"GARBAGE\r\n\r\n"]:
        response = await asyncio.to_thread(raw_exchange, ecs.port, junk)
        assert response == b"" or status_of(response) == 400
    assert (await get(http, ecs, "/credentials/dev", ecs.auth()))[0] == 200


# --- slowloris and connection limits ---------------------------------------------------------


@pytest.fixture
async def tight() -> AsyncIterator[Harness]:
    provider = FakeProvider()
    token = [ecstoken.new_token()]
    server = EcsServer(
        provider, lambda: token[0], port=0, wait_limit=0.1, head_timeout=0.6, max_connections=8
    )
    await server.start()
    try:
        yield Harness(server, provider, token)
    finally:
        provider.release.set()
        await server.stop()


def dribble(port: int, interval: float) -> int:
    """Send a request head one byte every ``interval`` seconds; the bytes sent before the
    server hung up (the whole head, over 20 seconds, if it never does)."""
    head = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n" + "X-Slow: " + "s" * 1000
    sent = 0
    with socket.create_connection((ECS_HOST, port)) as sock:
        try:
            for byte in head.encode():
                sock.sendall(bytes([byte]))
                sent += 1
                time.sleep(interval)  # the client's pace, not a wait for the server
            return sent
        except (BrokenPipeError, ConnectionResetError):
            return sent


async def test_slow_request_head_is_cut_off(tight: Harness) -> None:
    # The head deadline (0.6 s) cuts a head that would take 20 s to arrive, wherever it is.
    sent = await asyncio.to_thread(dribble, tight.port, 0.02)
    assert sent < 1000


def idle_connection_lifetime(port: int, limit: float) -> float:
    """Seconds until the server closes a connection that sends nothing (fails at ``limit``)."""
    started = time.monotonic()
    with (
        socket.create_connection((ECS_HOST, port), timeout=limit) as sock,
        contextlib.suppress(ConnectionResetError),
    ):
        assert sock.recv(1) == b""
    return time.monotonic() - started


async def test_silent_connection_is_cut_off(tight: Harness) -> None:
    # Closed by the server (a recv that never ends would time out after 30 s and fail) ...
    elapsed = await asyncio.to_thread(idle_connection_lifetime, tight.port, 30.0)
    assert elapsed >= 0.5  # ... and not at once (a lower bound: load only lengthens it)


def paced_keepalive(port: int, requests: int, pause: float) -> list[int]:
    statuses = []
    with socket.create_connection((ECS_HOST, port), timeout=30) as sock:
        reader = sock.makefile("rb")
        for _ in range(requests):
            sock.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            status_line = reader.readline()
            statuses.append(int(status_line.split()[1]))
            length = 0
            while (line := reader.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reader.read(length)
            time.sleep(pause)
        reader.close()
    return statuses


async def test_keepalive_client_that_keeps_pace_is_served() -> None:
    # 12 requests 0.25 s apart: past the 2 s head deadline in total, never per request (with
    # 1.75 s to spare for each, however busy the machine).
    server = EcsServer(FakeProvider(), ecstoken.new_token, port=0, wait_limit=0.1, head_timeout=2)
    await server.start()
    try:
        assert await asyncio.to_thread(paced_keepalive, server.port, 12, 0.25) == [200] * 12
    finally:
        await server.stop()


def keepalive_health(port: int, token: str | None = None) -> socket.socket:
    """A connection the server has accepted: it answered one request and keeps it open.

    With ``token`` the request is for credentials: the connection has proved itself, and a
    full server never evicts it (``connguard``).
    """
    sock = socket.create_connection((ECS_HOST, port), timeout=30)
    path, auth = ("/credentials/dev", f"Authorization: {token}\r\n") if token else ("/health", "")
    try:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n".encode())
        if not sock.recv(12).startswith(b"HTTP/1.1 200"):
            raise ConnectionError("not served")
    except BaseException:
        sock.close()
        raise
    return sock


def serves(port: int) -> bool:
    """Does the server answer a new connection?"""
    try:
        keepalive_health(port).close()
    except OSError:
        return False
    return True


async def test_connection_cap() -> None:
    # A head deadline of a minute: a connection closed sooner was closed by the cap. The held
    # connections proved the token, so none is evicted for the newcomer (test_connguard.py has
    # the eviction rules).
    provider = FakeProvider()
    token = ecstoken.new_token()
    server = EcsServer(provider, lambda: token, port=0, head_timeout=60, max_connections=8)
    await server.start()
    held: list[socket.socket] = []
    try:
        for _ in range(8):
            held.append(await asyncio.to_thread(keepalive_health, server.port, token))
        # Closed by the server (recv would time out after 30 s and fail otherwise).
        await asyncio.to_thread(idle_connection_lifetime, server.port, 30.0)
        for sock in held:
            sock.close()
        held.clear()
        # Once it has seen them close, the server takes new connections again.
        deadline = time.monotonic() + 30
        while not await asyncio.to_thread(serves, server.port):
            assert time.monotonic() < deadline, "not served again once connections closed"
            await asyncio.sleep(0.01)
    finally:
        for sock in held:
            sock.close()
        await server.stop()


async def test_many_concurrent_clients(ecs: Harness) -> None:
    connector = aiohttp.TCPConnector(limit=200, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> int:
            async with session.get(ecs.server.url_for("dev"), headers=ecs.auth()) as resp:
                await resp.read()
                return resp.status

        statuses = await asyncio.gather(*(one() for _ in range(200)))
    assert statuses == [200] * 200


# --- logging -----------------------------------------------------------------------------


async def test_access_log_has_one_line_per_request_and_no_secret(
    ecs: Harness, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await get(http, ecs, f"/credentials/dev?token={ecs.token}", ecs.auth())
    await get(http, ecs, "/credentials/with%20space", {"Authorization": "wrong-guess-value"})
    access = [r for r in caplog.records if r.name == "ssod.ecs" and "status=" in r.getMessage()]
    assert [r.getMessage().split(" ms=")[0] for r in access] == [
        "event=ecs_request method=GET path=/credentials/dev status=200",
        "event=ecs_request method=GET path=/credentials/with%20space status=403",
    ]
    for secret in (ecs.token, SECRET, SESSION, "wrong-guess-value"):
        assert secret not in caplog.text
    assert not [r for r in caplog.records if r.name == "aiohttp.access"]


# --- lifecycle ----------------------------------------------------------------------------


async def test_port_in_use_is_a_clear_error(ecs: Harness) -> None:
    other = EcsServer(FakeProvider(), lambda: "t" * 43, port=ecs.port)
    with pytest.raises(errors.SsodError, match=f"127.0.0.1:{ecs.port}"):
        await other.start()


async def test_stop_is_idempotent_and_frees_the_port() -> None:
    server = EcsServer(FakeProvider(), lambda: "t" * 43, port=0)
    await server.start()
    port = server.port
    await server.stop()
    await server.stop()
    again = EcsServer(FakeProvider(), lambda: "t" * 43, port=port)
    await again.start()
    await again.stop()


# --- a real botocore client --------------------------------------------------------------


@pytest.fixture
def container_env(ecs: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    token_file = tmp_path / "state" / "ecs-token"
    ecs.token_box[0] = ecstoken.load_or_create(token_file)
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.server.url_for("dev"))
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(token_file))
    return token_file


def botocore_load() -> tuple[str, str, str]:
    from botocore.credentials import ContainerProvider
    from botocore.utils import ContainerMetadataFetcher

    provider = ContainerProvider(os.environ, ContainerMetadataFetcher(sleep=lambda _: None))
    frozen = provider.load().get_frozen_credentials()
    return frozen.access_key, frozen.secret_key, frozen.token


async def test_botocore_container_provider_loads_credentials(
    ecs: Harness, container_env: Path
) -> None:
    assert await asyncio.to_thread(botocore_load) == ("AKIAEXAMPLE", SECRET, SESSION)


def boto3_credentials() -> tuple[str, str | None, str]:
    import boto3

    found = boto3.Session().get_credentials()
    assert found is not None
    frozen = found.get_frozen_credentials()
    return frozen.access_key, found.method, frozen.token


async def test_boto3_default_chain_uses_the_endpoint(ecs: Harness, container_env: Path) -> None:
    access_key, method, token = await asyncio.to_thread(boto3_credentials)
    assert (access_key, method, token) == ("AKIAEXAMPLE", "container-role", SESSION)


async def test_botocore_fails_with_a_wrong_token(ecs: Harness, container_env: Path) -> None:
    from botocore.exceptions import CredentialRetrievalError

    ecstoken.rotate(container_env)  # the file now disagrees with the server
    with pytest.raises(CredentialRetrievalError, match="wrong authorization token"):
        await asyncio.to_thread(botocore_load)
    assert ecs.provider.calls == []
