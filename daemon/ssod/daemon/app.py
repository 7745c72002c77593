"""The daemon's composition root: builds every part from ``Settings`` and runs their lifecycle.

Start order: runtime directory and the single-instance locks (per runtime directory and
per HOME), ECS token and scoped tokens (those of
ended processes dropped), config, broker, ECS endpoint, IPC socket, watcher, the scoped-token
sweep, then ``READY=1`` to systemd. Stop order is the
reverse: stop accepting (IPC, ECS, watcher), let in-flight fetches and cache writes finish,
close AWS clients, remove the socket. SIGHUP reloads the config. A config that stops parsing
keeps the last good one in service and shows the error in status. The ECS token file is watched
too: a token written there is served, a file made unsafe is reported in status until it is
safe again, and a deleted file is replaced by a new token (as a restart would do).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ssod import daemonlock, endpointvars, paths
from ssod.daemon.aws.api import AwsApi, BotocoreAws
from ssod.daemon.aws.federation import FederationClient
from ssod.daemon.config import awsconfig
from ssod.daemon.config import save as configsave
from ssod.daemon.config.awsconfig import AwsConfig
from ssod.daemon.config.watcher import Watcher
from ssod.daemon.engine.broker import Broker
from ssod.daemon.engine.login import LoginManager
from ssod.daemon.engine.model import Clock, SystemClock
from ssod.daemon.engine.sessions import SessionSpec
from ssod.daemon.host.notify import DesktopNotifier
from ssod.daemon.host.ownership import check_home_ownership
from ssod.daemon.host.runtime import (
    InstanceLock,
    acquire_instance_lock,
    fast_socket_path,
    prepare_runtime_dir,
)
from ssod.daemon.serve.dispatch import Dispatcher
from ssod.daemon.serve.ecs import EcsServer
from ssod.daemon.serve.fastipc import FastServer
from ssod.daemon.serve.http.consolelinks import ConsoleLinks
from ssod.daemon.serve.imds import ImdsServer
from ssod.daemon.serve.ipc import IpcServer
from ssod.daemon.settings import Settings
from ssod.daemon.store import ecstoken
from ssod.daemon.store.cachefiles import (
    CliCacheDir,
    TokenCacheDir,
    ensure_private_dir,
    remove_stale_temp_files,
)
from ssod.daemon.store.scopedstore import SWEEP_SECONDS, ScopedTokenStore
from ssod.daemon.store.tokencache import format_timestamp
from ssod.errors import CacheError, ConfigError
from ssod.version import __version__

log = logging.getLogger("ssod.daemon")


class Daemon:
    """One running ssod daemon."""

    def __init__(
        self, settings: Settings, *, aws: AwsApi | None = None, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.aws: AwsApi = aws or BotocoreAws()
        self.clock = clock or SystemClock()
        self.notifier = DesktopNotifier(enabled=settings.notifications)
        self.cache = TokenCacheDir(settings.cache_dir)
        self.broker = Broker(
            self.aws,
            self.cache,
            CliCacheDir(settings.cli_cache_dir),
            self.clock,
            settings.policy,
            self.notifier,
        )
        self.logins = LoginManager(
            self.aws,
            self.cache,
            self.broker.sessions,
            self.clock,
            region_changed=self._save_sso_region,
        )
        self.federation = FederationClient(settings.ca_bundle)
        self.console_links = ConsoleLinks(self.clock)
        self._token = ""
        self.scoped = ScopedTokenStore(settings.scoped_tokens_file)
        self.ecs = EcsServer(
            self.broker,
            lambda: self._token,
            port=settings.ecs_port,
            scoped=self.scoped,
            listen=settings.ecs_listen,
            retry=settings.listen_retry,
        )
        self.imds: ImdsServer | None = None
        if settings.imds_profile is not None:
            self.imds = ImdsServer(
                self.broker,
                settings.imds_profile,
                lambda: self._region_of(settings.imds_profile),
                port=settings.imds_port,
                listen=settings.imds_listen,
                retry=settings.listen_retry,
            )
        dispatcher = Dispatcher(self)
        self.ipc = IpcServer(settings.ipc_endpoint, dispatcher)
        # credential_process and shell start-up: the same answers without pyzmq in the client.
        self.fast = FastServer(str(fast_socket_path(settings.runtime_dir)), dispatcher)
        self._config_changed = Rerun(self.reload)
        self._token_file_changed = Rerun(self.check_token_file)
        self.watcher = Watcher(
            settings.config_file,
            settings.cache_dir,
            self._config_changed,
            self.broker.sessions.cache_changed,
            files={settings.token_file: self._token_file_changed},
            debounce=settings.debounce,
        )
        self._lock: InstanceLock | None = None
        self._started = time.time()
        self._started_mono = time.monotonic()
        self._config_error: str | None = None
        self._token_error: str | None = None
        self._config_loaded_at: float | None = None
        self._stopped = asyncio.Event()
        self._sweeper: asyncio.Task[None] | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bring every part up; raises SsodError with a clear message if one cannot start."""
        check_home_ownership(paths.home())  # refuse `sudo ssod daemon` in someone's HOME
        prepare_runtime_dir(self.settings.runtime_dir)
        state_dir = self.settings.token_file.parent
        ensure_private_dir(state_dir)
        self._lock = acquire_instance_lock(
            self.settings.runtime_dir,
            self.settings.started_by,
            home_lock=daemonlock.home_lock_path(state_dir),
        )
        if self._lock.took_over:
            log.info("event=took_over from=autostart pid=%d", self._lock.took_over)
        try:
            self._token = await asyncio.to_thread(ecstoken.load_or_create, self.settings.token_file)
            await asyncio.to_thread(self.scoped.load)
            await self.scoped.sweep()  # the processes of bound tokens may have ended meanwhile
            await asyncio.to_thread(ensure_private_dir, self.settings.cache_dir)
            for directory in (self.settings.cache_dir, self.settings.cli_cache_dir):
                await asyncio.to_thread(remove_stale_temp_files, directory)
            await self.reload()
            await self.ecs.start()
            if self.imds is not None:
                await self.imds.start()
            await self.fast.start()
            await self.ipc.start()
            self.watcher.start()
            self._sweeper = asyncio.get_running_loop().create_task(
                self._sweep_tokens(), name="ssod-scoped-sweep"
            )
        except BaseException:
            await self.stop()
            raise
        log.info(
            "event=ready version=%s ecs=%s ipc=%s config=%s",
            __version__,
            self.ecs.base_url,
            self.settings.ipc_endpoint,
            self.settings.config_file,
        )
        sd_notify(b"READY=1")

    async def stop(self) -> None:
        """Stop accepting, finish in-flight work, release everything. Safe to call twice."""
        sd_notify(b"STOPPING=1")
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        self.watcher.stop()
        with contextlib.suppress(Exception):
            await self.ipc.stop()
        with contextlib.suppress(Exception):
            await self.fast.stop()
        with contextlib.suppress(Exception):
            await self.ecs.stop()
        if self.imds is not None:
            with contextlib.suppress(Exception):
                await self.imds.stop()
        await self.logins.close()
        await self.console_links.close()
        await self.broker.wait_idle()
        await self.broker.close()
        await self.notifier.drain()
        await self.federation.close()
        await self.aws.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        self._stopped.set()

    async def run(self) -> None:
        """Start, then serve until SIGTERM or SIGINT; SIGHUP reloads the config."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._config_changed)
        await self.start()
        try:
            await stop.wait()
            log.info("event=stopping")
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(signum)
            await self.stop()

    async def _sweep_tokens(self) -> None:
        """Every ``SWEEP_SECONDS``, drop the scoped tokens of processes that have ended."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.scoped.sweep()
            except Exception:  # a bug: say so, and keep serving
                log.exception("event=internal_error job=scoped_token_sweep")

    # -- configuration -------------------------------------------------------------------

    async def reload(self) -> None:
        """Re-read the config file and apply it; on error keep the last good one."""
        path = self.settings.config_file
        had_config = self.broker.config is not None
        self.watcher.follow_config()
        try:
            # botocore reads a missing file, a directory or a FIFO as an empty config; dropping
            # every profile for that would be worse than serving the last good ones.
            if had_config and not path.is_file():
                what = "is not a regular file" if path.exists() else "is gone"
                raise ConfigError(f"{path}: the file {what}; keeping the last good configuration")
            config = await asyncio.to_thread(awsconfig.load, path)
        except ConfigError as err:
            self._config_error = err.message
            log.warning("event=config_rejected error=%r", err.message)
            if not had_config:
                await self.broker.apply(AwsConfig.empty(str(path)))
            return
        self._config_error = None
        self._config_loaded_at = time.time()
        await self.broker.apply(config)
        for problem in config.problems:
            log.warning("event=config_problem error=%r", problem.message)

    async def _save_sso_region(self, spec: SessionSpec, region: str) -> None:
        """A login's start URL led to another region: write it, as ``aws sso login`` does."""
        config = self.broker.config
        if config is None:
            return
        path = self.settings.config_file
        if await asyncio.to_thread(configsave.save_sso_region, path, config, spec, region):
            log.info("event=sso_region_updated session=%s region=%s", spec.name, region)
            await self.reload()

    def config_info(self) -> dict[str, Any]:
        """The config file in service and its problems, for status and reload replies."""
        config = self.broker.config
        return {
            "config_error": self._config_error,
            "problems": [p.message for p in config.problems] if config else [],
            "profiles": len(config.profiles) if config else 0,
        }

    # -- endpoint and token --------------------------------------------------------------

    def endpoint_info(self) -> dict[str, Any]:
        """What ``ssod env`` prints: the ECS base URL, the token file and the token.

        Also the other addresses served (``urls``: one base URL per address, 127.0.0.1
        first), the link-local ones not there yet (``waiting``), and the IMDS endpoint.
        """
        return {
            "url": self.ecs.base_url,
            "port": self.ecs.port,
            "credentials_path": self.ecs.url_for("PROFILE").removeprefix(self.ecs.base_url),
            "token_file": str(self.settings.token_file),
            "token": self._token,
            "urls": [self.ecs.base_url_on(h) for h in self.ecs.served],
            "waiting": self.ecs.waiting,
            **self._imds_info(),
        }

    def _imds_info(self) -> dict[str, Any]:
        imds = self.imds
        if imds is None:
            return {"imds_url": None, "imds_urls": [], "imds_profile": None, "imds_waiting": []}
        return {
            "imds_url": imds.base_url,
            "imds_urls": [imds.base_url_on(h) for h in imds.served],
            "imds_profile": imds.profile,
            "imds_waiting": imds.waiting,
        }

    def _region_of(self, profile: str | None) -> str | None:
        config = self.broker.config
        found = config.profiles.get(profile) if config is not None and profile else None
        return found.region if found is not None else None

    async def rotate_token(self) -> None:
        """Replace the ECS token; shells that exported the old one must run `ssod env` again."""
        self._token = await asyncio.to_thread(ecstoken.rotate, self.settings.token_file)
        self._token_error = None
        log.info("event=ecs_token_rotated")

    async def check_token_file(self) -> None:
        """Re-read the ECS token file after it changed on disk.

        A token in a safe file is served (another ``ssod token rotate`` or a restore wrote it); an
        unsafe file keeps the token in memory serving and is reported until it is safe again; a
        deleted file gets a new token, as a restart would give.
        """
        path = self.settings.token_file
        try:
            token = await asyncio.to_thread(ecstoken.load_or_create, path)
        except CacheError as err:
            if err.message != self._token_error:
                log.warning("event=ecs_token_file_unsafe error=%r", err.message)
            self._token_error = err.message
            return
        except OSError as err:
            self._token_error = f"{path}: the ECS token file cannot be read ({err.strerror})"
            log.warning("event=ecs_token_file_unreadable error=%r", self._token_error)
            return
        if self._token_error is not None:
            self._token_error = None
            log.info("event=ecs_token_file_ok")
        if token != self._token:
            self._token = token
            log.info("event=ecs_token_changed_on_disk")

    # -- status --------------------------------------------------------------------------

    def status(self) -> Mapping[str, Any]:
        """Everything ``ssod status`` shows; no secret."""
        loaded = self._config_loaded_at
        return {
            "daemon": {
                "version": __version__,
                "pid": os.getpid(),
                "started_by": self.settings.started_by,
                "started_at": format_timestamp_epoch(self._started),
                "uptime_seconds": int(time.monotonic() - self._started_mono),
                "ecs_url": self.ecs.base_url,
                "ecs_urls": [self.ecs.base_url_on(h) for h in self.ecs.served],
                "ecs_waiting": self.ecs.waiting,
                "imds_url": self.imds.base_url if self.imds is not None else None,
                "imds_profile": self.imds.profile if self.imds is not None else None,
                "tokens_error": self.scoped.error,
                "ipc": self.settings.ipc_endpoint,
                "config_file": str(self.settings.config_file),
                "config_loaded_at": format_timestamp_epoch(loaded) if loaded else None,
                "config_error": self._config_error,
                "ecs_token_error": self._token_error,
                "endpoints": endpointvars.configured(os.environ),
            },
            **self.broker.status(),
            "tokens": [r.public() for r in self.scoped.live()],
        }


class Rerun:
    """Runs an async job when called; calls while it runs make one more run right after it."""

    def __init__(self, job: Callable[[], Awaitable[None]]) -> None:
        self._job = job
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def __call__(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await self._job()
            except Exception:  # a bug: say so, and keep serving
                log.exception("event=internal_error job=%r", getattr(self._job, "__name__", "?"))
            if not self._again:
                return


def format_timestamp_epoch(epoch: float) -> str:
    """An epoch time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return format_timestamp(datetime.fromtimestamp(epoch, UTC))


def sd_notify(message: bytes) -> None:
    """Tell systemd about our state when started as a Type=notify unit; no-op otherwise."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    target = "\0" + address[1:] if address.startswith("@") else address
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(target)
        sock.sendall(message)
