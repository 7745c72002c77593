"""A read-only view of ``~/.aws/config``: profiles and sso-sessions as botocore sees them.

Owns just enough of botocore's ``configloader`` (docs/protocols.md section 8) for the configure
wizard and ``ssod roles --write-profiles``: a strict ``RawConfigParser`` (duplicates are errors,
``[DEFAULT]`` keys reach every section, option names lower-cased) and ``build_profile_map``'s
section naming. Pure: text in, mappings out. The daemon keeps its own full model in
``ssod.daemon.config.awsconfig``; the client must not import it.
"""

from __future__ import annotations

import configparser
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from ssod.errors import ConfigParseError

Values = Mapping[str, str]


@dataclass(frozen=True)
class ConfigView:
    """Profiles and sso-sessions by name, each a mapping of (lower-case) key to raw value."""

    profiles: Mapping[str, Values] = field(default_factory=dict)
    sessions: Mapping[str, Values] = field(default_factory=dict)


def _named(section: str, prefix: str) -> str | None:
    # build_profile_map: shlex-split, and only exactly two tokens name something.
    try:
        parts = shlex.split(section)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 and parts[0] == prefix else None


def parse(text: str | None, path: str = "") -> ConfigView:
    """Map ``text`` as botocore would; raise ``ConfigParseError`` where botocore would fail."""
    if not text:
        return ConfigView()
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=path or "<config>")
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigParseError(message, path=path, line=line) from None
    profiles: dict[str, Values] = {}
    sessions: dict[str, Values] = {}
    for section in parser.sections():
        values = {key: parser.get(section, key) for key in parser.options(section)}
        if section.startswith("profile"):
            name = _named(section, "profile")
            if name is not None:
                profiles[name] = values
        elif section.startswith("sso-session"):
            name = _named(section, "sso-session")
            if name is not None:
                sessions[name] = values
        elif section == "default":
            profiles["default"] = values
    return ConfigView(profiles=profiles, sessions=sessions)


_CREDENTIALS_HEADER = re.compile(r"^\[(?P<name>.+)\]\s*$", re.MULTILINE)


def credential_profiles(text: str | None) -> set[str]:
    """Profile names the shared credentials file defines (every section name, verbatim)."""
    if not text:
        return set()
    return {m.group("name") for m in _CREDENTIALS_HEADER.finditer(text)} - {"DEFAULT"}
