"""The daemon end of the IPC socket: a zmq.asyncio ROUTER that decodes, dispatches and replies.

This module owns the ROUTER socket, one task per request (a slow login never blocks
``status``), the cap on requests in flight, and turning every failure into an error reply:
nothing a client sends can stop the server. It knows nothing about what an operation does;
that is the handler's job. It logs one line per request (op and outcome), never arguments,
results or error messages, which may name secrets.

Only our own uid is served, as on the fast socket: the socket file is 0600 whatever the umask,
libzmq closes connections from other uids (``ZMQ_IPC_FILTER_UID``, which reads the peer's
``SO_PEERCRED``/``LOCAL_PEERCRED``), and every request's ``Peer-Address`` (``host:uid:gid:pid``
on IPC) is checked as well, so a libzmq without the filter still answers no one else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

import zmq
import zmq.asyncio

from ssod.errors import BadRequest, DaemonUnavailable, IpcError, SsodError
from ssod.wire import Reply, Request, decode_request, encode_reply, error_reply, ok_reply

log = logging.getLogger("ssod.ipc")

#: zmq drops (and disconnects) frames above this; smaller oversized requests get a reply.
MAX_FRAME_BYTES = 1024 * 1024
MAX_IN_FLIGHT = 256
STOP_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class Progress:
    """A streamed event: sent at once with ``more=True``; the handler's plain mapping is final."""

    result: Mapping[str, object]


#: Yields zero or more ``Progress`` events, then one plain mapping: the final result. Raising an
#: ``SsodError`` sends that error instead.
Handler = Callable[[Request], AsyncIterator[Progress | Mapping[str, object]]]


