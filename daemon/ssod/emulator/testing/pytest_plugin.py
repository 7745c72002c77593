"""pytest fixtures for ssod's tests and for users' tests (entry point ``ssod_emulator``).

``ssod_emulator`` (function scope) runs the emulator with its defaults on 127.0.0.1:0 in a
background thread and yields a ``BackgroundEmulator``: ``.url``, ``.env``, ``.calls()``,
``.reset_calls()``, ``.set_faults()``, ``.clear_faults()``, ``.approve()``,
``.revoke_refresh_tokens()``, ``.settings(**kw)``, ``.advance_clock()`` and ``.state``.
``ssod_emulator_factory(config=None, **overrides)`` starts more, each stopped at teardown.
Imports stay lazy so loading the plugin costs nothing in unrelated test runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ssod.emulator.config import EmulatorConfig
    from ssod.emulator.testing.background import BackgroundEmulator

Factory = Callable[..., "BackgroundEmulator"]


@pytest.fixture
def ssod_emulator_factory() -> Iterator[Factory]:
    """Start emulators with custom configs: ``factory(EmulatorConfig(...), latency=0.06)``."""
    from ssod.emulator.testing.background import start_emulator

    started: list[BackgroundEmulator] = []

    def factory(config: EmulatorConfig | None = None, **overrides: Any) -> BackgroundEmulator:
        handle = start_emulator(config, **overrides)
        started.append(handle)
        return handle

    yield factory
    for handle in started:
        handle.stop()


@pytest.fixture
def ssod_emulator(ssod_emulator_factory: Factory) -> BackgroundEmulator:
    """An emulator with the default directory and settings, for this test only."""
    return ssod_emulator_factory()
