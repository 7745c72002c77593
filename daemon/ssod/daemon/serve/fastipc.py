"""The daemon end of the fast socket: ``credentials``, ``env`` and ``eks token`` answered in full.

Owns the Unix stream socket ``<runtime dir>/fast`` (``ssod.fastwire``): one request per
connection, peers of another uid refused, a cap on connections, a deadline for the request. For
each request it asks the same IPC handler (``Dispatcher``) the ZeroMQ server asks, passes the
reply through the wire encoding exactly as the ZeroMQ client would read it, and renders the
command's output with the client's own functions (``shell.credentials_text``,
``output.env.render``, ``execcred.render``, ``common.explain``), so the bytes and exit code
equal the full client's. Whatever it does not expect gets a fallback answer: the client then
runs its full path. Logs one line per request (op, outcome), never arguments, output or messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Mapping

from ssod import eksargv, fastwire
from ssod.client import common
from ssod.client.fastpath import peer_uid
from ssod.client.output import env as env_output
from ssod.client.output import execcred, shell
from ssod.daemon.serve.ipc import Handler, Progress
from ssod.errors import SsodError
from ssod.wire import (
    Op,
    Request,
    decode_reply,
    encode_reply,
    error_reply,
    ok_reply,
    validate_args,
)

log = logging.getLogger("ssod.fast")

MAX_CONNECTIONS = 256
#: The whole request must arrive within this (it is a few dozen bytes, sent at once).
REQUEST_TIMEOUT = 5.0
_INTERNAL = "internal error in the ssod daemon (see its log)"


class FastServer:
    """Serve ``handler``'s answers, rendered, on the Unix socket ``path``."""

    def __init__(self, path: str, handler: Handler, *, max_connections: int = MAX_CONNECTIONS):
        self.path = path
        self._handler = handler
        self._max = max_connections
        self._open = 0
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Bind the socket (0600, in the 0700 runtime directory) and start answering."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # stale: we hold the instance lock
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._connected, self.path)
        finally:
            os.umask(old)
        log.info("fast socket on %s", self.path)

    async def stop(self) -> None:
        """Stop accepting, cancel what is in flight, remove the socket."""
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._open += 1
        try:
            if self._open > self._max:
                return  # closed unanswered: the client falls back to ZeroMQ, which says "busy"
            sock = writer.get_extra_info("socket")  # asyncio's TransportSocket
            if sock is None or peer_uid(sock) not in (os.getuid(), None):
                log.warning("fast request refused: peer of another uid")
                return
            answer = await self._answer(reader)
            writer.write(answer)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        finally:
            self._open -= 1
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> bytes:
        started = time.monotonic()
        op, outcome = "?", "ok"
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                data = await reader.read(fastwire.MAX_REQUEST_BYTES + 1)
                while data and len(data) <= fastwire.MAX_REQUEST_BYTES:
                    more = await reader.read(fastwire.MAX_REQUEST_BYTES + 1 - len(data))
                    if not more:
                        break
                    data += more
            fields = fastwire.decode_request(data)
            op = fields.get(fastwire.OP, "?")
            code, out, err = await self._run(fields)
            outcome = "ok" if code == 0 else f"exit_{code}"
            return fastwire.encode_answer(code, out, err)
        except (TimeoutError, ValueError, KeyError):
            outcome = "fallback"
            return fastwire.FALLBACK
        except Exception:
            outcome = "fallback"
            log.exception("fast request op=%s failed; the client falls back", op)
            return fastwire.FALLBACK
        finally:
            log.info("fast request op=%s outcome=%s %.3fs", op, outcome, time.monotonic() - started)

    async def _run(self, fields: Mapping[str, str]) -> tuple[int, str, str]:
        """``(exit code, stdout, stderr)`` as the full client would print them."""
        op = fields[fastwire.OP]
        try:
            if op == "credentials":
                creds = await self._ask(Op.CREDENTIALS, {"profile": fields[fastwire.PROFILE]})
                return 0, shell.credentials_text(creds, fields[fastwire.FORMAT]) + "\n", ""
            if op == "env":
                endpoint = await self._ask(Op.ENDPOINT, {})
                status = await self._ask(Op.STATUS, {})
                environ = {
                    k: fields[k]
                    for k in (fastwire.ENV_DEFAULT_PROFILE, fastwire.ENV_PROFILE)
                    if k in fields
                }
                if fields.get(fastwire.HAS_KEYS):
                    environ["AWS_ACCESS_KEY_ID"] = "set"
                if fields.get(fastwire.HAS_RELATIVE_URI):
                    environ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "set"
                out, notes = env_output.render(
                    endpoint,
                    status,
                    fields.get(fastwire.PROFILE) or None,
                    fields[fastwire.SHELL],
                    environ,
                    bool(fields.get(fastwire.STDOUT_TTY)),
                )
                return 0, out + "\n", "".join(note + "\n" for note in notes)
            if op == "eks_token":
                environ = {k: fields[k] for k in eksargv.ENVIRONMENT if k in fields}
                reply = await self._ask(Op.EKS_TOKEN, execcred.request_args(fields, environ))
                exec_info = environ.get("KUBERNETES_EXEC_INFO")
                return 0, execcred.render(reply, exec_info) + "\n", ""
        except SsodError as err:
            return err.exit_code, "", f"ssod: {common.explain(err)}\n"
        raise ValueError(f"unknown fast operation {op!r}")

    async def _ask(self, op: Op, args: dict[str, object]) -> dict[str, object]:
        """One request to the handler, read back as an IPC client reads the ZeroMQ reply."""
        validate_args(op, args)  # the client's encode_request checks before sending
        request = Request(id="fast", op=op, args=args)
        items = None
        try:
            items = self._handler(request)
            result: Mapping[str, object] | None = None
            async for item in items:
                if not isinstance(item, Progress):
                    result = item
                    break
            reply = ok_reply(request.id, result if result is not None else {})
            if result is None:
                reply = error_reply(request.id, SsodError(f"internal error: no result for {op}"))
        except SsodError as err:
            reply = error_reply(request.id, err)
        except Exception:
            log.exception("request op=%s failed", op)
            reply = error_reply(request.id, SsodError(_INTERNAL))
        finally:
            aclose = getattr(items, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        decoded = decode_reply(encode_reply(reply))
        decoded.raise_for_error()
        return dict(decoded.result or {})
