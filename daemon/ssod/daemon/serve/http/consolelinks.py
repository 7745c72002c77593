"""One-time loopback links to console sign-in URLs, so that no sign-in token is a process argument.

A browser is started with its URL as an argument, which every local user can read in
``/proc/*/cmdline`` (and a browser started that way keeps it for as long as it runs). So when
``ssod console`` opens a browser, it opens ``http://127.0.0.1:PORT/console/<random>`` instead:
the first request for it is redirected (302) to the sign-in URL and the link is gone; a link
nobody follows expires after a minute. The server binds 127.0.0.1 only, answers only its own
Host, logs no path, starts with the first link and stops with the daemon.

The link is in the browser's argv, so every local user can read it. Before a link is used, the
client socket's owner is looked up (``peercred``, as the IMDS endpoint does): another uid gets
403 and the link stays good for its owner's browser, however late that one comes. Where the
platform does not say who the peer is (no ``/proc/net/tcp``: macOS), the first visitor wins, as
before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Callable
from typing import Final, Protocol

from aiohttp import web

from ssod.daemon.serve.http import peercred

log = logging.getLogger("ssod.daemon.console")

#: How long a link may wait for its browser.
LINK_LIFETIME: Final = 60.0
PATH_PREFIX: Final = "/console/"

_GONE = "This sign-in link was used already or has expired. Run `ssod console` again for a new one."
_NOT_YOURS = "This sign-in link belongs to another user."

PeerUid = Callable[[tuple[str, int], tuple[str, int]], int | None]


class Monotonic(Protocol):
    """The part of ``engine.model.Clock`` links need: a monotonic clock."""

    def monotonic(self) -> float: ...


class ConsoleLinks:
    """Hands out one-time links; each redirects its first visitor to one sign-in URL."""

    def __init__(
        self,
        clock: Monotonic,
        lifetime: float = LINK_LIFETIME,
        *,
        peer_uid: PeerUid | None = peercred.peer_uid,
        uid: int | None = None,
    ) -> None:
        self._clock = clock
        self._lifetime = lifetime
        # Where no /proc/net/tcp says who the peer is (macOS), nobody can be checked.
        self._peer_uid = peer_uid if peercred.supported() else None
        self._uid = os.getuid() if uid is None else uid
        self._links: dict[str, tuple[str, float]] = {}
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._starting = asyncio.Lock()

    async def link(self, url: str) -> str:
        """A loopback URL whose first request is redirected to ``url``."""
        await self._start()
        now = self._clock.monotonic()
        self._links = {k: v for k, v in self._links.items() if v[1] > now}
        key = secrets.token_urlsafe(32)
        self._links[key] = (url, now + self._lifetime)
        return f"http://127.0.0.1:{self._port}{PATH_PREFIX}{key}"

    async def _start(self) -> None:
        async with self._starting:
            if self._runner is not None:
                return
            app = web.Application()
            app.router.add_get(PATH_PREFIX + "{key}", self._follow)
            runner = web.AppRunner(app, access_log=None)  # the path is the secret: never log it
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            try:
                await site.start()
            except BaseException:
                await runner.cleanup()
                raise
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            self._port = int(sockets[0].getsockname()[1])
            self._runner = runner

    async def _follow(self, request: web.Request) -> web.Response:
        headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        if request.headers.get("Host") not in (
            f"127.0.0.1:{self._port}",
            f"localhost:{self._port}",
        ):
            return web.Response(status=403, text="Forbidden Host\n", headers=headers)
        if not self._owner_asks(request):
            # Not popped: the owner's browser still gets the link when it comes.
            log.warning("event=console_link_refused reason=other_user")
            return web.Response(status=403, text=_NOT_YOURS + "\n", headers=headers)
        found = self._links.pop(request.match_info["key"], None)
        if found is None or found[1] <= self._clock.monotonic():
            return web.Response(status=404, text=_GONE + "\n", headers=headers)
        return web.Response(status=302, headers={**headers, "Location": found[0]})

    def _owner_asks(self, request: web.Request) -> bool:
        """Is the client socket our uid's? (True where the platform cannot tell.)"""
        if self._peer_uid is None:
            return True
        transport = request.transport
        client = transport.get_extra_info("peername") if transport is not None else None
        server = transport.get_extra_info("sockname") if transport is not None else None
        if not client or not server:
            return False
        return self._peer_uid(tuple(client[:2]), tuple(server[:2])) == self._uid

    async def close(self) -> None:
        """Stop serving; every link is gone."""
        self._links.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
