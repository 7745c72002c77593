"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for load and freshness clients.

Owns building one GET request's bytes (with the ECS ``Authorization`` header) and reading one
response (status line, headers, a ``Content-Length`` body). It is deliberately small so that
the client costs far less than the server it measures: no header objects, no decompression,
no redirects. Responses must carry Content-Length (aiohttp's always do for these bodies).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Target:
    """Where to send GETs: host, port and the request bytes (built once)."""

    host: str
    port: int
    request: bytes

    @classmethod
    def for_url(cls, url: str, token: str | None = None) -> Target:
        """A target for ``url`` (http only), sending ``token`` as ``Authorization``."""
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"need an http://HOST:PORT/ URL, not {url!r}")
        path = parts.path or "/"
        lines = [f"GET {path} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}"]
        if token is not None:
            lines.append(f"Authorization: {token}")
        lines += ["User-Agent: ssod-bench", "", ""]
        return cls(parts.hostname, parts.port, "\r\n".join(lines).encode())


class ProtocolError(Exception):
    """The server answered with something this client does not read."""


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one response; returns (status, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split(b" ", 2)[1])
    except (IndexError, ValueError):
        raise ProtocolError(f"bad status line {lines[0][:60]!r}") from None
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
            break
    if length is None:
        raise ProtocolError("response without Content-Length")
    body = await reader.readexactly(length) if length else b""
    return status, body


class Connection:
    """One keep-alive connection to a target."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        """Connect (again, if the server closed the last connection)."""
        self._reader, self._writer = await asyncio.open_connection(
            self.target.host, self.target.port
        )

    async def get(self, count: int = 1) -> list[tuple[int, bytes]]:
        """Send ``count`` GETs back to back (pipelined), then read their ``count`` responses."""
        if self._writer is None or self._reader is None or self._writer.is_closing():
            await self.open()
        assert self._writer is not None and self._reader is not None
        self._writer.write(self.target.request * count)
        await self._writer.drain()
        return [await read_response(self._reader) for _ in range(count)]

    async def close(self) -> None:
        """Close the connection."""
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()
            self._writer = self._reader = None
