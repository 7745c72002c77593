"""The ``~/.aws/config`` model: which profiles and sso-sessions ssod can serve, and why not.

The config layer's entry point: ``load`` and ``parse`` build the immutable ``AwsConfig`` (the
types live in ``ssod.daemon.config.model`` and are re-exported here) with the validation
botocore 1.43 applies when it loads SSO and role-chaining credentials (``SSOProvider``,
``SSOTokenProvider``, ``AssumeRoleProvider``; docs/protocols.md sections 4.2, 4.3 and 8). A profile
botocore would refuse becomes a ``ProfileConfigError`` in ``problems`` and the rest is still
served; a profile that works but uses no IAM Identity Center (static keys, credential_process,
...) is listed in ``unserved``. Pure apart from reading the file in ``load``; the grammar is in
``ssod.daemon.config.parse``, the classification in ``ssod.daemon.config.rules``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ssod import paths
from ssod.daemon.config.model import AwsConfig, ChainedProfile, Profile, SsoProfile, SsoSession
from ssod.daemon.config.parse import (
    build_section_map,
    parse_sections,
)
from ssod.daemon.config.rules import resolve
from ssod.errors import ConfigParseError

__all__ = [
    "AwsConfig",
    "ChainedProfile",
    "Profile",
    "SsoProfile",
    "SsoSession",
    "load",
    "parse",
]


def parse(text: str, path: str) -> AwsConfig:
    """Build the model from config text; raise ConfigParseError if botocore would reject it."""
    return resolve(build_section_map(parse_sections(text, path)), path)


#: Larger config files are refused unparsed: ten thousand profiles take about 2 MiB, and 10 MiB
#: of profiles would keep the parser busy for twenty seconds and the model in memory for good.
MAX_CONFIG_BYTES = 4 << 20


def load(path: Path | None = None) -> AwsConfig:
    """Read and parse the config file (default: ``AWS_CONFIG_FILE`` or ``~/.aws/config``)."""
    target = path if path is not None else paths.aws_config_file()
    shown = str(target)
    # botocore treats anything that is not a regular file as an empty config.
    if not target.is_file():
        return AwsConfig.empty(shown)
    try:
        # Non-blocking, then checked again: a FIFO swapped in after is_file() must not hang us.
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return AwsConfig.empty(shown)
            data = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        # botocore would silently read nothing; refusing lets the daemon keep its old config.
        raise ConfigParseError(f"cannot be read ({exc.strerror})", path=shown) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigParseError(
            f"is larger than {MAX_CONFIG_BYTES >> 20} MiB; ssod does not parse files this large",
            path=shown,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigParseError("is not valid UTF-8", path=shown, line=line) from None
    return parse(text, shown)
