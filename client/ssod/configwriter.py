"""Edit ``~/.aws/config`` exactly as the AWS CLI's ``ConfigFileWriter`` does, and save it safely.

The pure part takes the file's text and one section's new values and returns the new text, as
``awscli/customizations/configure/writer.py`` would leave it (docs/protocols.md section 5.1): a
missing section is appended after at most one newline, existing keys are rewritten in place as
``key = value``, every other line and comment is kept. Two deliberate differences, both fixing
CLI bugs: ``[profile "a b"]`` matches the profile ``a b`` (the CLI appends a duplicate), and a
last line without a newline never gets a new key glued onto it. ``save`` writes atomically.
Nothing here talks to the daemon or prompts; reading the config as botocore maps it is in
``configview``.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ssod import atomicfile
from ssod.errors import ConfigError, ConfigParseError
from ssod.privatedir import make_private_dirs

# The CLI writer's own expressions: any "[...]" line ends a section, even indented (though only
# an unindented header is matched); an "option" is any line with a ':' or '=' after its first
# character, comments included.
_SECTION_RE = re.compile(r"^\s*\[(?P<header>[^]]+)\]")
_OPTION_RE = re.compile(r"(?P<option>[^:=][^:=]*)\s*(?P<vi>[:=])\s*(?P<value>.*)$")
_WHITESPACE = " \t"  # awscli/customizations/configure/__init__.py _WHITESPACE
_KEY_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Section:
    """A profile or sso-session section, by kind (``profile``/``sso-session``) and name."""

    kind: str
    name: str

    @property
    def header(self) -> str:
        """What goes between the brackets: ``default``, ``profile NAME`` or ``sso-session NAME``.

        Names with whitespace are shlex-quoted, as the CLI's ``get_section_header`` does.
        """
        if self.kind == "profile" and self.name == "default":
            return "default"
        name = shlex.quote(self.name) if any(c in _WHITESPACE for c in self.name) else self.name
        return f"{self.kind} {name}"

    def matches(self, bracketed: str) -> bool:
        """True if a header line's ``[...]`` (leading whitespace included) names this section."""
        if bracketed == f"[{self.header}]":
            return True
        return self.header != "default" and bracketed == f'[{self.kind} "{self.name}"]'


def profile(name: str) -> Section:
    """The section of profile ``name`` (``[default]`` for the default profile)."""
    return Section("profile", name)


def sso_session(name: str) -> Section:
    """The section of sso-session ``name``."""
    return Section("sso-session", name)


@dataclass(frozen=True)
class Update:
    """New values for one section, written in this order when they are new."""

    section: Section
    values: Mapping[str, str] = field(default_factory=dict)


def check_name(kind: str, name: str) -> None:
    """Raise ``ConfigError`` if botocore could not read back a section of this name."""
    if not name.strip():
        raise ConfigError(f"the {kind} name must not be empty")
    if name != name.strip():
        raise ConfigError(f"the {kind} name {name!r} must not start or end with whitespace")
    if any(c in name for c in "\r\n[]"):
        raise ConfigError(f"the {kind} name {name!r} must not contain brackets or line breaks")


def _check(update: Update) -> None:
    check_name(update.section.kind, update.section.name)
    for key, value in update.values.items():
        if not _KEY_RE.match(key):
            raise ConfigError(f"invalid config key {key!r}")
        # Like the CLI, never echo the value: it could be a secret.
        if "\n" in value or "\r" in value:
            raise ConfigError(f"the value for {key} must not contain line breaks")


def _lines(text: str) -> list[str]:
    # What readlines() in text mode gives: universal newlines, translated to "\n".
    parts = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _block(values: Mapping[str, str]) -> str:
    return "".join(f"{key} = {value}\n" for key, value in values.items())


def _find(lines: Sequence[str], section: Section) -> int | None:
    for i, line in enumerate(lines):
        if line.strip().startswith(("#", ";")):
            continue
        match = _SECTION_RE.search(line)
        if match is not None and section.matches(match.group(0)):
            return i
    return None


def update_text(text: str | None, update: Update) -> str:
    """The config text after writing one section's values; ``None`` means no file yet."""
    _check(update)
    if not text:
        return f"[{update.section.header}]\n" + _block(update.values)
    lines = _lines(text)
    start = _find(lines, update.section)
    if start is None:
        # The CLI appends to the file as it is (no newline translation here).
        sep = "" if text.endswith("\n") else "\n"
        return f"{text}{sep}[{update.section.header}]\n" + _block(update.values)
    pending = dict(update.values)
    last = start
    for j in range(start + 1, len(lines)):
        line = lines[j]
        if _SECTION_RE.search(line) is not None:
            lines.insert(last + 1, _block(pending))
            return "".join(lines)
        match = _OPTION_RE.search(line)
        if match is not None:
            last = j
            key = match.group(1).strip()
            if key in pending:
                lines[j] = f"{key} = {pending.pop(key)}\n"
    if pending:
        if not lines[-1].endswith("\n"):
            lines[-1] += "\n"  # the CLI appends a separate "\n" and may insert before it
        lines.insert(last + 2, _block(pending))
    return "".join(lines)


def apply(text: str | None, updates: Sequence[Update]) -> str:
    """The config text after writing each update in turn, as separate CLI writes would."""
    result = text
    for update in updates:
        result = update_text(result, update)
    return result or ""


def remove_section(text: str, section: Section) -> str:
    """``text`` without ``section``: its header line up to the next header (ssod's own cleanup)."""
    lines = _lines(text)
    start = _find(lines, section)
    if start is None:
        return text
    end = start + 1
    while end < len(lines) and _SECTION_RE.search(lines[end]) is None:
        end += 1
    return "".join(lines[:start] + lines[end:])


# -- the file ---------------------------------------------------------------------------


def load(path: Path) -> str | None:
    """The config file's text, or None if it does not exist; must be UTF-8."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigParseError("is not valid UTF-8", path=str(path), line=line) from None


def save(path: Path, text: str) -> None:
    """Replace the file atomically (``atomicfile``); 0600 if new, else keep its mode.

    A symlinked config (dotfile managers) stays a symlink: the target is written.
    """
    target = Path(os.path.realpath(path))
    try:
        make_private_dirs(target.parent)
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            mode = 0o600
        atomicfile.write(target, text.encode("utf-8"), mode=mode)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be written ({exc.strerror or exc})") from None
