"""The scoped-token store: the live records in memory, and their 0600 file in the state dir.

Owns issuing, revoking and checking scoped tokens (format and hashing live in ``ssod.scoped``).
The file (``scoped-tokens.json`` beside the ECS token) holds SHA-256 digests only, is written
atomically, and is read once at start so tokens survive daemon restarts. A file that cannot
be read is moved aside (``.unreadable``), never overwritten, and its error stays in status: its
tokens are refused (failing closed) until the user issues new ones. Revoking takes
effect in memory before the file is rewritten, so a revoked token is refused at once; an
expired one is refused from its expiry second and dropped at the next write. ``authorizes`` is
the ECS endpoint's check: one dict lookup by the token's public id, a clock read, one hash.

A token bound to a process (``ssod exec``'s command) is also refused from the moment that
process is gone (``authorizes`` looks at the pid: one ``/proc`` read), and dropped from memory
and the file by ``sweep``: at start, before each issue, before a listing, and every
``SWEEP_SECONDS``. So they never pile up against ``scoped.MAX_TOKENS``. The sweep's ``/proc``
reads (one a bound token) run in a thread, off the event loop.

A revocation is logged when it happens. If its file cannot be written (a full disk), it holds
in memory, ``unsaved`` says why for status, and every sweep, the next issue and the shutdown
(``flush``) write the file again until it lands, so a restart does not bring the token back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from ssod import procinfo, scoped
from ssod.daemon.store.cachefiles import atomic_write, read_file
from ssod.errors import BadRequest, CacheError
from ssod.scoped import Issued, ScopedToken

log = logging.getLogger("ssod.tokens")

#: How often the daemon drops the tokens of processes that are gone (``Daemon`` runs it).
SWEEP_SECONDS: Final = 30.0


class ScopedTokenStore:
    """Live scoped tokens, by id."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._by_id: dict[str, ScopedToken] = {}
        self._write_lock = asyncio.Lock()
        #: Why the file could not be read at start, if it could not (shown in status).
        self.error: str | None = None
        #: Why a revocation is not in the file yet, if it is not (shown in status).
        self.unsaved: str | None = None

    def load(self) -> None:
        """Read the file (blocking; once, at start). A missing file is an empty store."""
        self._by_id = {}
        try:
            data = read_file(self.path)
            if data is None:
                return
            records = scoped.load(data, str(self.path))
        except CacheError as err:
            aside = self.path.with_name(self.path.name + ".unreadable")
            with contextlib.suppress(OSError):
                os.replace(self.path, aside)
            self.error = (
                f"{err.message}; moved to {aside.name}, its scoped tokens are refused: issue "
                "new ones with `ssod token issue`"
            )
            log.error("event=scoped_tokens_unreadable error=%r", self.error)
            return
        self._by_id = {r.id: r for r in records}
        log.info("event=scoped_tokens_loaded count=%d", len(self.live()))

    def authorizes(self, token: str, profile: str) -> bool:
        """True only for a live, unrevoked scoped token issued for exactly ``profile``."""
        tid = scoped.token_id(token)
        record = self._by_id.get(tid) if tid is not None else None
        if record is None or record.profile != profile or record.expired(self._clock()):
            return False
        if not scoped.matches(token, record):
            return False
        return record.pid is None or scoped.alive(record, procinfo.look(record.pid))

    def live(self) -> list[ScopedToken]:
        """The tokens that still work, oldest first."""
        now = self._clock()
        return sorted(
            (r for r in self._by_id.values() if not r.expired(now)), key=lambda r: r.created
        )

    async def issue(
        self,
        profile: str,
        ttl: int,
        name: str = "",
        *,
        pid: int | None = None,
        started: int | None = None,
    ) -> Issued:
        """A new token for ``profile``; it works once this returns and the file holds it.

        With ``pid`` the token is bound to that process, which must run now, seen from here,
        with the start time the client read (``started``): a client in another pid namespace
        names a pid that is not its own here, and is refused.
        """
        async with self._write_lock:
            live, gone = await asyncio.to_thread(self._split_gone, self.live())
            if len(live) >= scoped.MAX_TOKENS:
                raise BadRequest(
                    f"{len(live)} scoped tokens are live, the most ssod keeps: revoke some "
                    "with `ssod token revoke`"
                )
            if pid is not None:
                seen = procinfo.look(pid)
                if not seen.running or not scoped.same_process(started, seen):
                    raise BadRequest(
                        f"process {pid} is not running where the daemon looks (another pid "
                        "namespace?)"
                    )
                started = started if started is not None else seen.started
            elif name and scoped.select(live, name):
                raise BadRequest(f"a live scoped token is already named {name!r}")
            issued = scoped.issue(
                profile, ttl, self._clock(), name=name, taken=self._by_id, pid=pid, started=started
            )
            await self._save([*live, issued.record])
            self._by_id = {r.id: r for r in (*live, issued.record)}
        _log_gone(gone)
        log.info(
            "event=scoped_token_issued id=%s profile=%r expires=%s pid=%s",
            issued.record.id,
            profile,
            scoped.format_time(issued.record.expires),
            pid if pid is not None else "-",
        )
        return issued

    async def sweep(self) -> list[ScopedToken]:
        """Drop the expired tokens and those whose process is gone; the dropped bound ones."""
        async with self._write_lock:
            kept, gone = await asyncio.to_thread(self._split_gone, self.live())
            if len(kept) == len(self._by_id) and self.unsaved is None:
                return []
            self._by_id = {r.id: r for r in kept}
            try:
                await self._save(kept)
            except CacheError as err:
                log.warning("event=scoped_tokens_not_saved error=%r", err.message)
        _log_gone(gone)
        return gone

    @staticmethod
    def _split_gone(
        records: list[ScopedToken],
    ) -> tuple[list[ScopedToken], list[ScopedToken]]:
        """``records`` split into those whose process runs (or that have none), and the rest."""
        kept: list[ScopedToken] = []
        gone: list[ScopedToken] = []
        for r in records:
            (kept if r.pid is None or scoped.alive(r, procinfo.look(r.pid)) else gone).append(r)
        return kept, gone

    async def revoke(
        self, *, key: str | None = None, profile: str | None = None, every: bool = False
    ) -> list[ScopedToken]:
        """Revoke by id or name, every token of a profile, or all; refused at once."""
        async with self._write_lock:
            live = self.live()
            if every:
                gone = live
            elif profile is not None:
                gone = [r for r in live if r.profile == profile]
            else:
                gone = scoped.select(live, key or "")
            ids = {r.id for r in gone}
            kept = [r for r in live if r.id not in ids]
            # Memory first: the endpoint refuses the token before the file is even written.
            self._by_id = {r.id: r for r in kept}
            for record in gone:
                log.info("event=scoped_token_revoked id=%s profile=%r", record.id, record.profile)
            try:
                await self._save(kept)
            except CacheError as err:
                if gone:
                    self.unsaved = err.message
                log.warning("event=scoped_tokens_not_saved error=%r", err.message)
                raise CacheError(
                    f"revoked in the running daemon, but not saved yet ({err.message}); ssod "
                    "saves it as soon as it can, and `ssod status` says so until then"
                ) from None
        return gone

    async def flush(self) -> None:
        """Write a revocation that is not in the file yet (at shutdown); say so if it fails."""
        async with self._write_lock:
            if self.unsaved is None:
                return
            try:
                await self._save(self.live())
            except CacheError as err:
                log.error(
                    "event=revocation_not_saved error=%r: revoked tokens work again after a "
                    "restart; revoke them again then",
                    err.message,
                )

    async def _save(self, records: list[ScopedToken]) -> None:
        await asyncio.to_thread(atomic_write, self.path, scoped.dump(records))
        if self.unsaved is not None:
            self.unsaved = None
            log.info("event=revocation_saved")


def _log_gone(records: list[ScopedToken]) -> None:
    for record in records:
        log.info(
            "event=scoped_token_process_gone id=%s profile=%r pid=%s",
            record.id,
            record.profile,
            record.pid,
        )
