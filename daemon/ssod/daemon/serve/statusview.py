"""What ``ssod status`` and ``ssod env`` show: the daemon's parts projected into replies.

Reads the state each part owns (the endpoints' addresses, the configuration keeper, the ECS
token keeper, the scoped tokens, the broker's sessions and profiles) and owns none itself but
the daemon's start time. Stable keys (documented for ``--json`` in ssod.client.output.render);
the only secret is the ECS token in the endpoint reply, which ``ssod env`` exists to print.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from ssod import endpointvars
from ssod.daemon.engine.broker import Broker
from ssod.daemon.engine.configkeeper import ConfigKeeper
from ssod.daemon.serve.ecs import EcsServer
from ssod.daemon.serve.imds import ImdsServer
from ssod.daemon.store.ecstokenkeeper import EcsTokenKeeper
from ssod.daemon.store.scopedstore import ScopedTokenStore
from ssod.daemon.store.tokencache import format_timestamp
from ssod.daemon.store.tokenstore import TokenStore
from ssod.replies import EndpointReply, ImdsInfo, StatusReply, TokenInfo
from ssod.version import __version__


class StatusView:
    """Builds the status and endpoint replies of one daemon."""

    def __init__(
        self,
        *,
        broker: Broker,
        config: ConfigKeeper,
        token: EcsTokenKeeper,
        scoped: ScopedTokenStore,
        ecs: EcsServer,
        imds: ImdsServer | None,
        started_by: str,
        ipc_endpoint: str,
        token_store: TokenStore,
    ) -> None:
        self._broker = broker
        self._config = config
        self._token = token
        self._scoped = scoped
        self._ecs = ecs
        self._imds = imds
        self._started_by = started_by
        self._ipc_endpoint = ipc_endpoint
        self._token_store = token_store
        self._started = time.time()
        self._started_mono = time.monotonic()

    async def status(self) -> StatusReply:
        """Everything ``ssod status`` shows; no secret. Tokens of ended commands are not shown."""
        await self._scoped.sweep()
        ecs, imds = self._ecs, self._imds
        loaded = self._config.loaded_at
        return {
            "daemon": {
                "version": __version__,
                "pid": os.getpid(),
                "started_by": self._started_by,
                "started_at": format_timestamp_epoch(self._started),
                "uptime_seconds": int(time.monotonic() - self._started_mono),
                "ecs_url": ecs.base_url,
                "ecs_urls": [ecs.base_url_on(h) for h in ecs.served],
                "ecs_waiting": ecs.waiting,
                "imds_url": imds.base_url if imds is not None else None,
                "imds_profile": imds.profile if imds is not None else None,
                "tokens_error": self._scoped.error,
                "tokens_unsaved": self._scoped.unsaved,
                "ipc": self._ipc_endpoint,
                "config_file": str(self._config.path),
                "config_loaded_at": format_timestamp_epoch(loaded) if loaded else None,
                "config_error": self._config.error,
                "ecs_token_error": self._token.error,
                "endpoints": endpointvars.configured(os.environ),
                "token_store": self._token_store.name,
                "token_store_where": self._token_store.where,
                "token_store_error": self._token_store.error,
            },
            **self._broker.status(),
            "tokens": [r.public() for r in self._scoped.live()],
        }

    async def tokens(self) -> list[TokenInfo]:
        """The live scoped tokens (those of ended commands swept first), free of secrets."""
        await self._scoped.sweep()
        return [r.public() for r in self._scoped.live()]

    def endpoint(self) -> EndpointReply:
        """What ``ssod env`` prints: the ECS base URL, the token file and the token.

        Also the other addresses served (``urls``: one base URL per address, 127.0.0.1
        first), the link-local ones not there yet (``waiting``), and the IMDS endpoint.
        """
        ecs = self._ecs
        return {
            "url": ecs.base_url,
            "port": ecs.port,
            "credentials_path": ecs.url_for("PROFILE").removeprefix(ecs.base_url),
            "token_file": str(self._token.path),
            "token": self._token.value,
            "urls": [ecs.base_url_on(h) for h in ecs.served],
            "waiting": ecs.waiting,
            **self._imds_info(),
        }

    def _imds_info(self) -> ImdsInfo:
        imds = self._imds
        if imds is None:
            return {"imds_url": None, "imds_urls": [], "imds_profile": None, "imds_waiting": []}
        return {
            "imds_url": imds.base_url,
            "imds_urls": [imds.base_url_on(h) for h in imds.served],
            "imds_profile": imds.profile,
            "imds_waiting": imds.waiting,
        }


def format_timestamp_epoch(epoch: float) -> str:
    """An epoch time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return format_timestamp(datetime.fromtimestamp(epoch, UTC))
