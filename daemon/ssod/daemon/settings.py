"""The daemon's settings: flags, ``SSOD_*`` variables and defaults merged once, then frozen.

Every other module receives what it needs from ``Settings``; nothing reads the environment
behind the daemon's back (except botocore's standard endpoint and CA settings, on purpose).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from ssod import paths
from ssod.daemon.ecs import DEFAULT_ECS_PORT
from ssod.daemon.schedule import RefreshPolicy
from ssod.errors import BadRequest


@dataclass(frozen=True)
class Settings:
    """Everything the daemon is configured with."""

    config_file: Path
    cache_dir: Path
    cli_cache_dir: Path
    runtime_dir: Path
    token_file: Path
    ecs_port: int = DEFAULT_ECS_PORT
    policy: RefreshPolicy = field(default_factory=RefreshPolicy)
    notifications: bool = True
    debounce: float = 0.2
    #: ``service``, ``autostart`` or ``foreground``: shown in status; a service takes over.
    started_by: str = "foreground"

    @property
    def ipc_endpoint(self) -> str:
        """The ZeroMQ endpoint inside the runtime directory."""
        return f"ipc://{self.runtime_dir / 'ipc'}"

    @classmethod
    def from_environment(
        cls,
        *,
        ecs_port: int | None = None,
        runtime_dir: str | None = None,
        token_margin: float | None = None,
        credential_margin: float | None = None,
        notifications: bool | None = None,
        started_by: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Flags win over ``SSOD_*`` variables, which win over defaults."""
        env = os.environ if environ is None else environ
        port = ecs_port if ecs_port is not None else _int(env, "SSOD_ECS_PORT", DEFAULT_ECS_PORT)
        if not 0 <= port <= 65535:
            raise BadRequest(f"ECS port {port} is out of range (0-65535)")
        runtime = Path(runtime_dir).expanduser() if runtime_dir else paths.runtime_dir()
        defaults = RefreshPolicy()
        token = token_margin if token_margin is not None else _float(env, "SSOD_TOKEN_MARGIN")
        creds = (
            credential_margin
            if credential_margin is not None
            else _float(env, "SSOD_CREDENTIAL_MARGIN")
        )
        policy = RefreshPolicy(
            token_margin=timedelta(seconds=token) if token is not None else defaults.token_margin,
            credential_margin=(
                timedelta(seconds=creds) if creds is not None else defaults.credential_margin
            ),
        )
        notify = notifications if notifications is not None else env.get("SSOD_NOTIFY") != "0"
        return cls(
            config_file=paths.aws_config_file(),
            cache_dir=paths.sso_cache_dir(),
            cli_cache_dir=paths.cli_cache_dir(),
            runtime_dir=runtime,
            token_file=paths.ecs_token_file(),
            ecs_port=port,
            policy=policy,
            notifications=notify,
            started_by=started_by or detect_started_by(env),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name}={raw!r} is not a whole number") from None


def _float(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{name}={raw!r} is not a number of seconds") from None
    if value < 0:
        raise BadRequest(f"{name} must not be negative")
    return value


def detect_started_by(environ: Mapping[str, str]) -> str:
    """``service`` under a systemd unit or ssod's launchd agent, else ``foreground``.

    Units that ``ssod service install`` writes say ``--started-by service``; this covers units
    written by older versions: systemd gives every service an ``INVOCATION_ID``, launchd sets
    ``XPC_SERVICE_NAME`` to the agent's label.
    """
    if environ.get("INVOCATION_ID"):
        return "service"
    if environ.get("XPC_SERVICE_NAME", "").startswith("io.ssod."):
        return "service"
    return "foreground"
