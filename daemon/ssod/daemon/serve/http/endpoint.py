"""What the ECS and IMDS endpoints have in common as servers: their listeners and Host set.

Owns an endpoint's lifecycle (start, stop), its port (the bound one once started), the
addresses served and waited for, and the Host header values the gate accepts, kept equal to
exactly the addresses being served (``listenpolicy.host_headers``) whenever ``Listeners``
binds one more. A subclass supplies the request handler, its name and its access log.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence

from aiohttp import web

from ssod.daemon.serve.http.accesslog import AccessLog
from ssod.daemon.serve.http.deadlines import head_deadline
from ssod.daemon.serve.http.listeners import DEFAULT_RETRY, Listeners
from ssod.daemon.serve.http.listenpolicy import LOOPBACK, ListenAddress, host_headers, url_host


class Endpoint(ABC):
    """An HTTP endpoint on 127.0.0.1 (and container addresses), served by ``_handle``."""

    #: For messages ("ECS endpoint").
    NAME: str = "HTTP endpoint"
    ACCESS_LOG: type[AccessLog] = AccessLog

    def __init__(
        self,
        *,
        port: int,
        listen: Sequence[ListenAddress],
        wait_limit: float,
        max_connections: int,
        head_timeout: float,
        retry: float = DEFAULT_RETRY,
        log: logging.Logger,
    ) -> None:
        self._port = port
        self._listen = tuple(listen)
        self._wait_limit = wait_limit
        self._max_connections = max_connections
        self._head_timeout = head_deadline(head_timeout, wait_limit)
        self._retry = retry
        self._log = log
        self._hosts: frozenset[str] = frozenset()
        self._listeners: Listeners | None = None

    @abstractmethod
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Answer one request (the endpoint routes by itself)."""

    @property
    def port(self) -> int:
        """The bound port once started (the requested one before)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{LOOPBACK}:{self._port}"

    @property
    def served(self) -> list[str]:
        """The addresses listening now (127.0.0.1 first)."""
        return self._listeners.served if self._listeners is not None else []

    @property
    def waiting(self) -> list[str]:
        """Configured link-local addresses not listening yet (not on this host)."""
        return self._listeners.waiting if self._listeners is not None else []

    @property
    def sockets(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every listening socket."""
        return self._listeners.sockets if self._listeners is not None else []

    def base_url_on(self, host: str) -> str:
        """``http://HOST:PORT`` for one of the served addresses."""
        return f"http://{url_host(host)}:{self._port}"

    async def start(self, port: int | None = None) -> None:
        """Bind 127.0.0.1 (and container addresses present) and serve; SsodError if taken.

        ``port`` replaces the one given at construction (``ecsport`` tries several).
        """
        if port is not None:
            self._port = port
        listeners = Listeners(
            self._handle,
            self._listen,
            self._port,
            name=self.NAME,
            access_log_class=self.ACCESS_LOG,
            access_log=self._log,
            max_connections=self._max_connections,
            head_timeout=self._head_timeout,
            shutdown_timeout=self._wait_limit + 1.0,
            on_change=self._served_changed,
            retry=self._retry,
        )
        await listeners.start()
        self._listeners = listeners
        self._served_changed()

    def _served_changed(self) -> None:
        listeners = self._listeners
        if listeners is None:
            return
        self._port = listeners.port
        self._hosts = host_headers(listeners.served, listeners.port)

    async def stop(self) -> None:
        """Stop listening, finish in-flight requests briefly, close every connection."""
        listeners, self._listeners = self._listeners, None
        if listeners is not None:
            await listeners.stop()
