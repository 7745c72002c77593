"""The client end of the IPC socket: send one request, read its reply or its stream of events.

This module owns the client's zmq DEALER socket, its timeouts and the "no daemon" diagnosis.
It is synchronous and must stay cheap to import (no asyncio, nothing from ``ssod.daemon``);
the message format lives in ``ssod.wire``. One ``IpcClient`` belongs to one thread.
KeyboardInterrupt is never swallowed: after Ctrl-C during a stream the caller can send
``cancel_login`` on the same client, and replies still due for the old request are skipped.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Generator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

import zmq

from ssod import paths
from ssod.client.service.autostart import unavailable_message
from ssod.errors import DaemonUnavailable, IpcError
from ssod.wire import Op, Reply, Request, decode_reply, encode_request

if TYPE_CHECKING:
    from ssod import replies


class IpcClient:
    """A synchronous connection to the ssod daemon (``paths.ipc_endpoint()`` by default)."""

    def __init__(self, endpoint: str | None = None, timeout: float = 5.0) -> None:
        self.endpoint = endpoint or paths.ipc_endpoint()
        self.timeout = timeout
        self._context: zmq.Context[zmq.Socket[bytes]] | None = None
        self._socket: zmq.Socket[bytes] | None = None

    @property
    def socket_path(self) -> str | None:
        """The Unix socket path of an ``ipc://`` endpoint, else None."""
        prefix = "ipc://"
        return self.endpoint[len(prefix) :] if self.endpoint.startswith(prefix) else None

    @overload
    def request(self, op: Literal[Op.STATUS], **args: object) -> replies.StatusReply: ...
    @overload
    def request(self, op: Literal[Op.CREDENTIALS], **args: object) -> replies.CredentialsReply: ...
    @overload
    def request(self, op: Literal[Op.LOGIN], **args: object) -> replies.LoginReply: ...
    @overload
    def request(self, op: Literal[Op.CANCEL_LOGIN], **args: object) -> replies.CancelLoginReply: ...
    @overload
    def request(self, op: Literal[Op.LOGOUT], **args: object) -> replies.LogoutReply: ...
    @overload
    def request(self, op: Literal[Op.ROLES], **args: object) -> replies.RolesReply: ...
    @overload
    def request(self, op: Literal[Op.RELOAD], **args: object) -> replies.ReloadReply: ...
    @overload
    def request(self, op: Literal[Op.ENDPOINT], **args: object) -> replies.EndpointReply: ...
    @overload
    def request(self, op: Literal[Op.ROTATE_TOKEN], **args: object) -> replies.EndpointReply: ...
    @overload
    def request(self, op: Literal[Op.SSO_REGION], **args: object) -> replies.SsoRegionReply: ...
    @overload
    def request(self, op: Literal[Op.START_URL], **args: object) -> replies.StartUrlReply: ...
    @overload
    def request(self, op: Literal[Op.CONSOLE], **args: object) -> replies.ConsoleReply: ...
    @overload
    def request(self, op: Literal[Op.ISSUE_TOKEN], **args: object) -> replies.IssueTokenReply: ...
    @overload
    def request(self, op: Literal[Op.REVOKE_TOKEN], **args: object) -> replies.RevokeTokenReply: ...
    @overload
    def request(self, op: Literal[Op.LIST_TOKENS], **args: object) -> replies.ListTokensReply: ...
    @overload
    def request(self, op: Literal[Op.EKS_TOKEN], **args: object) -> replies.EksTokenReply: ...
    @overload
    def request(self, op: Literal[Op.EKS_CLUSTER], **args: object) -> replies.EksClusterReply: ...
    @overload
    def request(self, op: Op, **args: object) -> Mapping[str, object]: ...
    def request(self, op: Op, **args: object) -> Any:
        """Send one request and return its final result; raise the daemon's error if any.

        The result is typed per operation (``ssod.replies``): the daemon builds it with the same
        types, and the protocol version check stands for the rest.
        """
        result: dict[str, object] = {}
        for reply in self._replies(self._send(op, args), self.timeout):
            result = dict(reply.result or {})
        return result

    def stream(
        self, op: Op, *, idle_timeout: float | None = None, **args: object
    ) -> Generator[Reply, None, None]:
        """Send one request and yield its replies until the final one (``more=False``).

        Each wait for the next reply is bounded by ``idle_timeout`` (default: the client's
        timeout); a login waits for the user, so its caller passes minutes. An error reply
        raises the rebuilt ``ssod.errors`` class instead of being yielded. Closing the generator
        early is safe: the rest of the stream is skipped by later requests on this client.
        """
        request_id = self._send(op, args)
        return self._replies(request_id, self.timeout if idle_timeout is None else idle_timeout)

    def close(self) -> None:
        """Close the socket and its context at once (LINGER 0: never hang on exit)."""
        self._reset()

    def __enter__(self) -> IpcClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, op: Op, args: dict[str, object]) -> str:
        # None means "not given": callers pass optional command-line flags straight through.
        given = {name: value for name, value in args.items() if value is not None}
        req = Request(id=os.urandom(8).hex(), op=op, args=given)
        data = encode_request(req)
        sock = self._connect()
        try:
            sock.send(data, flags=zmq.NOBLOCK)
        except zmq.Again:
            self._reset()
            raise DaemonUnavailable(self._unavailable("cannot queue a request")) from None
        return req.id

    def _replies(self, request_id: str, idle_timeout: float) -> Generator[Reply, None, None]:
        while True:
            reply = self._receive(request_id, idle_timeout)
            reply.raise_for_error()
            yield reply
            if not reply.more:
                return

    def _receive(self, request_id: str, wait: float) -> Reply:
        sock = self._connect()
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not sock.poll(int(left * 1000), zmq.POLLIN):
                # The request may still be queued: a fresh socket keeps it from the next request.
                self._reset()
                raise DaemonUnavailable(self._unavailable(f"no answer within {wait:g}s"))
            reply = decode_reply(sock.recv())
            # An empty id answers a request the daemon could not read: with one request in
            # flight at a time it is ours. Other ids are leftovers of an abandoned stream.
            if reply.id == request_id or (reply.id == "" and not reply.ok):
                return reply

    def _connect(self) -> zmq.Socket[bytes]:
        if self._socket is not None:
            return self._socket
        self._probe()
        self._context = zmq.Context()
        sock = self._context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        try:
            sock.connect(self.endpoint)
        except zmq.ZMQError as exc:
            sock.close()
            self._reset()
            raise IpcError(f"cannot connect to {self.endpoint}: {exc}") from None
        self._socket = sock
        return sock

    def _probe(self) -> None:
        # zmq connects lazily and retries forever, so a missing or dead socket would only show
        # as a timeout; a plain connect() tells at once.
        path = self.socket_path
        if path is None:
            return
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except FileNotFoundError:
            raise DaemonUnavailable(self._unavailable("the socket does not exist")) from None
        except ConnectionRefusedError:
            raise DaemonUnavailable(
                self._unavailable("the socket is stale (a daemon exited without cleaning up)")
            ) from None
        except OSError as exc:
            raise DaemonUnavailable(self._unavailable(exc.strerror or str(exc))) from None
        finally:
            probe.close()

    def _unavailable(self, why: str) -> str:
        where = self.socket_path or self.endpoint
        return unavailable_message(where, why)

    def _reset(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None
        if self._context is not None:
            self._context.term()
            self._context = None
