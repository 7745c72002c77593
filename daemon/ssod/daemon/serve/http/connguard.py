"""A guard in front of the ECS endpoint's aiohttp protocol: a connection cap and head deadlines.

Owns only connection-level limits against hostile local clients: connections beyond the cap
are reset at once, and every request head must arrive within a deadline (slowloris). It knows
nothing about HTTP beyond the blank line that ends a request head, and never reads a header.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

_HEAD_END: Final = b"\r\n\r\n"


class ConnectionCount:
    """The open-connection tally shared by one server's guards."""

    __slots__ = ("open",)

    def __init__(self) -> None:
        self.open = 0


class ConnectionGuard(asyncio.Protocol):
    """Wraps aiohttp's protocol: caps open connections and gives each request head a deadline.

    aiohttp before 3.14 has no timer on a connection that never finishes its first request
    (aio-libs/aiohttp#13681), so a slow dribble of header bytes would hold a socket forever.
    The guard watches the raw bytes for the blank line ending a head and aborts the
    connection if none arrives within ``timeout`` of the connection opening or the last one.
    """

    __slots__ = (
        "_count",
        "_deadline",
        "_factory",
        "_inner",
        "_limit",
        "_loop",
        "_tail",
        "_timeout",
        "_timer",
        "_transport",
    )

    def __init__(
        self,
        factory: Callable[[], asyncio.Protocol],
        count: ConnectionCount,
        limit: int,
        timeout: float,
    ) -> None:
        self._factory = factory
        self._count = count
        self._limit = limit
        self._timeout = timeout
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0
        self._tail = b""
        self._loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if self._count.open >= self._limit:
            transport.abort()
            return
        self._count.open += 1
        self._transport = transport
        self._deadline = self._loop.time() + self._timeout
        self._timer = self._loop.call_at(self._deadline, self._expire)
        self._inner = self._factory()
        self._inner.connection_made(transport)

    def _expire(self) -> None:
        if self._transport is None:
            return
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, self._expire)
            return
        self._timer = None
        self._transport.abort()  # abort, not close: a client that never reads must not pin us

    def data_received(self, data: bytes) -> None:
        if _HEAD_END in data or _HEAD_END in self._tail + data[:3]:
            self._deadline = self._loop.time() + self._timeout
        self._tail = data[-3:]
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is None:
            return
        self._count.open -= 1
        self._transport = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        inner, self._inner = self._inner, None
        inner.connection_lost(exc)
