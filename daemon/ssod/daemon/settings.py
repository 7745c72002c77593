"""The daemon's settings: flags, ``SSOD_*`` variables and defaults merged once, then frozen.

Every other module receives what it needs from ``Settings``; nothing reads the environment
behind the daemon's back (except botocore's standard endpoint and CA settings, on purpose; the
sign-in endpoint's are read here, as the same standard names).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from ssod import paths
from ssod.daemon.engine.schedule import RefreshPolicy
from ssod.daemon.serve.ecs import DEFAULT_ECS_PORT
from ssod.daemon.serve.http import listenpolicy
from ssod.daemon.serve.http.listeners import DEFAULT_RETRY
from ssod.daemon.serve.http.listenpolicy import ListenAddress
from ssod.daemon.store import tokenstore
from ssod.daemon.store.secrets import STORES, StoreName
from ssod.errors import BadRequest

#: Where the IMDS endpoint listens when enabled (``AWS_EC2_METADATA_SERVICE_ENDPOINT``).
DEFAULT_IMDS_PORT = 9180


@dataclass(frozen=True)
class Settings:
    """Everything the daemon is configured with."""

    config_file: Path
    cache_dir: Path
    cli_cache_dir: Path
    runtime_dir: Path
    token_file: Path
    scoped_tokens_file: Path
    ecs_port: int = DEFAULT_ECS_PORT
    #: Where this user's own ECS port is kept (``ecsport``); None: ``ecs_port`` exactly (given
    #: by ``--ecs-port`` or ``SSOD_ECS_PORT``), else ``ecs_port`` is only the preferred one.
    ecs_port_file: Path | None = None
    ecs_listen: tuple[ListenAddress, ...] = listenpolicy.addresses(
        listenpolicy.DEFAULT_ECS_LISTEN, "default"
    )
    #: The one profile the IMDS endpoint serves; None: no IMDS endpoint (the default).
    imds_profile: str | None = None
    imds_port: int = DEFAULT_IMDS_PORT
    imds_listen: tuple[ListenAddress, ...] = listenpolicy.addresses(
        listenpolicy.DEFAULT_IMDS_LISTEN, "default"
    )
    #: Seconds between attempts to listen on a link-local address that is not there yet.
    listen_retry: float = DEFAULT_RETRY
    policy: RefreshPolicy = field(default_factory=RefreshPolicy)
    notifications: bool = True
    debounce: float = 0.2
    #: The console sign-in (federation) endpoint's base URL instead of the partition's
    #: ``https://signin...`` host: ``AWS_ENDPOINT_URL_SIGNIN``, the SDKs' name for the Sign-In
    #: service's endpoint (the emulator sets it), unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
    signin_endpoint: str | None = None
    #: ``AWS_CA_BUNDLE``: the trust store for the sign-in endpoint, as botocore uses it for AWS.
    ca_bundle: str | None = None
    #: ``service``, ``autostart`` or ``foreground``: shown in status; a service takes over.
    started_by: str = "foreground"
    #: Where refresh tokens and client secrets live: ``shared`` (the AWS CLI's cache, complete),
    #: ``keyring`` (the OS keyring) or ``memory`` (this process only).
    token_store: StoreName = "shared"  # noqa: S105 (a store's name, not a secret)
    #: Seconds between attempts to reach a locked keyring.
    keyring_retry: float = tokenstore.DEFAULT_RETRY

    @property
    def ipc_endpoint(self) -> str:
        """The ZeroMQ endpoint inside the runtime directory."""
        return f"ipc://{self.runtime_dir / 'ipc'}"

    @classmethod
    def from_environment(
        cls,
        *,
        ecs_port: int | None = None,
        ecs_listen: str | None = None,
        imds_profile: str | None = None,
        imds_port: int | None = None,
        imds_listen: str | None = None,
        runtime_dir: str | None = None,
        token_margin: float | None = None,
        credential_margin: float | None = None,
        notifications: bool | None = None,
        started_by: str | None = None,
        token_store: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Flags win over ``SSOD_*`` variables, which win over defaults."""
        env = os.environ if environ is None else environ
        explicit = ecs_port is not None or bool(env.get("SSOD_ECS_PORT"))
        preferred = _int(env, "SSOD_ECS_PREFERRED_PORT", DEFAULT_ECS_PORT)
        port = ecs_port if ecs_port is not None else _int(env, "SSOD_ECS_PORT", preferred)
        if not 0 <= port <= 65535:
            raise BadRequest(f"ECS port {port} is out of range (0-65535)")
        ecs_where = _listen(ecs_listen, env, "--ecs-listen", "SSOD_ECS_LISTEN")
        imds = imds_profile if imds_profile is not None else env.get("SSOD_IMDS_PROFILE") or None
        i_port = imds_port if imds_port is not None else _int(env, "SSOD_IMDS_PORT", -1)
        i_listen = _listen(imds_listen, env, "--imds-listen", "SSOD_IMDS_LISTEN")
        if imds is None and (i_port != -1 or i_listen is not None):
            raise BadRequest(
                "--imds-port and --imds-listen need --imds-profile NAME (or SSOD_IMDS_PROFILE): "
                "the IMDS endpoint serves one profile"
            )
        i_port = DEFAULT_IMDS_PORT if i_port == -1 else i_port
        if not 0 <= i_port <= 65535:
            raise BadRequest(f"IMDS port {i_port} is out of range (0-65535)")
        retry = _float(env, "SSOD_LISTEN_RETRY")
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
        keyring_retry = _float(env, "SSOD_KEYRING_RETRY")
        return cls(
            config_file=paths.aws_config_file(),
            cache_dir=paths.sso_cache_dir(),
            cli_cache_dir=paths.cli_cache_dir(),
            runtime_dir=runtime,
            token_file=paths.ecs_token_file(),
            scoped_tokens_file=paths.scoped_tokens_file(),
            ecs_port=port,
            ecs_port_file=None if explicit else paths.ecs_port_file(),
            ecs_listen=ecs_where or cls.ecs_listen,
            imds_profile=imds,
            imds_port=i_port,
            imds_listen=i_listen or cls.imds_listen,
            listen_retry=retry if retry is not None else DEFAULT_RETRY,
            policy=policy,
            notifications=notify,
            signin_endpoint=_signin_endpoint(env),
            ca_bundle=env.get("AWS_CA_BUNDLE") or None,
            started_by=started_by or detect_started_by(env),
            token_store=_token_store(token_store, env),
            keyring_retry=keyring_retry if keyring_retry else tokenstore.DEFAULT_RETRY,
        )


def _token_store(flag: str | None, env: Mapping[str, str]) -> StoreName:
    raw = flag if flag is not None else env.get("SSOD_TOKEN_STORE") or "shared"
    for name in STORES:
        if raw == name:
            return name
    where = "--token-store" if flag is not None else "SSOD_TOKEN_STORE"
    raise BadRequest(f"{where}={raw!r}: use one of {', '.join(STORES)}")


def _signin_endpoint(env: Mapping[str, str]) -> str | None:
    if env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    return env.get("AWS_ENDPOINT_URL_SIGNIN") or None


def _listen(
    flag: str | None, env: Mapping[str, str], flag_name: str, variable: str
) -> tuple[ListenAddress, ...] | None:
    if flag is not None:
        return listenpolicy.parse(flag, flag_name)
    raw = env.get(variable)
    return listenpolicy.parse(raw, variable) if raw else None


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
