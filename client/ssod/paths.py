"""Where ssod and the AWS tools keep their files: one function per location, no I/O but lookups.

AWS locations follow botocore (docs/protocols.md section 3.1 and 8): the config file honours
``AWS_CONFIG_FILE`` with ``$VARS`` and ``~`` expanded, while the SSO token cache is always under
the home directory. ssod's own runtime directory (IPC socket, pid) is
``$SSOD_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/ssod``, else a per-user directory under the
system temp dir; its state directory (the ECS authorization token and port, which must
survive restarts) is ``$SSOD_STATE_DIR``, else ``$XDG_STATE_HOME/ssod``, else
``~/.local/state/ssod`` (``~/Library/Application Support/ssod`` on macOS). ``pathlib`` and
``tempfile`` are imported inside the functions that need them: every ``ssod`` command imports
this module, and ``ssod credentials`` needs only the IPC endpoint.
"""

from __future__ import annotations

import os
import sys

#: ``typing.TYPE_CHECKING`` without importing ``typing`` (milliseconds on the fast path); mypy
#: treats any name spelled so as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

#: ZeroMQ's ipc:// path is a Unix socket path: keep it well under sun_path's ~104 bytes.
MAX_SOCKET_PATH = 100


def home() -> Path:
    """The user's home directory, as botocore finds it (``~`` expansion honours ``HOME``)."""
    from pathlib import Path

    return Path(os.path.expanduser("~"))


def aws_config_file() -> Path:
    """``AWS_CONFIG_FILE`` or ``~/.aws/config``, with ``$VARS`` and ``~`` expanded like botocore."""
    from pathlib import Path

    raw = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    return Path(os.path.expanduser(os.path.expandvars(raw)))


def sso_cache_dir() -> Path:
    """``~/.aws/sso/cache``: SSO tokens and client registrations (never follows AWS_CONFIG_FILE)."""

    return home() / ".aws" / "sso" / "cache"


def cli_cache_dir() -> Path:
    """``~/.aws/cli/cache``: the AWS CLI's cached role credentials."""

    return home() / ".aws" / "cli" / "cache"


def _runtime_dir_name() -> str:
    explicit = os.environ.get("SSOD_RUNTIME_DIR")
    if explicit:
        return os.path.expanduser(explicit)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and sys.platform != "darwin":
        return os.path.join(xdg, "ssod")
    import tempfile  # only here: it costs the client several milliseconds of start-up

    return os.path.join(tempfile.gettempdir(), f"ssod-{os.getuid()}")


def runtime_dir() -> Path:
    """The per-user directory holding the IPC socket (created 0700 by the daemon)."""
    from pathlib import Path

    return Path(_runtime_dir_name())


def state_dir() -> Path:
    """The per-user directory for state that outlives the daemon (the ECS token)."""
    from pathlib import Path

    explicit = os.environ.get("SSOD_STATE_DIR")
    if explicit:
        return Path(os.path.expanduser(explicit))
    if sys.platform == "darwin":
        return home() / "Library" / "Application Support" / "ssod"
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else home() / ".local" / "state"
    return base / "ssod"


def ipc_endpoint() -> str:
    """The ZeroMQ endpoint: the Unix socket ``ipc`` in the runtime directory (no pathlib)."""
    return "ipc://" + os.path.join(_runtime_dir_name(), "ipc")


def runtime_dir_name() -> str:
    """:func:`runtime_dir` as a string, without importing pathlib (the fast path)."""
    return _runtime_dir_name()


def ecs_token_file() -> Path:
    """The file holding the ECS endpoint's authorization token (0600, no trailing newline)."""
    return state_dir() / "ecs-token"


def ecs_port_file() -> Path:
    """The ECS port this user's daemon listens on when none is named (``ecsport``)."""
    return state_dir() / "ecs-port"


def scoped_tokens_file() -> Path:
    """The file holding the SHA-256 digests of the live scoped tokens (0600), beside the token."""
    return state_dir() / "scoped-tokens.json"
