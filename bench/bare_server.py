"""The baseline for the ECS endpoint: a minimal aiohttp server returning one constant JSON body.

``python -m bench.bare_server --body FILE --port-file FILE`` serves the bytes of ``--body`` on
every GET, on 127.0.0.1 and a free port it writes to ``--port-file``, until SIGTERM. It does
exactly what any aiohttp app must (route, respond) and nothing ssod does (no Host, browser or
token checks, no connection guard, no access log), so the gap to it is ssod's own overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from aiohttp import web


async def serve(body: bytes, port_file: Path) -> None:
    """Serve ``body`` until SIGTERM or SIGINT."""

    async def constant(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", constant)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server  # aiohttp exposes the bound port only through the asyncio server
    assert isinstance(server, asyncio.Server)
    port = server.sockets[0].getsockname()[1]
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(f"{port}\n")
    tmp.replace(port_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--body", type=Path, required=True, help="file with the response body")
    parser.add_argument("--port-file", type=Path, required=True, help="where to write the port")
    args = parser.parse_args()
    asyncio.run(serve(args.body.read_bytes(), args.port_file))


if __name__ == "__main__":
    main()