class IpcServer:
    """Serve ``handler`` on a zmq ROUTER bound to ``endpoint`` (``ipc://<runtime dir>/ipc``)."""

    def __init__(
        self,
        endpoint: str,
        handler: Handler,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        stop_grace: float = STOP_GRACE_SECONDS,
    ) -> None:
        self.endpoint = endpoint
        self._handler = handler
        self._max_in_flight = max_in_flight
        self._stop_grace = stop_grace
        self._context: zmq.asyncio.Context | None = None
        self._socket: zmq.asyncio.Socket | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Bind the socket and start answering requests."""
        self._context = zmq.asyncio.Context()
        sock = self._context.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
        if self.endpoint.startswith("ipc://"):
            _only_our_uid(sock)
        old = os.umask(0o177)  # the socket file is created 0600, whatever the umask
        try:
            sock.bind(self.endpoint)
        except zmq.ZMQError as exc:
            sock.close(linger=0)
            self._context.term()
            self._context = None
            raise IpcError(f"cannot listen on {self.endpoint}: {exc}") from None
        finally:
            os.umask(old)
        self._socket = sock
        self._receiver = asyncio.create_task(self._receive_loop(sock), name="ssod-ipc-receive")
        self._receiver.add_done_callback(_report_crash)
        log.info("listening on %s", self.endpoint)

    async def stop(self) -> None:
        """Stop accepting, give in-flight requests a moment, close and remove the socket."""
        if self._receiver is not None:
            self._receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._receiver
            self._receiver = None
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=self._stop_grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None
        if self._context is not None:
            self._context.term()
            self._context = None
        if self.endpoint.startswith("ipc://"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.endpoint[len("ipc://") :])

    async def _receive_loop(self, sock: zmq.asyncio.Socket) -> None:
        uid = os.getuid()
        while True:
            parts = await sock.recv_multipart(copy=False)
            if _peer_uid(parts[-1]) not in (None, uid):
                log.warning("request op=? outcome=refused reason=other_uid")
                continue
            frames = [part.bytes for part in parts]
            # A DEALER sends [identity, body]; a REQ adds an empty delimiter, echoed back.
            if len(frames) == 3 and frames[1] == b"":
                envelope, body = frames[:2], frames[2]
            elif len(frames) == 2:
                envelope, body = frames[:1], frames[1]
            else:
                await self._send(
                    sock, frames[:1], error_reply("", BadRequest("expected one frame"))
                )
                log.warning("request op=? outcome=bad_request (%d frames)", len(frames))
                continue
            if len(self._tasks) >= self._max_in_flight:
                busy = BadRequest(f"the daemon is busy ({self._max_in_flight} requests in flight)")
                await self._send(sock, envelope, error_reply(_peek_id(body), busy))
                log.warning("request op=? outcome=busy")
                continue
            task = asyncio.create_task(self._serve(sock, envelope, body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve(self, sock: zmq.asyncio.Socket, envelope: list[bytes], body: bytes) -> None:
        started = time.monotonic()
        try:
            req = decode_request(body)
        except IpcError as err:
            await self._send(sock, envelope, error_reply(err.request_id or "", err))
            log.warning("request op=? outcome=%s", err.code)
            return
        events = 0
        outcome = "ok"
        items = self._handler(req)
        try:
            async for item in items:
                if isinstance(item, Progress):
                    events += 1
                    await self._send(sock, envelope, ok_reply(req.id, item.result, more=True))
                    continue
                await self._send(sock, envelope, ok_reply(req.id, item))
                break
            else:
                raise SsodError(f"internal error: no result for {req.op}")
        except SsodError as err:
            outcome = err.code
            await self._send(sock, envelope, error_reply(req.id, err))
        except asyncio.CancelledError:
            outcome = "cancelled"
            stopping = DaemonUnavailable("the daemon is shutting down; try again")
            await self._send(sock, envelope, error_reply(req.id, stopping))
            raise
        except Exception:
            outcome = "internal_error"
            log.exception("request op=%s id=%s failed", req.op, req.id)
            internal = SsodError("internal error in the ssod daemon (see its log)")
            await self._send(sock, envelope, error_reply(req.id, internal))
        finally:
            # Close the generator now (not at garbage collection) so its cleanup runs in order.
            aclose = getattr(items, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
            log.info(
                "request op=%s id=%s outcome=%s events=%d %.3fs",
                req.op,
                req.id,
                outcome,
                events,
                time.monotonic() - started,
            )

    async def _send(self, sock: zmq.asyncio.Socket, envelope: list[bytes], reply: Reply) -> None:
        try:
            data = encode_reply(reply)
        except (TypeError, ValueError):
            log.exception("reply to id=%s is not JSON; sending an internal error", reply.id)
            data = encode_reply(error_reply(reply.id, SsodError("internal error: bad reply")))
        try:
            # ROUTER never blocks on send: an unroutable or full peer just loses the reply.
            await sock.send_multipart([*envelope, data])
        except zmq.ZMQError as exc:
            log.warning("reply to id=%s not sent: %s", reply.id, exc)


def _only_our_uid(sock: zmq.asyncio.Socket) -> None:
    """Have libzmq close IPC connections of other uids where it can (deprecated, still built)."""
    try:
        sock.setsockopt(zmq.IPC_FILTER_UID, os.getuid())
    except (AttributeError, zmq.ZMQError):
        log.info("libzmq has no IPC peer filter here; checking each request's peer instead")


def _peer_uid(frame: zmq.Frame) -> int | None:
    """The uid in a frame's ``Peer-Address`` (``host:uid:gid:pid``), if libzmq gives one."""
    try:
        address = frame.get("Peer-Address")
    except (zmq.ZMQError, UnicodeDecodeError):
        return None
    fields = str(address).split(":") if address else []
    if len(fields) >= 3 and fields[1].isdigit():
        return int(fields[1])
    return None


def _peek_id(body: bytes) -> str:
    # Busy replies skip full decoding; the id is worth one cheap look for small bodies.
    try:
        return decode_request(body).id
    except IpcError as err:
        return err.request_id or ""


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.critical("the IPC receive loop died", exc_info=task.exception())
