"""The IPC server and client over real zmq ``ipc://`` sockets, with an in-test handler.

The client is synchronous, so it runs in a thread (``asyncio.to_thread``) while the server
runs on the test's event loop. Socket paths live in a short /tmp directory: pytest's tmp_path
can exceed the ~104-byte Unix socket limit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

import pytest
import zmq
import zmq.asyncio

from ssod import errors, wire
from ssod.client.ipc import IpcClient
from ssod.daemon.serve.ipc import IpcServer, Progress
from ssod.wire import Op, Request

T = TypeVar("T")
SECRET = "do-not-log-this-profile"


class FakeDaemon:
    """An in-test handler: each op exercises one server path (results, streams, errors, hangs)."""

    def __init__(self) -> None:
        self.cancels: dict[str, asyncio.Event] = {}
        self.started: dict[str, asyncio.Event] = {}

    async def handle(self, req: Request) -> AsyncIterator[Progress | Mapping[str, object]]:
        args = req.args
        if req.op is Op.STATUS:
            yield {"sessions": [], "pid": os.getpid()}
        elif req.op is Op.CREDENTIALS:
            if args["profile"] == "missing":
                raise errors.ProfileNotFound("no profile named 'missing'")
            yield {"profile": args["profile"]}
        elif req.op is Op.LOGIN:
            session = str(args.get("sso_session") or args.get("profile"))
            yield Progress({"event": "verification", "url": "https://x/device", "user_code": "AB"})
            if session == "quick":
                yield {"event": "done", "sso_session": session}
                return
            self.started.setdefault(session, asyncio.Event()).set()
            await self.cancels.setdefault(session, asyncio.Event()).wait()
            raise errors.LoginCancelled(f"login to {session} cancelled")
        elif req.op is Op.CANCEL_LOGIN:
            self.cancels.setdefault(str(args["sso_session"]), asyncio.Event()).set()
            yield {"cancelled": True}
        elif req.op is Op.LOGOUT:
            yield {"args": dict(args)}
        elif req.op is Op.ROLES:
            raise RuntimeError("a bug in the handler")
        elif req.op is Op.ENDPOINT:
            yield {"not json": object()}
        elif req.op is Op.RELOAD:
            if req.id == "never":  # a handler that (almost always) forgets to give a result
                yield {}
        else:
            self.started.setdefault(req.op.value, asyncio.Event()).set()
            await asyncio.Event().wait()  # hangs until cancelled
            yield {}


@pytest.fixture
def short_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ssod", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def endpoint(short_dir: Path) -> str:
    return f"ipc://{short_dir}/ipc"


@pytest.fixture
def daemon() -> FakeDaemon:
    return FakeDaemon()


@pytest.fixture
async def server(endpoint: str, daemon: FakeDaemon) -> AsyncIterator[IpcServer]:
    srv = IpcServer(endpoint, daemon.handle, stop_grace=0.2)
    await srv.start()
    yield srv
    await srv.stop()


async def in_thread(endpoint: str, fn: Callable[[IpcClient], T], timeout: float = 5.0) -> T:
    """Run ``fn`` with a fresh client in a worker thread, as the CLI would."""

    def run() -> T:
        with IpcClient(endpoint, timeout=timeout) as client:
            return fn(client)

    return await asyncio.to_thread(run)


async def raw(endpoint: str, frames: list[bytes], timeout: float = 5.0) -> list[bytes]:
    """Send arbitrary frames from a bare DEALER and return the reply frames."""
    ctx = zmq.asyncio.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.connect(endpoint)
        await sock.send_multipart(frames)
        return await asyncio.wait_for(sock.recv_multipart(), timeout)
    finally:
        sock.close()
        ctx.term()


def _request(**fields: object) -> bytes:
    base: dict[str, object] = {"v": 1, "id": "raw1", "op": "status", "args": {}}
    base.update(fields)
    return json.dumps(base).encode()


# --- request and reply --------------------------------------------------------------------------


async def test_request_reply(server: IpcServer, endpoint: str) -> None:
    result = await in_thread(endpoint, lambda c: c.request(Op.CREDENTIALS, profile="dev"))
    assert result == {"profile": "dev"}


async def test_none_arguments_are_left_out(server: IpcServer, endpoint: str) -> None:
    result = await in_thread(endpoint, lambda c: dict(c.request(Op.LOGOUT, all=True, profile=None)))
    assert result == {"args": {"all": True}}


async def test_streaming(server: IpcServer, endpoint: str) -> None:
    replies = await in_thread(endpoint, lambda c: list(c.stream(Op.LOGIN, sso_session="quick")))
    assert [(r.more, r.result) for r in replies] == [
        (True, {"event": "verification", "url": "https://x/device", "user_code": "AB"}),
        (False, {"event": "done", "sso_session": "quick"}),
    ]


async def test_errors_are_rebuilt_as_the_same_class(server: IpcServer, endpoint: str) -> None:
    with pytest.raises(errors.ProfileNotFound, match="no profile named 'missing'"):
        await in_thread(endpoint, lambda c: c.request(Op.CREDENTIALS, profile="missing"))


@pytest.mark.parametrize("op", [Op.ROLES, Op.ENDPOINT, Op.RELOAD])
async def test_handler_bugs_become_internal_errors(
    server: IpcServer, endpoint: str, op: Op
) -> None:
    args = {"sso_session": "corp"} if op is Op.ROLES else {}
    with pytest.raises(errors.SsodError, match="internal error") as caught:
        await in_thread(endpoint, lambda c: c.request(op, **args))
    assert type(caught.value) is errors.SsodError
    # ...and the server keeps serving.
    assert await in_thread(endpoint, lambda c: c.request(Op.STATUS))


async def test_invalid_request_fails_in_the_client(server: IpcServer, endpoint: str) -> None:
    with pytest.raises(errors.BadRequest, match="missing argument 'profile'"):
        await in_thread(endpoint, lambda c: c.request(Op.CREDENTIALS))


async def test_a_slow_login_does_not_block_status(
    server: IpcServer, endpoint: str, daemon: FakeDaemon
) -> None:
    def login(c: IpcClient) -> list[object]:
        return [r.result for r in c.stream(Op.LOGIN, sso_session="corp", idle_timeout=10)]

    login_task = asyncio.create_task(in_thread(endpoint, login))
    await asyncio.wait_for(daemon.started.setdefault("corp", asyncio.Event()).wait(), 5)
    assert await in_thread(endpoint, lambda c: c.request(Op.STATUS))
    assert not login_task.done()  # status was answered while the login still waits
    await in_thread(endpoint, lambda c: c.request(Op.CANCEL_LOGIN, sso_session="corp"))
    with pytest.raises(errors.LoginCancelled):
        await login_task


async def test_cancel_after_abandoning_a_stream(server: IpcServer, endpoint: str) -> None:
    """What the CLI does on Ctrl-C: stop reading, send cancel_login on the same client."""

    def interrupted_login(c: IpcClient) -> tuple[object, object, object]:
        events = c.stream(Op.LOGIN, sso_session="corp", idle_timeout=10)
        first = next(events)
        events.close()
        cancelled = c.request(Op.CANCEL_LOGIN, sso_session="corp")
        # The login's own final (error) reply is still due: later requests must skip it.
        after = c.request(Op.STATUS)
        return first.result, cancelled, after

    first, cancelled, after = await in_thread(endpoint, interrupted_login)
    assert first == {"event": "verification", "url": "https://x/device", "user_code": "AB"}
    assert cancelled == {"cancelled": True}
    assert isinstance(after, dict)
    assert after["sessions"] == []


# --- robustness ---------------------------------------------------------------------------------

GARBAGE: list[tuple[str, list[bytes], str, str]] = [
    ("random bytes", [os.urandom(64) + b"\xff"], "bad_request", ""),
    ("empty frame", [b""], "bad_request", ""),
    ("not an object", [b"[1,2,3]"], "bad_request", ""),
    ("oversized", [b" " * (wire.MAX_MESSAGE_BYTES + 10)], "bad_request", ""),
    ("wrong version", [_request(v=2)], "version_mismatch", "raw1"),
    ("unknown op", [_request(op="format_disk")], "bad_request", "raw1"),
    ("bad args", [_request(op="credentials", args={"profile": 3})], "bad_request", "raw1"),
    ("multi-frame", [b"a", b"b", b"c"], "bad_request", ""),
]


@pytest.mark.parametrize(
    ("frames", "code", "rid"), [g[1:] for g in GARBAGE], ids=[g[0] for g in GARBAGE]
)
async def test_garbage_gets_an_error_reply(
    server: IpcServer, endpoint: str, frames: list[bytes], code: str, rid: str
) -> None:
    [data] = await raw(endpoint, frames)
    reply = wire.decode_reply(data)
    assert not reply.ok
    assert reply.error is not None
    assert reply.error.code == code
    assert reply.id == rid
    assert await in_thread(endpoint, lambda c: c.request(Op.STATUS))


async def test_req_style_envelope_is_echoed(server: IpcServer, endpoint: str) -> None:
    frames = await raw(endpoint, [b"", wire.encode_request(Request("q1", Op.STATUS))])
    assert frames[0] == b""
    assert wire.decode_reply(frames[1]).id == "q1"


async def test_giant_frames_are_dropped_and_the_server_lives(
    server: IpcServer, endpoint: str
) -> None:
    with pytest.raises(TimeoutError):
        await raw(endpoint, [b"x" * (2 * 1024 * 1024)], timeout=0.5)
    assert await in_thread(endpoint, lambda c: c.request(Op.STATUS))


async def test_flood_from_eight_clients(server: IpcServer, endpoint: str) -> None:
    def burst(n: int) -> Callable[[IpcClient], list[object]]:
        def run(c: IpcClient) -> list[object]:
            return [
                dict(c.request(Op.CREDENTIALS, profile=f"p{n}-{i}"))["profile"] for i in range(250)
            ]

        return run

    results = await asyncio.gather(*(in_thread(endpoint, burst(n)) for n in range(8)))
    assert [len(r) for r in results] == [250] * 8
    assert results[3][17] == "p3-17"


async def test_too_many_in_flight_are_refused(endpoint: str, daemon: FakeDaemon) -> None:
    srv = IpcServer(endpoint, daemon.handle, max_in_flight=1, stop_grace=0.1)
    await srv.start()
    try:
        hanging = asyncio.create_task(raw(endpoint, [_request(op="rotate_token")]))
        entered = daemon.started.setdefault("rotate_token", asyncio.Event())
        await asyncio.wait_for(entered.wait(), 30)  # the one slot is taken
        with pytest.raises(errors.BadRequest, match="busy"):
            await in_thread(endpoint, lambda c: c.request(Op.STATUS))
    finally:
        await srv.stop()
    # Cut short by stop(): the hanging request is told the daemon is going away.
    reply = wire.decode_reply((await hanging)[0])
    assert reply.error is not None
    assert reply.error.code == errors.DaemonUnavailable.code


async def test_logs_name_the_op_but_never_the_args(
    server: IpcServer, endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ssod.ipc")
    await in_thread(endpoint, lambda c: c.request(Op.CREDENTIALS, profile=SECRET))
    with pytest.raises(errors.BadRequest):
        await in_thread(endpoint, lambda c: c.request(Op.CREDENTIALS, profile=SECRET + "x" * 70000))
    await raw(endpoint, [_request(op="credentials", args={"profile": SECRET, "x": 1})])
    lines = [r.getMessage() for r in caplog.records if r.name == "ssod.ipc"]
    assert any("op=credentials" in line and "outcome=ok" in line for line in lines)
    assert any("outcome=bad_request" in line for line in lines)
    assert SECRET not in caplog.text


# --- no daemon, and stopping --------------------------------------------------------------------


async def test_no_socket_means_no_daemon_at_once(short_dir: Path, endpoint: str) -> None:
    # At once: told there is no daemon, not that a minute passed without an answer.
    with pytest.raises(errors.DaemonUnavailable) as caught:
        await in_thread(endpoint, lambda c: c.request(Op.STATUS), timeout=60)
    message = caught.value.message
    assert "no answer within" not in message
    assert str(short_dir / "ipc") in message
    assert "ssod service install" in message
    assert "ssod daemon" in message
    assert caught.value.exit_code == errors.EXIT_NO_DAEMON


async def test_stale_socket_means_no_daemon_at_once(short_dir: Path, endpoint: str) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(short_dir / "ipc"))
    stale.close()
    with pytest.raises(errors.DaemonUnavailable, match="stale") as caught:
        await in_thread(endpoint, lambda c: c.request(Op.STATUS), timeout=60)
    assert "no answer within" not in caught.value.message  # at once, not after a minute


async def test_a_silent_daemon_times_out(endpoint: str) -> None:
    ctx = zmq.Context()
    mute = ctx.socket(zmq.ROUTER)
    mute.setsockopt(zmq.LINGER, 0)
    mute.bind(endpoint)
    try:
        started = time.monotonic()
        with pytest.raises(errors.DaemonUnavailable, match=r"no answer within 0\.3s"):
            await in_thread(endpoint, lambda c: c.request(Op.STATUS), timeout=0.3)
        assert time.monotonic() - started >= 0.25  # a lower bound: load only lengthens it
    finally:
        mute.close()
        ctx.term()


async def test_stop_removes_the_socket(short_dir: Path, endpoint: str, daemon: FakeDaemon) -> None:
    srv = IpcServer(endpoint, daemon.handle)
    await srv.start()
    assert (short_dir / "ipc").exists()
    assert await in_thread(endpoint, lambda c: c.request(Op.STATUS))
    await srv.stop()
    assert not (short_dir / "ipc").exists()
    await srv.stop()  # idempotent
    with pytest.raises(errors.DaemonUnavailable):
        await in_thread(endpoint, lambda c: c.request(Op.STATUS))


async def test_stop_lets_quick_requests_finish(endpoint: str, daemon: FakeDaemon) -> None:
    entered = asyncio.Event()

    async def slow(req: Request) -> AsyncIterator[Progress | Mapping[str, object]]:
        entered.set()
        await asyncio.sleep(0.2)  # the request's own work, well inside the grace
        yield {"slept": True}

    srv = IpcServer(endpoint, slow, stop_grace=2)
    await srv.start()
    pending = asyncio.create_task(raw(endpoint, [_request()]))
    await asyncio.wait_for(entered.wait(), 30)
    await srv.stop()
    assert wire.decode_reply((await pending)[0]).result == {"slept": True}


async def test_an_unusable_endpoint_is_an_ipc_error() -> None:
    # A live socket file is no obstacle: zmq replaces it. The instance lock (runtime.py) is what
    # keeps a second daemon out, so binding fails only for unusable paths.
    bad = IpcServer("ipc:///nonexistent-dir/x/ipc", FakeDaemon().handle)
    with pytest.raises(errors.IpcError, match="cannot listen"):
        await bad.start()


def test_the_client_side_stays_light() -> None:
    code = "import sys, ssod.client.ipc; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    heavy = ("asyncio", "zmq.asyncio", "ssod.daemon", "aiohttp", "aiobotocore", "watchdog")
    assert [m for m in loaded if m.startswith(heavy)] == []
