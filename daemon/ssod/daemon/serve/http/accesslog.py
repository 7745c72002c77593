"""The access log of both HTTP endpoints: one line per request, never a token or a query.

Owns what a request line says (method, path without its query, status, time) and at which
level: refusals and errors at INFO, answered requests only at DEBUG, because every SDK process
makes one, and formatting and writing that line took 40% of the ECS hot path's CPU time
(bench/ecs_load.py, docs/performance.md). Each endpoint subclasses it with its event name.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

#: Longest path logged: a hostile client's megabyte path is cut.
MAX_LOGGED_PATH = 512


class AccessLog(AbstractAccessLogger):
    """One line per request under the event name in ``LINE``."""

    LINE: str = "event=http_request method=%s path=%s status=%d ms=%.1f"

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        level = logging.INFO if response.status >= 400 else logging.DEBUG
        if not self.logger.isEnabledFor(level):
            return
        self.logger.log(
            level,
            self.LINE,
            request.method,
            request.rel_url.raw_path[:MAX_LOGGED_PATH],
            response.status,
            time * 1000.0,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
