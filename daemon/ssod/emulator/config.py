"""``EmulatorConfig``: every knob of the emulator, and applying a partial update to it.

The config is frozen; the running emulator swaps in a new one when the control API or a test
changes a setting. Durations are seconds. Pure: no aiohttp.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ssod.emulator.data import Directory, default_directory

DAY = 86400


@dataclass(frozen=True)
class EmulatorConfig:
    """Lifetimes, approval behaviour, latency and the directory the emulator serves."""

    token_lifetime: int = 8 * 3600
    credential_lifetime: int = 3600
    registration_lifetime: int = 90 * DAY
    refresh_rotation: bool = True
    # Real IAM Identity Center issues refresh tokens only to clients registered with scopes.
    refresh_without_scopes: bool = False
    auto_approve: bool = True
    approve_delay: float = 1.0
    device_expires_in: int = 600
    device_interval: int = 1
    code_lifetime: int = 300
    page_size: int = 1
    latency: float = 0.0
    directory: Directory = field(default_factory=default_directory)


# Settings the control API may change (everything but the directory).
_TYPES: dict[str, type] = {
    "token_lifetime": int,
    "credential_lifetime": int,
    "registration_lifetime": int,
    "refresh_rotation": bool,
    "refresh_without_scopes": bool,
    "auto_approve": bool,
    "approve_delay": float,
    "device_expires_in": int,
    "device_interval": int,
    "code_lifetime": int,
    "page_size": int,
    "latency": float,
}


def update_config(config: EmulatorConfig, changes: dict[str, Any]) -> EmulatorConfig:
    """A copy of ``config`` with ``changes`` applied; raises ValueError on unknown or bad keys."""
    values: dict[str, Any] = {}
    for key, value in changes.items():
        kind = _TYPES.get(key)
        if kind is None:
            raise ValueError(f"unknown setting {key!r}")
        if kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"setting {key!r} must be true or false")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"setting {key!r} must be a number")
        elif value < 0 or (key == "page_size" and value < 1):
            raise ValueError(f"setting {key!r} is out of range")
        values[key] = kind(value)
    return dataclasses.replace(config, **values)


def settings_dict(config: EmulatorConfig) -> dict[str, Any]:
    """The changeable settings as JSON-ready values."""
    return {key: getattr(config, key) for key in _TYPES}
