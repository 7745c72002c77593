"""Where ssod and the AWS tools keep their files: one function per location, no I/O but lookups.

AWS locations follow botocore (protocols.md section 3.1 and 8): the config file honours
``AWS_CONFIG_FILE`` with ``$VARS`` and ``~`` expanded, while the SSO token cache is always under
the home directory. ssod's own runtime directory (IPC socket, pid) is
``$SSOD_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/ssod``, else a per-user directory under the
system temp dir; its state directory (the ECS authorization token, which must survive
restarts) is ``$SSOD_STATE_DIR``, else ``$XDG_STATE_HOME/ssod``, else ``~/.local/state/ssod``
(``~/Library/Application Support/ssod`` on macOS).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

#: ZeroMQ's ipc:// path is a Unix socket path: keep it well under sun_path's ~104 bytes.
MAX_SOCKET_PATH = 100


def home() -> Path:
    """The user's home directory, as botocore finds it (``~`` expansion honours ``HOME``)."""
    return Path(os.path.expanduser("~"))


def aws_config_file() -> Path:
    """``AWS_CONFIG_FILE`` or ``~/.aws/config``, with ``$VARS`` and ``~`` expanded like botocore."""
    raw = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    return Path(os.path.expanduser(os.path.expandvars(raw)))


def sso_cache_dir() -> Path:
    """``~/.aws/sso/cache``: SSO tokens and client registrations (never follows AWS_CONFIG_FILE)."""
    return home() / ".aws" / "sso" / "cache"


def cli_cache_dir() -> Path:
    """``~/.aws/cli/cache``: the AWS CLI's cached role credentials."""
    return home() / ".aws" / "cli" / "cache"


def runtime_dir() -> Path:
    """The per-user directory holding the IPC socket (created 0700 by the daemon)."""
    explicit = os.environ.get("SSOD_RUNTIME_DIR")
    if explicit:
        return Path(os.path.expanduser(explicit))
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and sys.platform != "darwin":
        return Path(xdg) / "ssod"
    return Path(tempfile.gettempdir()) / f"ssod-{os.getuid()}"


def state_dir() -> Path:
    """The per-user directory for state that outlives the daemon (the ECS token)."""
    explicit = os.environ.get("SSOD_STATE_DIR")
    if explicit:
        return Path(os.path.expanduser(explicit))
    if sys.platform == "darwin":
        return home() / "Library" / "Application Support" / "ssod"
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else home() / ".local" / "state"
    return base / "ssod"


def ipc_socket_path() -> Path:
    """The Unix socket the daemon's ZeroMQ ROUTER binds."""
    return runtime_dir() / "ipc"


def ipc_endpoint() -> str:
    """The ZeroMQ endpoint for :func:`ipc_socket_path`."""
    return f"ipc://{ipc_socket_path()}"


def ecs_token_file() -> Path:
    """The file holding the ECS endpoint's authorization token (0600, no trailing newline)."""
    return state_dir() / "ecs-token"
