"""The configuration in service: reading ~/.aws/config, keeping the last good one, writing back.

``reload`` re-reads the file and hands it to the broker; a file that stops parsing (or is gone,
or is no longer a regular file) keeps the last good configuration in service and its error in
``error`` until a good one is read. ``save_sso_region`` writes the region a login's start URL
led to, as ``aws sso login`` does, then reloads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from ssod.daemon.config import awsconfig
from ssod.daemon.config import save as configsave
from ssod.daemon.config.awsconfig import AwsConfig
from ssod.daemon.engine.broker import Broker
from ssod.daemon.engine.sessions import SessionSpec
from ssod.errors import ConfigError
from ssod.replies import ConfigInfo

log = logging.getLogger("ssod.daemon")


class ConfigKeeper:
    """Owns the config file's path, its last error and when it was last applied."""

    def __init__(self, path: Path, broker: Broker, *, before_read: Callable[[], None]) -> None:
        self.path = path
        self._broker = broker
        #: Called before every read (the watcher follows a config file that moved or appeared).
        self._before_read = before_read
        self.error: str | None = None
        self.loaded_at: float | None = None

    async def reload(self) -> None:
        """Re-read the config file and apply it; on error keep the last good one."""
        path = self.path
        had_config = self._broker.config is not None
        self._before_read()
        try:
            # botocore reads a missing file, a directory or a FIFO as an empty config; dropping
            # every profile for that would be worse than serving the last good ones.
            if had_config and not path.is_file():
                what = "is not a regular file" if path.exists() else "is gone"
                raise ConfigError(f"{path}: the file {what}; keeping the last good configuration")
            config = await asyncio.to_thread(awsconfig.load, path)
        except ConfigError as err:
            self.error = err.message
            log.warning("event=config_rejected error=%r", err.message)
            if not had_config:
                await self._broker.apply(AwsConfig.empty(str(path)))
            return
        self.error = None
        self.loaded_at = time.time()
        await self._broker.apply(config)
        for problem in config.problems:
            log.warning("event=config_problem error=%r", problem.message)

    async def save_sso_region(self, spec: SessionSpec, region: str) -> None:
        """A login's start URL led to another region: write it, as ``aws sso login`` does."""
        config = self._broker.config
        if config is None:
            return
        if await asyncio.to_thread(configsave.save_sso_region, self.path, config, spec, region):
            log.info("event=sso_region_updated session=%s region=%s", spec.name, region)
            await self.reload()

    def info(self) -> ConfigInfo:
        """The config file in service and its problems, for status and reload replies."""
        config = self._broker.config
        return {
            "config_error": self.error,
            "problems": [p.message for p in config.problems] if config else [],
            "profiles": len(config.profiles) if config else 0,
        }

    def region_of(self, profile: str | None) -> str | None:
        """The ``region`` of ``profile`` in the configuration in service, if it has one."""
        config = self._broker.config
        found = config.profiles.get(profile) if config is not None and profile else None
        return found.region if found is not None else None
