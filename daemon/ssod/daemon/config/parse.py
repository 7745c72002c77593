"""The ``~/.aws/config`` grammar, exactly as botocore 1.43 reads it (docs/protocols.md section 8).

Owns the step from text to plain sections: configparser's strict ``RawConfigParser`` (``=`` and
``:`` delimiters, full-line ``#``/``;`` comments, inline ``#`` kept, lower-cased keys,
``[DEFAULT]`` injected into every section), botocore's one-level nested values, and its
section-name mapping (``[default]``, ``[profile NAME]``, ``[sso-session NAME]`` and
``[services NAME]`` through ``shlex``). Unlike botocore it also keeps each section's line.
It knows nothing about SSO (that is ``awsconfig``) and does no I/O.
"""

from __future__ import annotations

import configparser
import io
import shlex
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeAlias

from ssod.errors import ConfigParseError

#: A key's value: a string, or a dict for a nested block (``s3 =`` then indented lines).
Value: TypeAlias = str | dict[str, str]


@dataclass(frozen=True)
class RawSection:
    """One ``[header]`` as botocore's ``raw_config_parse`` sees it, plus its header's line."""

    header: str
    line: int
    values: Mapping[str, Value]


@dataclass(frozen=True)
class SectionMap:
    """Sections sorted as botocore's ``build_profile_map`` does, keyed by their short name."""

    profiles: Mapping[str, RawSection]
    sso_sessions: Mapping[str, RawSection]
    services: Mapping[str, RawSection]
    other: Mapping[str, RawSection]


def parse_sections(text: str, path: str) -> list[RawSection]:
    """Parse config text into its sections in file order; raise ConfigParseError like botocore."""
    lines = _lines(text)
    parser = configparser.RawConfigParser()
    header_lines: dict[str, int] = {}
    try:
        parser.read_file(_track_headers(lines, parser, header_lines), source=path)
    except configparser.Error as exc:
        raise _parse_error(exc, path) from None
    sections: list[RawSection] = []
    for header in parser.sections():
        values: dict[str, Value] = {}
        for option in parser.options(header):
            value: str = parser.get(header, option)
            if value.startswith("\n"):
                values[option] = _parse_nested(value, path, lines, header_lines[header])
            else:
                values[option] = value
        sections.append(RawSection(header, header_lines[header], values))
    return sections


def build_section_map(sections: Iterable[RawSection]) -> SectionMap:
    """Sort sections into profiles, sso-sessions, services and the rest, as botocore does."""
    profiles: dict[str, RawSection] = {}
    sso_sessions: dict[str, RawSection] = {}
    services: dict[str, RawSection] = {}
    other: dict[str, RawSection] = {}
    for section in sections:
        # botocore tests only the prefix and the token count, so "[profiles x]" and
        # "[profile-a x]" are profile "x" too; a later section of the same name replaces the
        # earlier one wholesale (this is how "[default]" and "[profile default]" interact).
        header = section.header
        if header.startswith("profile"):
            _add_named(profiles, section)
        elif header.startswith("sso-session"):
            _add_named(sso_sessions, section)
        elif header.startswith("services"):
            _add_named(services, section)
        elif header == "default":
            profiles["default"] = section
        else:
            other[header] = section
    return SectionMap(profiles, sso_sessions, services, other)


def section_name(header: str) -> str | None:
    """The NAME in a ``[prefix NAME]`` header, or None when botocore would drop the section."""
    try:
        parts = shlex.split(header)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 else None


def _add_named(target: dict[str, RawSection], section: RawSection) -> None:
    name = section_name(section.header)
    if name is not None:
        target[name] = section


def _lines(text: str) -> list[str]:
    # botocore opens the file in text mode, so universal newlines turn \r\n and \r into \n;
    # only \n ends a line for configparser (other str.splitlines() boundaries do not).
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    return list(io.StringIO(normalised))


def _track_headers(
    lines: Iterable[str], parser: configparser.RawConfigParser, found: dict[str, int]
) -> Iterator[str]:
    for lineno, line in enumerate(lines, start=1):
        yield line
        # configparser asks for the next line only after it has handled this one, so a
        # section this line opened exists by now; an indented "[x]" continuing a value
        # matches the pattern but opens nothing.
        match = parser.SECTCRE.match(line.strip())
        if match:
            header = match.group("header")
            if header not in found and parser.has_section(header):
                found[header] = lineno


def _parse_nested(value: str, path: str, lines: list[str], section_line: int) -> dict[str, str]:
    # Mirrors botocore.configloader._parse_nested, including str.splitlines() and
    # splitting on the first "=" only (a ":" or bare word fails the whole file).
    parsed: dict[str, str] = {}
    for raw in value.splitlines():
        stripped = raw.strip()
        if not stripped:
            continue
        key, sep, rest = stripped.partition("=")
        if not sep:
            raise ConfigParseError(
                "a nested value line has no '=' (botocore expects indented 'key = value' lines)",
                path=path,
                line=_find_line(lines, stripped, section_line),
            )
        parsed[key.strip()] = rest.strip()
    return parsed


def _find_line(lines: list[str], fragment: str, start: int) -> int | None:
    # configparser does not keep value lines, so look for the fragment from the section
    # header on, then (for a value injected from [DEFAULT]) from the top of the file.
    for first in (start, 1):
        for index in range(first - 1, len(lines)):
            if fragment in lines[index]:
                return index + 1
    return None


def _parse_error(exc: configparser.Error, path: str) -> ConfigParseError:
    # Own messages, not configparser's: those quote whole lines, which may hold secrets.
    if isinstance(exc, configparser.DuplicateSectionError):
        return ConfigParseError(
            f"section [{exc.section}] appears more than once", path=path, line=exc.lineno
        )
    if isinstance(exc, configparser.DuplicateOptionError):
        return ConfigParseError(
            f"key '{exc.option}' appears more than once in [{exc.section}]",
            path=path,
            line=exc.lineno,
        )
    if isinstance(exc, configparser.MissingSectionHeaderError):
        if exc.line.startswith("\ufeff"):
            message = "the file starts with a UTF-8 byte-order mark, which botocore cannot read"
        else:
            message = "a line comes before the first [section] header"
        return ConfigParseError(message, path=path, line=exc.lineno)
    if isinstance(exc, configparser.ParsingError):
        first = exc.errors[0][0]
        more = len(exc.errors) - 1
        message = "line is not a [section] header, a 'key = value' pair or a comment"
        if more:
            message += f" ({more} more such line{'s' if more > 1 else ''} follow)"
        return ConfigParseError(message, path=path, line=first)
    return ConfigParseError(f"cannot be parsed ({type(exc).__name__})", path=path)
