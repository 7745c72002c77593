"""The ECS endpoint's token in service, and what is wrong with its file.

Holds the token the ECS endpoint checks requests against (``value``), loaded from (or created
in) the token file at start, replaced by ``rotate``, and re-read by ``check_file`` when the file
changes on disk: a token in a safe file is served (another ``ssod token rotate`` or a restore
wrote it); an unsafe or unreadable file keeps the token in memory serving and is reported in
``error`` until it is safe again; a deleted file gets a new token, as a restart would give.
The file's format and safety rules are ``ecstoken``'s.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from ssod.daemon.store import ecstoken
from ssod.errors import CacheError

log = logging.getLogger("ssod.daemon")


class EcsTokenKeeper:
    """Owns the ECS token in memory and the error of its file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._token = ""
        self.error: str | None = None

    @property
    def value(self) -> str:
        """The token in service ("" before ``load``)."""
        return self._token

    async def load(self) -> None:
        """Read the token file, creating it with a new token if there is none."""
        self._token = await asyncio.to_thread(ecstoken.load_or_create, self.path)

    async def rotate(self) -> None:
        """Replace the token; shells that exported the old one must run `ssod env` again."""
        self._token = await asyncio.to_thread(ecstoken.rotate, self.path)
        self.error = None
        log.info("event=ecs_token_rotated")

    async def check_file(self) -> None:
        """Re-read the token file after it changed on disk."""
        path = self.path
        try:
            token = await asyncio.to_thread(ecstoken.load_or_create, path)
        except CacheError as err:
            if err.message != self.error:
                log.warning("event=ecs_token_file_unsafe error=%r", err.message)
            self.error = err.message
            return
        except OSError as err:
            self.error = f"{path}: the ECS token file cannot be read ({err.strerror})"
            log.warning("event=ecs_token_file_unreadable error=%r", self.error)
            return
        if self.error is not None:
            self.error = None
            log.info("event=ecs_token_file_ok")
        if token != self._token:
            self._token = token
            log.info("event=ecs_token_changed_on_disk")
