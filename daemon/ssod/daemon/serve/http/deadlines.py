"""How long the HTTP endpoints (ECS, IMDS) wait, and the credential answer given within that time.

Owns the limits both endpoints share (the connection cap, the request-head deadline, how long a
request waits for credentials) and :func:`credentials_reply`: ask a ``CredentialProvider``,
wait at most ``wait_limit`` seconds (SDKs give up after 2 s, docs/protocols.md section 6) without
ever cancelling the fetch, which goes on for the next request, and map its outcome to a reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final

from aiohttp import web

from ssod import errors
from ssod.daemon.aws.credentials import RoleCredentials
from ssod.daemon.engine.model import CredentialProvider
from ssod.daemon.serve.http.replies import INTERNAL, error_body, error_reply, reply

#: Open connections beyond this are reset at once; each SDK process holds one.
MAX_CONNECTIONS: Final = 256
#: Each request head must be complete within this many seconds of the connection opening or of
#: the previous head (slowloris); it also closes idle keep-alive connections.
HEAD_TIMEOUT: Final = 5.0
#: How long a request waits for credentials being fetched before it is told to retry (503).
DEFAULT_WAIT_LIMIT: Final = 1.0


def head_deadline(head_timeout: float, wait_limit: float) -> float:
    """The head deadline to use: a request being handled must never hit it."""
    return max(head_timeout, wait_limit + 0.5)


def consume(task: asyncio.Future[RoleCredentials]) -> None:
    """Read a finished fetch's exception, so asyncio stays quiet when no request waited."""
    if not task.cancelled():
        task.exception()


async def done_within(task: asyncio.Future[RoleCredentials], limit: float) -> bool:
    """Wait until ``task`` is done or ``limit`` seconds pass, never cancelling it.

    Same meaning as ``wait_for(shield(task), limit)``, with one future and one timer instead
    of the three futures and extra loop turns of that chain (this is the hot path).
    """
    if task.done():
        return True
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake(_: object) -> None:
        if not waiter.done():
            waiter.set_result(None)

    task.add_done_callback(wake)
    timer = asyncio.get_running_loop().call_later(limit, wake, None)
    try:
        await waiter
    finally:
        timer.cancel()
        task.remove_done_callback(wake)
    return task.done()


async def credentials_reply(
    provider: CredentialProvider,
    profile: str,
    wait_limit: float,
    encode: Callable[[RoleCredentials], bytes],
    log: logging.Logger,
) -> web.Response:
    """``profile``'s credentials as ``encode`` renders them, or why not, within ``wait_limit``."""
    held = provider.held(profile)
    if held is not None:
        # The common case: answered from memory with no Task, future or timer.
        return reply(200, encode(held))
    task = asyncio.ensure_future(provider.credentials(profile))
    task.add_done_callback(consume)
    if not await done_within(task, wait_limit):
        # The fetch goes on (as with asyncio.shield); the broker hands it to the next request.
        message = f"still fetching credentials for {profile} from AWS; retry"
        return reply(503, error_body(errors.AwsUnavailable.code, message))
    if task.cancelled():
        log.error("credential fetch cancelled")
        return reply(500, INTERNAL)
    err = task.exception()
    if err is None:
        return reply(200, encode(task.result()))
    if isinstance(err, errors.SsodError):
        return error_reply(err)
    log.error("unexpected %s serving credentials", type(err).__name__)
    return reply(500, INTERNAL)
