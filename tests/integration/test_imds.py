"""The IMDSv2 endpoint over real HTTP: the token dance, IMDSv1 refused, the shared gates, who
may get a token, the routes each SDK needs, and botocore's own IMDS provider against it."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from integration.test_ecs import SECRET, SESSION, FakeProvider
from ssod.daemon.serve.http import peercred
from ssod.daemon.serve.http.listenpolicy import ListenAddress
from ssod.daemon.serve.imds import (
    ROLES_PATH,
    TOKEN_PATH,
    TTL_HEADER,
    ImdsServer,
    SessionTokens,
    check_role_name,
)
from ssod.errors import BadRequest

TOKEN = "X-aws-ec2-metadata-token"
LOOPBACK = (ListenAddress("127.0.0.1", required=True),)


class Imds:
    def __init__(self, server: ImdsServer, owners: list[int | None]) -> None:
        self.server = server
        self.owners = owners  # what peer_uid answers; empty: the real /proc lookup

    @property
    def url(self) -> str:
        return self.server.base_url


def make(owners: list[int | None], region: str | None = "eu-west-1") -> ImdsServer:
    def peer_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None:
        return owners[0] if owners else peercred.peer_uid(client, server)

    return ImdsServer(
        FakeProvider(), "dev", lambda: region, port=0, listen=LOOPBACK, peer_uid=peer_uid
    )


@pytest.fixture
async def imds() -> AsyncIterator[Imds]:
    owners: list[int | None] = []
    server = make(owners)
    await server.start()
    try:
        yield Imds(server, owners)
    finally:
        await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def token(http: aiohttp.ClientSession, imds: Imds, ttl: str = "21600") -> str:
    async with http.put(imds.url + TOKEN_PATH, headers={TTL_HEADER: ttl}) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers[TTL_HEADER] == ttl  # the Go SDK needs it echoed
        return await resp.text()


async def get(
    http: aiohttp.ClientSession, imds: Imds, path: str, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    async with http.get(imds.url + path, headers=headers) as resp:
        return resp.status, await resp.text()


async def test_the_token_dance_serves_role_and_credentials(
    imds: Imds, http: aiohttp.ClientSession
) -> None:
    session = await token(http, imds)
    assert "\n" not in session
    status, role = await get(http, imds, ROLES_PATH, {TOKEN: session})
    assert (status, role) == (200, "dev")
    assert (await get(http, imds, ROLES_PATH.rstrip("/"), {TOKEN: session})) == (200, "dev")
    status, body = await get(http, imds, ROLES_PATH + "dev", {TOKEN: session})
    assert status == 200
    doc = json.loads(body)
    assert doc.pop("LastUpdated").endswith("Z")
    assert doc == {
        "Code": "Success",
        "Type": "AWS-HMAC",
        "AccessKeyId": "AKIAEXAMPLE",
        "SecretAccessKey": SECRET,
        "Token": SESSION,
        "Expiration": "2030-01-02T03:04:05Z",
    }


async def test_placement_routes(imds: Imds, http: aiohttp.ClientSession) -> None:
    h = {TOKEN: await token(http, imds, "60")}
    assert await get(http, imds, "/latest/meta-data/placement/availability-zone/", h) == (
        200,
        "eu-west-1a",
    )
    assert await get(http, imds, "/latest/meta-data/placement/region", h) == (200, "eu-west-1")
    status, body = await get(http, imds, "/latest/dynamic/instance-identity/document", h)
    assert status == 200 and json.loads(body)["region"] == "eu-west-1"
    assert (await get(http, imds, "/latest/meta-data/ami-id", h))[0] == 404
    assert (await get(http, imds, ROLES_PATH + "other-role", h))[0] == 404


async def test_no_region_is_404(http: aiohttp.ClientSession) -> None:
    server = make([], region=None)
    await server.start()
    try:
        imds = Imds(server, [])
        h = {TOKEN: await token(http, imds)}
        assert (await get(http, imds, "/latest/meta-data/placement/region", h))[0] == 404
    finally:
        await server.stop()


@pytest.mark.parametrize(
    "headers", [{}, {TOKEN: ""}, {TOKEN: "forged"}, {TOKEN: "A" * 54}, {"X-Other": "x"}]
)
async def test_imdsv1_and_bad_tokens_are_401(
    imds: Imds, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    for path in (ROLES_PATH, ROLES_PATH + "dev", "/latest/meta-data/placement/region"):
        status, body = await get(http, imds, path, headers)
        assert status == 401, path
        assert SECRET not in body


def test_session_tokens_expire_and_belong_to_one_process() -> None:
    now = [100.0]
    tokens = SessionTokens(lambda: now[0])
    issued = tokens.issue(10)
    assert tokens.valid(issued)
    now[0] = 109.9
    assert tokens.valid(issued)
    now[0] = 110.0
    assert not tokens.valid(issued)
    assert not SessionTokens(lambda: 100.0).valid(issued)  # another key: another daemon run
    assert not tokens.valid(issued[:-1]) and not tokens.valid(issued + "A")
    assert not tokens.valid("é" * 40) and not tokens.valid("A" * 200)


@pytest.mark.parametrize("ttl", ["", "0", "21601", "-1", "1.5", "abc", "٣"])
async def test_bad_ttl_is_400(imds: Imds, http: aiohttp.ClientSession, ttl: str) -> None:
    headers = {TTL_HEADER: ttl} if ttl else {}
    async with http.put(imds.url + TOKEN_PATH, headers=headers) as resp:
        assert resp.status == 400


async def test_forwarded_token_requests_are_refused(
    imds: Imds, http: aiohttp.ClientSession
) -> None:
    headers = {TTL_HEADER: "60", "X-Forwarded-For": "203.0.113.9"}
    async with http.put(imds.url + TOKEN_PATH, headers=headers) as resp:
        assert resp.status == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", TOKEN_PATH), ("PUT", ROLES_PATH), ("DELETE", ROLES_PATH), ("PATCH", "/")],
)
async def test_other_methods_are_405(
    imds: Imds, http: aiohttp.ClientSession, method: str, path: str
) -> None:
    async with http.request(method, imds.url + path, headers={TTL_HEADER: "60"}) as resp:
        assert resp.status == 405


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "169.254.169.254"},
        {"Host": "evil.example:80"},
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_the_ecs_gate_applies(
    imds: Imds, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    async with http.put(imds.url + TOKEN_PATH, headers={TTL_HEADER: "60", **headers}) as resp:
        assert resp.status == 403


async def test_other_users_get_no_token(imds: Imds, http: aiohttp.ClientSession) -> None:
    imds.owners[:] = [12345]  # another uid owns the client socket
    async with http.put(imds.url + TOKEN_PATH, headers={TTL_HEADER: "60"}) as resp:
        assert resp.status == 403
        assert "only the user who runs ssod" in await resp.text()
    imds.owners[:] = [None]  # not listed at all: on loopback that is refused too
    async with http.put(imds.url + TOKEN_PATH, headers={TTL_HEADER: "60"}) as resp:
        assert resp.status == 403


def test_peer_uid_finds_our_own_socket() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        try:
            owner = peercred.peer_uid(client.getsockname(), server.getsockname())
            assert owner == os.getuid()
            assert peercred.peer_uid(("127.0.0.1", 1), server.getsockname()) is None
        finally:
            client.close()


@pytest.mark.parametrize(
    ("host", "port", "encoded"),
    [
        ("127.0.0.1", 8080, "0100007F:1F90"),
        ("169.254.170.2", 9179, "02AAFEA9:23DB"),
        ("::1", 22, "00000000000000000000000001000000:0016"),
    ],
)
def test_proc_net_tcp_encoding(host: str, port: int, encoded: str) -> None:
    assert peercred.encode(host, port) == encoded


def test_find_uid_reads_the_client_row() -> None:
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
        "   0: 0100007F:23DC 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 1\n"
        "   1: 0100007F:23DC 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000 0 2\n"
        "   2: 0100007F:D431 0100007F:23DC 01 00000000:00000000 00:00000000 00000000  1001 0 3\n"
    )
    client, server = ("127.0.0.1", 0xD431), ("127.0.0.1", 0x23DC)
    assert peercred.find_uid(table, client, server) == 1001
    assert peercred.find_uid(table, server, client) == 1000
    assert peercred.find_uid(table, ("127.0.0.1", 1), server) is None


@pytest.mark.parametrize("name", ["dev", "Admin+x=y,z.w@q_-", "a" * 64])
def test_role_names(name: str) -> None:
    assert check_role_name(name) == name


@pytest.mark.parametrize("name", ["", "a b", "prod/admin", "a" * 65, "ünï"])
def test_profiles_that_are_no_role_name_are_refused(name: str) -> None:
    with pytest.raises(BadRequest):
        check_role_name(name)


async def test_botocore_imds_provider_gets_the_credentials(
    imds: Imds, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    import botocore.session

    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url + "/")
    monkeypatch.setenv("AWS_EC2_METADATA_V1_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")

    def load() -> str | None:
        creds = botocore.session.Session().get_credentials()
        return creds.get_frozen_credentials().access_key if creds else None

    assert await asyncio.to_thread(load) == "AKIAEXAMPLE"
