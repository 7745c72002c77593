"""Which port a user's ECS endpoint listens on, so two users' daemons share one machine.

An explicit port (``--ecs-port``, ``SSOD_ECS_PORT``; 0 lets the system pick) is used exactly,
and a start on a taken one fails, saying so. Otherwise the port must be free *and* stay the same
across this user's restarts, since shells and containers keep the exported URL:

1. the port this user's daemon last listened on, kept in the state dir (``ecs-port``);
2. the preferred port, 9179 (``SSOD_ECS_PREFERRED_PORT`` names another; tests use it so they
   never meet a real daemon), when free;
3. a port of this user's own: ``PER_USER_BASE`` plus an offset from the uid, or one of the next
   few (below Linux's and macOS's ephemeral ranges, so outgoing connections rarely hold it).

The port that bound is written back (0600, atomically) when it differs from the kept one. Only
a port another program holds moves the daemon on; any other bind error fails the start.
``candidates`` is pure; ``start`` binds.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path
from typing import Protocol

from ssod.daemon.store.cachefiles import atomic_write, read_file
from ssod.errors import CacheError, SsodError

log = logging.getLogger("ssod.listen")

#: Per-user ports live in [PER_USER_BASE, PER_USER_BASE + PER_USER_SPAN).
PER_USER_BASE = 20000
PER_USER_SPAN = 10000
#: How many ports after a user's own are tried before the system picks one.
PER_USER_TRIES = 16


class Endpoint(Protocol):
    """What is started on a port (``EcsServer``)."""

    @property
    def port(self) -> int: ...

    async def start(self, port: int | None = None) -> None: ...


def per_user_port(uid: int) -> int:
    """This user's own port: spread over the span so neighbouring uids do not collide."""
    return PER_USER_BASE + (uid * 7919) % PER_USER_SPAN


def candidates(saved: int | None, preferred: int, uid: int) -> list[int]:
    """The ports to try, in order, without repeats; the system's pick (0) last."""
    offset = per_user_port(uid) - PER_USER_BASE
    span = [PER_USER_BASE + (offset + i) % PER_USER_SPAN for i in range(PER_USER_TRIES)]
    ordered = [p for p in (saved, preferred, *span) if p]
    return [*dict.fromkeys(ordered), 0]


def read_saved(path: Path) -> int | None:
    """The port kept in ``path``, or None (missing, unreadable or not a port)."""
    try:
        data = read_file(path)
    except (CacheError, OSError):
        return None
    text = (data or b"").decode("ascii", "replace").strip()
    if not text.isdigit() or not 0 < int(text) <= 65535:
        return None
    return int(text)


def _taken(err: SsodError) -> bool:
    cause = err.__cause__
    return isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE


async def start(endpoint: Endpoint, saved_in: Path | None, preferred: int) -> None:
    """Start ``endpoint`` on this user's port (``saved_in`` None: on its own port exactly)."""
    if saved_in is None:
        try:
            await endpoint.start()
        except SsodError as err:
            if _taken(err):
                raise SsodError(
                    f"{err.message}; --ecs-port or SSOD_ECS_PORT asks for exactly that port: "
                    "name another, or set neither and ssod picks a free one of your own"
                ) from err
            raise
        return
    saved = read_saved(saved_in)
    for port in candidates(saved, preferred, os.getuid()):
        try:
            await endpoint.start(port)
        except SsodError as err:
            if not _taken(err):
                raise
            log.info("event=ecs_port_taken port=%d", port)
            continue
        break
    if endpoint.port != saved:
        try:
            atomic_write(saved_in, f"{endpoint.port}\n".encode())
        except CacheError as err:
            log.warning("event=ecs_port_not_kept %s", err.message)
