"""One-time loopback links to console sign-in URLs, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp

from ssod.daemon.serve.http.consolelinks import LINK_LIFETIME, ConsoleLinks

TARGET = "https://signin.aws.amazon.com/federation?Action=login&SigninToken=secret"


class FakeClock:
    def __init__(self) -> None:
        self.mono = 1000.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.mono, UTC)

    def monotonic(self) -> float:
        return self.mono


async def get(url: str, **headers: str) -> tuple[int, str | None]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, allow_redirects=False, headers=headers) as resp,
    ):
        return resp.status, resp.headers.get("Location")


async def test_a_link_redirects_once_and_expires() -> None:
    clock = FakeClock()
    links = ConsoleLinks(clock)
    try:
        first = await links.link(TARGET)
        assert first.startswith("http://127.0.0.1:") and "secret" not in first
        assert await get(first) == (302, TARGET)
        assert await get(first) == (404, None)  # used up
        late = await links.link(TARGET)
        assert late.rsplit(":", 1)[0] == first.rsplit(":", 1)[0]  # one server for all links
        clock.mono += LINK_LIFETIME
        assert await get(late) == (404, None)  # expired
        fresh = await links.link(TARGET)
        port = fresh.split(":")[2].split("/")[0]
        # Another Host (DNS rebinding) gets nothing, and the link stays good.
        assert (await get(fresh, Host=f"evil.example:{port}"))[0] == 403
        assert await get(fresh, Host=f"localhost:{port}") == (302, TARGET)
        assert (await get(fresh.rsplit("/", 1)[0] + "/guess"))[0] == 404
    finally:
        await links.close()


async def test_another_uid_is_refused_and_the_link_stays_for_its_owner() -> None:
    asking: dict[str, int | None] = {"uid": 4242}
    links = ConsoleLinks(FakeClock(), peer_uid=lambda client, server: asking["uid"], uid=1000)
    try:
        link = await links.link(TARGET)
        assert await get(link) == (403, None)  # another user, twice: the link is not used up
        assert await get(link) == (403, None)
        asking["uid"] = None  # a socket nobody on this host owns
        assert await get(link) == (403, None)
        asking["uid"] = 1000
        assert await get(link) == (302, TARGET)
        assert await get(link) == (404, None)
    finally:
        await links.close()
