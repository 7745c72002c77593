"""A guard in front of the endpoints' aiohttp protocol: a connection cap and head deadlines.

Owns only connection-level limits against hostile local clients: every request head must
arrive within a deadline (slowloris), and the connections are capped. Loopback is shared with
every local user, so a full server first makes room by evicting a connection that never
presented a valid token and has no request in progress, the one idle longest; only when every
connection is trusted or busy is a new one reset. Another user holding every slot with cheap
refused requests therefore cannot keep the owner's SDKs out (``Listeners`` closes a connection
after a refused request, and tells the guard which connections were authorized and which are
busy). Connections are also counted per peer uid where the kernel says whose they are at once
(``peercred.kernel_uid``, Linux): another uid holds at most a quarter of the slots, and is
evicted first; the daemon's own uid and clients the kernel does not list here (containers in
their own network namespace) share the rest. It knows nothing about HTTP beyond the blank line
that ends a request head, and never reads a header.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Callable
from typing import Final

_HEAD_END: Final = b"\r\n\r\n"
#: Another uid may hold at most 1/FOREIGN_SHARE of the connection cap.
FOREIGN_SHARE: Final = 4

#: Who owns the client end of a connection (client address, server address), if known at once.
PeerUid = Callable[[tuple[str, int], tuple[str, int]], int | None]


class ConnectionCount:
    """The open connections of one server's guards: how many, and which may be evicted."""

    __slots__ = ("_by_uid", "_guards", "_owner", "_peer_uid", "open")

    def __init__(self, peer_uid: PeerUid | None = None, owner: int | None = None) -> None:
        self.open = 0
        self._guards: dict[asyncio.BaseTransport, ConnectionGuard] = {}
        self._peer_uid = peer_uid
        self._owner = os.getuid() if owner is None else owner
        self._by_uid: Counter[int] = Counter()

    def admit(self, transport: asyncio.BaseTransport, guard: ConnectionGuard, limit: int) -> bool:
        """Count a new connection, evicting one to make room if need be; False: no room."""
        uid = self._whose(transport)
        foreign = uid is not None and uid != self._owner
        if uid is not None and foreign and self._by_uid[uid] >= max(1, limit // FOREIGN_SHARE):
            return False
        if self.open >= limit and not self.evict_one():
            return False
        self.open += 1
        self._guards[transport] = guard
        guard.foreign = foreign
        guard.uid = uid
        if uid is not None:
            self._by_uid[uid] += 1
        return True

    def _whose(self, transport: asyncio.BaseTransport) -> int | None:
        if self._peer_uid is None:
            return None
        client = transport.get_extra_info("peername")
        server = transport.get_extra_info("sockname")
        if not isinstance(client, tuple) or not isinstance(server, tuple):
            return None
        return self._peer_uid(client[:2], server[:2])

    def release(self, transport: asyncio.BaseTransport) -> None:
        """A counted connection is gone."""
        self.open -= 1
        guard = self._guards.pop(transport, None)
        if guard is not None and guard.uid is not None:
            self._by_uid[guard.uid] -= 1
            if self._by_uid[guard.uid] <= 0:
                del self._by_uid[guard.uid]

    def trust(self, transport: asyncio.BaseTransport | None) -> None:
        """The connection on ``transport`` presented a valid credential: never evict it."""
        guard = self._guards.get(transport) if transport is not None else None
        if guard is not None:
            guard.trusted = True

    def busy(self, transport: asyncio.BaseTransport | None, busy: bool) -> None:
        """A request on ``transport`` is being handled (True) or was answered (False)."""
        guard = self._guards.get(transport) if transport is not None else None
        if guard is not None:
            guard.busy = busy

    def evict_one(self) -> bool:
        """Abort an untrusted, idle connection (another uid's first, then the one idle longest);
        False when there is none."""
        idle = [g for g in self._guards.values() if not g.trusted and not g.busy]
        if not idle:
            return False
        min(idle, key=lambda g: (not g.foreign, g.last_active)).evict()
        return True


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
        "busy",
        "foreign",
        "last_active",
        "trusted",
        "uid",
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
        self.trusted = False
        self.busy = False
        self.last_active = 0.0
        self.foreign = False
        self.uid: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if not self._count.admit(transport, self, self._limit):
            transport.abort()
            return
        self._transport = transport
        self.last_active = self._loop.time()
        self._deadline = self.last_active + self._timeout
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

    def evict(self) -> None:
        """Give this connection's slot up now and reset it."""
        transport = self._transport
        if transport is None:
            return
        self._release()
        transport.abort()

    def _release(self) -> None:
        if self._transport is not None:
            self._count.release(self._transport)
            self._transport = None

    def data_received(self, data: bytes) -> None:
        self.last_active = self._loop.time()
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
        self._release()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        inner, self._inner = self._inner, None
        inner.connection_lost(exc)
