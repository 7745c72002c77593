"""The daemon's composition root: builds every part from ``Settings`` and runs their lifecycle.

It owns no state of the daemon's own: the broker owns credentials and sessions, the
``ConfigKeeper`` the configuration in service, the ``EcsTokenKeeper`` the ECS token, the
``TokenStore`` where refresh tokens and client secrets live (``--token-store``), the
``StatusView`` what status shows, and the ``Dispatcher`` maps IPC operations onto them.

Start order: runtime directory and the single-instance locks (per runtime directory and per
HOME), ECS token and scoped tokens (those of
ended processes dropped), the token store (a keyring that cannot be reached stops the start),
config, broker, ECS endpoint, IPC socket, watcher, the scoped-token
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
import signal
from collections.abc import Awaitable, Callable

from ssod import daemonlock, paths
from ssod.atomicfile import ensure_private_dir
from ssod.daemon.aws.api import AwsApi, BotocoreAws
from ssod.daemon.aws.federation import FederationClient
from ssod.daemon.config.watcher import Watcher
from ssod.daemon.engine.broker import Broker
from ssod.daemon.engine.configkeeper import ConfigKeeper
from ssod.daemon.engine.discovery import Discovery
from ssod.daemon.engine.ekstokens import EksTokens
from ssod.daemon.engine.login import LoginManager
from ssod.daemon.engine.logout import Logout
from ssod.daemon.engine.model import Clock, SystemClock
from ssod.daemon.engine.roles import RoleLister
from ssod.daemon.engine.signin import ConsoleSignin
from ssod.daemon.host.notify import DesktopNotifier
from ssod.daemon.host.ownership import check_home_ownership
from ssod.daemon.host.runtime import (
    InstanceLock,
    acquire_instance_lock,
    fast_socket_path,
    prepare_runtime_dir,
)
from ssod.daemon.host.sdnotify import sd_notify
from ssod.daemon.serve import ecsport
from ssod.daemon.serve.dispatch import Dispatcher, Parts
from ssod.daemon.serve.ecs import EcsServer
from ssod.daemon.serve.fastipc import FastServer
from ssod.daemon.serve.http.consolelinks import ConsoleLinks
from ssod.daemon.serve.imds import ImdsServer
from ssod.daemon.serve.ipc import IpcServer
from ssod.daemon.serve.statusview import StatusView
from ssod.daemon.settings import Settings
from ssod.daemon.store import storechoice
from ssod.daemon.store.cachefiles import CliCacheDir, TokenCacheDir, remove_stale_temp_files
from ssod.daemon.store.ecstokenkeeper import EcsTokenKeeper
from ssod.daemon.store.scopedstore import SWEEP_SECONDS, ScopedTokenStore
from ssod.daemon.store.tokenstore import TokenStore
from ssod.errors import RuntimeDirError
from ssod.version import __version__

log = logging.getLogger("ssod.daemon")


class Daemon:
    """One running ssod daemon: its parts, wired together, and their start and stop."""

    def __init__(
        self, settings: Settings, *, aws: AwsApi | None = None, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.aws: AwsApi = aws or BotocoreAws()
        self.clock = clock or SystemClock()
        self.notifier = DesktopNotifier(enabled=settings.notifications)
        self.tokens = TokenStore(
            TokenCacheDir(settings.cache_dir),
            settings.token_store,
            storechoice.for_setting(settings.token_store),
            retry=settings.keyring_retry,
        )
        self.broker = Broker(self.aws, self.tokens, self.clock, settings.policy, self.notifier)
        self.config = ConfigKeeper(
            settings.config_file, self.broker, before_read=self._follow_config
        )
        self.logins = LoginManager(
            self.aws,
            self.tokens,
            self.broker.sessions,
            self.clock,
            region_changed=self.config.save_sso_region,
        )
        self.federation = FederationClient(settings.ca_bundle)
        self.console_links = ConsoleLinks(self.clock)
        self.token = EcsTokenKeeper(settings.token_file)
        self.scoped = ScopedTokenStore(settings.scoped_tokens_file)
        self.eks = EksTokens(self.broker, self.aws, self.clock)
        self.ecs = EcsServer(
            self.broker,
            lambda: self.token.value,
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
                lambda: self.config.region_of(settings.imds_profile),
                port=settings.imds_port,
                listen=settings.imds_listen,
                retry=settings.listen_retry,
            )
        dispatcher = Dispatcher(
            Parts(
                broker=self.broker,
                logins=self.logins,
                logout=Logout(
                    self.aws,
                    self.tokens,
                    CliCacheDir(settings.cli_cache_dir),
                    self.broker,
                    self.logins,
                    self.clock,
                    eks=self.eks,
                ),
                roles=RoleLister(self.aws, self.broker.sessions, self.clock),
                signin=ConsoleSignin(self.broker, self.federation, settings.signin_endpoint),
                discovery=Discovery(self.aws),
                config=self.config,
                token=self.token,
                scoped=self.scoped,
                view=StatusView(
                    broker=self.broker,
                    config=self.config,
                    token=self.token,
                    scoped=self.scoped,
                    ecs=self.ecs,
                    imds=self.imds,
                    started_by=settings.started_by,
                    ipc_endpoint=settings.ipc_endpoint,
                    token_store=self.tokens,
                ),
                console_links=self.console_links,
                eks=self.eks,
            )
        )
        self.ipc = IpcServer(settings.ipc_endpoint, dispatcher)
        # credential_process and shell start-up: the same answers without pyzmq in the client.
        self.fast = FastServer(str(fast_socket_path(settings.runtime_dir)), dispatcher)
        self._config_changed = Rerun(self.config.reload)
        self._token_file_changed = Rerun(self.token.check_file)
        self.watcher = Watcher(
            settings.config_file,
            settings.cache_dir,
            self._config_changed,
            self._cache_file_changed,
            files={settings.token_file: self._token_file_changed},
            debounce=settings.debounce,
        )
        self._lock: InstanceLock | None = None
        self._stopped = asyncio.Event()
        self._sweeper: asyncio.Task[None] | None = None
        self._sealing: set[asyncio.Task[bool]] = set()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bring every part up; raises SsodError with a clear message if one cannot start."""
        check_home_ownership(paths.home())  # refuse `sudo ssod daemon` in someone's HOME
        prepare_runtime_dir(self.settings.runtime_dir)
        state_dir = self.settings.token_file.parent
        try:
            ensure_private_dir(state_dir)
        except OSError as err:
            why = f"cannot create state directory {state_dir}: {err.strerror}"
            raise RuntimeDirError(why) from None
        self._lock = acquire_instance_lock(
            self.settings.runtime_dir,
            self.settings.started_by,
            home_lock=daemonlock.home_lock_path(state_dir),
        )
        if self._lock.took_over:
            log.info("event=took_over from=autostart pid=%d", self._lock.took_over)
        try:
            await self.token.load()
            await asyncio.to_thread(self.scoped.load)
            await self.scoped.sweep()  # the processes of bound tokens may have ended meanwhile
            await asyncio.to_thread(ensure_private_dir, self.settings.cache_dir)
            for directory in (self.settings.cache_dir, self.settings.cli_cache_dir):
                await asyncio.to_thread(remove_stale_temp_files, directory)
            # A keyring that cannot be reached stops the start here, with what is missing.
            await asyncio.to_thread(self.tokens.prepare, storechoice.leftover_keyring)
            await self.config.reload()
            await ecsport.start(self.ecs, self.settings.ecs_port_file, self.settings.ecs_port)
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
        await self.scoped.flush()
        await self.console_links.close()
        await self.broker.wait_idle()
        await self.eks.close()
        await self.broker.close()
        await self.notifier.drain()
        await self.federation.close()
        await self.aws.close()
        for task in list(self._sealing):
            with contextlib.suppress(Exception):
                await task
        await asyncio.to_thread(self.tokens.close)
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

    def _cache_file_changed(self, key: str) -> None:
        """A file in the SSO cache changed: a session's token, or a registration to seal."""
        sessions = self.broker.sessions
        if sessions.get(key) is not None:
            sessions.cache_changed(key)
        elif self.tokens.secrets is not None:
            task = asyncio.get_running_loop().create_task(
                asyncio.to_thread(self.tokens.seal_registration, key)
            )
            self._sealing.add(task)
            task.add_done_callback(self._sealing.discard)

    def _follow_config(self) -> None:
        """Before each read of the config file: let the watcher follow it (it may have moved)."""
        self.watcher.follow_config()

    async def _sweep_tokens(self) -> None:
        """Every ``SWEEP_SECONDS``, drop the scoped tokens of processes that have ended."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.scoped.sweep()
            except Exception:  # a bug: say so, and keep serving
                log.exception("event=internal_error job=scoped_token_sweep")


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
