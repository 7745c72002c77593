"""Run an emulator on its own event loop in a background thread, for synchronous callers.

``EmulatorThread`` is what the pytest fixture uses: the emulator serves from the thread's loop,
and the caller drives it over HTTP (``EmulatorRemote``) so no state is shared across threads
except for reads of ``.state``. ``stop()`` shuts the server down cleanly and joins the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from ssod.emulator.config import EmulatorConfig
from ssod.emulator.server import Emulator, RunningEmulator
from ssod.emulator.state import EmulatorState
from ssod.emulator.testing.remote import EmulatorRemote


class BackgroundEmulator(EmulatorRemote):
    """A handle on an emulator running in a background thread."""

    def __init__(self, running: RunningEmulator, thread: EmulatorThread) -> None:
        super().__init__(running.url)
        self.running = running
        self._thread = thread

    @property
    def state(self) -> EmulatorState:
        """The emulator's state (read it; change it through the control methods)."""
        return self.running.state

    def stop(self) -> None:
        """Stop serving and join the thread."""
        self._thread.stop()


class EmulatorThread:
    """Owns the thread and loop an emulator runs on."""

    def __init__(self, config: EmulatorConfig | None = None, host: str = "127.0.0.1") -> None:
        self._emulator = Emulator(config)
        self._host = host
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._running: RunningEmulator | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ssod-emulator", daemon=True)

    def start(self, timeout: float = 10.0) -> BackgroundEmulator:
        """Start serving; returns once the port is bound."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the emulator did not start")
        if self._error is not None or self._running is None:
            self._thread.join()
            raise RuntimeError("the emulator failed to start") from self._error
        return BackgroundEmulator(self._running, self)

    def stop(self) -> None:
        """Stop serving and wait for the thread (idempotent)."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already finished
                loop.call_soon_threadsafe(stopping.set)
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            async with self._emulator.serve(self._host, 0) as running:
                self._running = running
                self._ready.set()
                await self._stopping.wait()
        except Exception as err:  # reported to start()
            self._error = err
        finally:
            self._ready.set()


def start_emulator(config: EmulatorConfig | None = None, **overrides: Any) -> BackgroundEmulator:
    """Start an emulator in a background thread; ``overrides`` replace config fields."""
    import dataclasses

    cfg = dataclasses.replace(config or EmulatorConfig(), **overrides)
    return EmulatorThread(cfg).start()
