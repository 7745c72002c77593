"""The outbound policy both non-botocore HTTP clients share (``outbound``): the console's
federation client and the start-URL lookup, against a real loopback server. Proxies come from
the environment as botocore reads them; ``~/.netrc`` is never read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from ssod.daemon.aws.credentials import RoleCredentials
from ssod.daemon.aws.federation import FederationClient
from ssod.daemon.aws.starturl import http_fetch

CREDS = RoleCredentials("AKIAEXAMPLE", "secret", "session", datetime(2030, 1, 1, tzinfo=UTC), "1")


class Recorder:
    """A loopback HTTP server that answers like the sign-in endpoint and records each request
    (its target as sent, and its Authorization header): it stands for a host or a proxy."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []
        self.port = 0

    async def handle(self, request: web.BaseRequest) -> web.Response:
        self.seen.append((request.raw_path, request.headers.get("Authorization")))
        return web.json_response({"SigninToken": "token"})


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    rec = Recorder()
    runner = web.ServerRunner(web.Server(rec.handle))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.port = runner.addresses[0][1]
    try:
        yield rec
    finally:
        await runner.cleanup()


async def _federation(url: str) -> None:
    client = FederationClient()
    try:
        assert await client.signin_token(url, CREDS, None) == "token"
    finally:
        await client.close()


async def _lookup(url: str) -> None:
    assert (await http_fetch(5.0)("HEAD", url))[0] == 200


CLIENTS: list[Callable[[str], Awaitable[None]]] = [_federation, _lookup]


@pytest.mark.parametrize("call", CLIENTS, ids=["federation", "start-url"])
async def test_netrc_is_never_sent(
    recorder: Recorder,
    call: Callable[[str], Awaitable[None]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    await call(f"http://127.0.0.1:{recorder.port}/federation")
    assert recorder.seen == [("/federation", None)]


@pytest.mark.parametrize("call", CLIENTS, ids=["federation", "start-url"])
async def test_proxies_come_from_the_environment(
    recorder: Recorder, call: Callable[[str], Awaitable[None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = f"http://127.0.0.1:{recorder.port}"
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, proxy)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    # The host does not exist: only a client that goes through the proxy gets an answer.
    await call("http://signin.example.invalid/federation")
    assert recorder.seen == [("http://signin.example.invalid/federation", None)]
    # NO_PROXY names it: straight to the host (here, the recorder itself on loopback).
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    await call(f"http://127.0.0.1:{recorder.port}/direct")
    assert recorder.seen[-1] == ("/direct", None)
    assert len(recorder.seen) == 2
