"""Serving one aiohttp request handler on several local addresses, with the endpoints' limits.

Owns aiohttp's low-level server (each endpoint routes by itself: an Application's router and
middleware chain cost about a tenth of the ECS hot path's CPU), the settings both HTTP
endpoints share (line and header sizes, no lingering for bodies, keep-alive bounded by the head
deadline), the ``ConnectionGuard`` in front of every connection (one connection cap across all
addresses, counted per peer uid, head deadlines, eviction of idle connections never authorized
when full), and binding: required addresses (loopback) bind at start or the start fails with a
clear error; the others (link-local container addresses, ``listenpolicy``) are bound once they
exist on the host and retried every ``retry`` seconds until then; one that leaves the host (its
interface removed) has its socket closed and is waited for again. All
addresses share one port: the first bind picks it when the requested port is 0. ``on_change``
runs whenever the set of served addresses changes, so the endpoint's Host check always names
exactly those.

Every request passes ``_guarded``: a refused one (4xx) closes its connection, so a client
without the token cannot keep a slot by asking again and again; a 2xx answer anywhere but a
public path (``/health``) means the client proved itself (the ECS token, or the IMDS session
token its uid was given), and the guard never evicts that connection. Before that, requests
no SDK sends are answered 400: HTTP/0.9 (no version), and a request target in absolute form
naming another authority than the Host header (``GET http://evil.example/...``), which must
not be served on the Host header's word.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from aiohttp import HttpVersion, web
from aiohttp.abc import AbstractAccessLogger

from ssod import errors
from ssod.daemon.serve.http import peercred
from ssod.daemon.serve.http.connguard import ConnectionCount, ConnectionGuard
from ssod.daemon.serve.http.listenpolicy import ListenAddress, url_host

MAX_LINE_SIZE: Final = 8190
MAX_FIELD_SIZE: Final = 8190
DEFAULT_RETRY: Final = 5.0
#: Paths answered 2xx without any credential: a connection using them earns no trust.
PUBLIC_PATHS: Final = frozenset({"/health"})
_HTTP_1_0: Final = HttpVersion(1, 0)
_OLD_HTTP: Final = json.dumps({"code": "bad_request", "message": "HTTP/1.0 or later only"})
_OTHER_AUTHORITY: Final = json.dumps(
    {"code": "bad_request", "message": "the request target names another host than Host"}
)

log = logging.getLogger("ssod.listen")

#: One endpoint's whole request handling (its own routing included).
Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


class Listeners:
    """One request handler on ``addresses``:``port`` behind a shared connection guard."""

    def __init__(
        self,
        handler: Handler,
        addresses: Sequence[ListenAddress],
        port: int,
        *,
        name: str,
        access_log_class: type[AbstractAccessLogger],
        access_log: logging.Logger,
        max_connections: int,
        head_timeout: float,
        shutdown_timeout: float,
        on_change: Callable[[], None] = lambda: None,
        retry: float = DEFAULT_RETRY,
    ) -> None:
        self._handler = handler
        self._addresses = list(addresses)
        self._port = port
        self._name = name
        self._access_log_class = access_log_class
        self._access_log = access_log
        self._limit = max_connections
        self._timeout = head_timeout
        self._shutdown_timeout = shutdown_timeout
        self._on_change = on_change
        self._retry = retry
        self._count = ConnectionCount(peer_uid=peercred.kernel_uid)
        self._runner: web.ServerRunner | None = None
        self._servers: dict[str, asyncio.Server] = {}
        self._told: set[str] = set()
        self._retrying: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound port once started (the requested one before)."""
        return self._port

    @property
    def served(self) -> list[str]:
        """The addresses listening now, in the configured order."""
        return [a.host for a in self._addresses if a.host in self._servers]

    @property
    def waiting(self) -> list[str]:
        """Configured addresses not listening (yet): not on this host, or their port is taken."""
        return [a.host for a in self._addresses if a.host not in self._servers]

    @property
    def sockets(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every listening socket."""
        return [s.getsockname()[:2] for srv in self._servers.values() for s in srv.sockets]

    async def start(self) -> None:
        """Bind every required address (SsodError if one fails), then the others if present."""
        server = web.Server(
            self._guarded,
            access_log_class=self._access_log_class,
            access_log=self._access_log,
            keepalive_timeout=self._timeout,
            max_line_size=MAX_LINE_SIZE,
            max_field_size=MAX_FIELD_SIZE,
            lingering_time=0,  # never wait for a body a request should not have
        )
        runner = web.ServerRunner(
            server, handle_signals=False, shutdown_timeout=self._shutdown_timeout
        )
        await runner.setup()
        self._runner = runner
        try:
            for address in self._addresses:
                if address.required:
                    await self._bind(address)
        except BaseException:
            await self.stop()
            raise
        await self._try_optional()
        self._on_change()
        optional = any(not a.required for a in self._addresses)
        if optional and self._retry > 0:
            self._retrying = asyncio.get_running_loop().create_task(self._retry_loop())

    async def _guarded(self, request: web.BaseRequest) -> web.StreamResponse:
        transport = request.transport
        count = self._count
        refused = _unusual(request)
        if refused is not None:
            refused.force_close()
            return refused
        count.busy(transport, True)
        try:
            response = await self._handler(request)
        finally:
            count.busy(transport, False)
        status = response.status
        if 400 <= status < 500:
            response.force_close()  # refused: the slot goes back
        elif status < 300 and request.path not in PUBLIC_PATHS:
            count.trust(transport)
        return response

    async def stop(self) -> None:
        """Stop listening everywhere, finish in-flight requests briefly, close connections."""
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying
            self._retrying = None
        servers, runner = list(self._servers.values()), self._runner
        self._servers, self._runner = {}, None
        for server in servers:
            server.close()
        if runner is not None:
            await runner.cleanup()
        for server in servers:
            await server.wait_closed()

    async def _bind(self, address: ListenAddress) -> None:
        handler = self._runner.server if self._runner is not None else None
        assert handler is not None
        count, limit, timeout = self._count, self._limit, self._timeout
        try:
            server = await asyncio.get_running_loop().create_server(
                lambda: ConnectionGuard(handler, count, limit, timeout),
                address.host,
                self._port,
                reuse_address=True,
                backlog=limit,  # a burst of parallel SDK processes must not wait for SYN retries
            )
        except OSError as err:
            where = f"{url_host(address.host)}:{self._port}"
            if err.errno == errno.EADDRNOTAVAIL:
                raise errors.AddressMissing(
                    f"cannot listen on {where}: {address.host} is not an address of this host"
                ) from err
            raise errors.SsodError(
                f"cannot listen on {where}: {err.strerror or err}"
                + (" (another program has that port)" if err.errno == errno.EADDRINUSE else "")
            ) from err
        self._servers[address.host] = server
        self._port = server.sockets[0].getsockname()[1]
        log.info("%s listening on http://%s:%d", self._name, url_host(address.host), self._port)

    async def _try_optional(self) -> bool:
        """Bind the optional addresses not served yet; True when none is left waiting."""
        changed = False
        for address in self._addresses:
            if address.required or address.host in self._servers:
                continue
            try:
                await self._bind(address)
                changed = True
                self._told.discard(address.host)
            except errors.SsodError as err:
                if address.host not in self._told:  # say it once, not every retry
                    self._told.add(address.host)
                    hint = ""
                    if isinstance(err, errors.AddressMissing):
                        hint = (
                            "; serving it once it appears (`ssod docker setup` creates it; "
                            "on another bridge, adding it needs root: ip addr add ADDR/24 "
                            "dev BRIDGE)"
                        )
                    log.info("event=listen_waiting %s%s", err.message, hint)
        if changed:
            self._on_change()
        return not self.waiting

    def _drop_gone(self) -> None:
        """Close the sockets of optional addresses no longer on this host (interface removed)."""
        gone = [
            a.host
            for a in self._addresses
            if not a.required and a.host in self._servers and not address_present(a.host)
        ]
        for host in gone:
            self._servers.pop(host).close()  # its connections died with the address
            log.info("event=listen_gone %s is no longer an address of this host", host)
        if gone:
            self._on_change()

    async def _retry_loop(self) -> None:
        while True:
            await asyncio.sleep(self._retry)
            self._drop_gone()
            await self._try_optional()


def _unusual(request: web.BaseRequest) -> web.Response | None:
    """400 for HTTP/0.9, and for an absolute-form target whose authority is not the Host."""
    if request.version < _HTTP_1_0:
        return _bad(_OLD_HTTP)
    target = request.raw_path
    if target.startswith("/"):
        return None  # origin form: what every SDK sends
    scheme, _, rest = target.partition("://")
    authority = rest.split("/", 1)[0]
    if scheme.lower() != "http" or not authority or authority != request.headers.get("Host"):
        return _bad(_OTHER_AUTHORITY)
    return None


def _bad(body: str) -> web.Response:
    return web.Response(
        status=400,
        text=body,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def address_present(host: str) -> bool:
    """Whether ``host`` is (still) an address of this host: a bind to it on any port works."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, 0))
        except OSError as err:
            return err.errno != errno.EADDRNOTAVAIL
    return True
