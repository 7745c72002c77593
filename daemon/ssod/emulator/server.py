"""The emulator's aiohttp application and its lifecycle: ``Emulator`` and ``RunningEmulator``.

Owns the app wiring (one app serves sso-oidc, the portal, STS, the federation endpoint, EKS and
the control API; their routes do not collide) and each EKS cluster's Kubernetes API stub. The
per-call prologue every AWS operation goes through (count, added latency, faults) and the clock
the state reads are ``prologue``'s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aiohttp import web

from ssod.emulator import control, eks, oidc, portal, signin, sts
from ssod.emulator.config import EmulatorConfig
from ssod.emulator.prologue import CLOCK, STATE, ShiftableClock, aws_middleware
from ssod.emulator.state import EmulatorState


def build_app(state: EmulatorState, clock: ShiftableClock) -> web.Application:
    """The aiohttp application serving every emulated endpoint."""
    app = web.Application(
        middlewares=[control.owner_only_middleware, aws_middleware, control.bad_request_middleware]
    )
    app[STATE] = state
    app[CLOCK] = clock
    oidc.add_routes(app)
    portal.add_routes(app)
    sts.add_routes(app)
    signin.add_routes(app)
    eks.add_routes(app)
    control.add_routes(app)
    return app


class RunningEmulator:
    """A serving emulator: its URL, the endpoint variables, and direct access to its state."""

    def __init__(self, state: EmulatorState, clock: ShiftableClock, host: str, port: int) -> None:
        self.state = state
        self.clock = clock
        self.host = host
        self.port = port
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
        shown = f"[{shown}]" if ":" in shown else shown
        self.url = f"http://{shown}:{port}"

    @property
    def env(self) -> dict[str, str]:
        """The ``AWS_ENDPOINT_URL_*`` variables that point AWS clients (and ssod) here."""
        return endpoint_env(self.url)

    def calls(self) -> dict[str, int]:
        """Calls per operation (and ``CreateToken:<grant>``) since the last reset."""
        return dict(self.state.calls)

    def reset_calls(self) -> None:
        """Zero the call counters."""
        self.state.calls.clear()


def endpoint_env(url: str) -> dict[str, str]:
    """The endpoint variables for an emulator at ``url``."""
    return {
        "AWS_ENDPOINT_URL_SSO_OIDC": url,
        "AWS_ENDPOINT_URL_SSO": url,
        "AWS_ENDPOINT_URL_STS": url,
        "AWS_ENDPOINT_URL_SIGNIN": url,
        "AWS_ENDPOINT_URL_EKS": url,
    }


class Emulator:
    """The IAM Identity Center emulator: ``async with Emulator(cfg).serve() as running``."""

    def __init__(
        self, config: EmulatorConfig | None = None, *, now: Callable[[], float] = time.time
    ) -> None:
        self.clock = ShiftableClock(now)
        self.state = EmulatorState(config or EmulatorConfig(), self.clock)

    def app(self) -> web.Application:
        """A fresh aiohttp application over this emulator's state."""
        return build_app(self.state, self.clock)

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[RunningEmulator]:
        """Serve until the block exits; yields the running emulator."""
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await runner.setup()
        kube: list[web.AppRunner] = []
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound = runner.addresses[0][1]
            kube = await self._serve_clusters()
            yield RunningEmulator(self.state, self.clock, host, int(bound))
        finally:
            for cluster in kube:
                await cluster.cleanup()
            await runner.cleanup()

    async def _serve_clusters(self) -> list[web.AppRunner]:
        """A Kubernetes API stub per EKS cluster, on HTTPS at 127.0.0.1 (kubectl needs TLS)."""
        from ssod.emulator import kubeapi, kubetls

        clusters = self.state.config.directory.clusters
        if not clusters or not kubetls.available():
            return []
        tls = await asyncio.to_thread(kubetls.server_tls)
        self.state.kube_ca = tls.certificate_pem
        runners = []
        for name in clusters:
            runner = web.AppRunner(
                kubeapi.build_app(self.state, name), access_log=None, handle_signals=False
            )
            await runner.setup()
            runners.append(runner)
            await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls.context).start()
            self.state.kube_endpoints[name] = f"https://127.0.0.1:{runner.addresses[0][1]}"
        return runners
