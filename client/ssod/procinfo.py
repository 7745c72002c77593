"""What the operating system says about one process: does this pid run, and since when.

Owns the one read that ties a scoped token to a process (``ssod exec``'s command): on Linux
``/proc/PID/stat`` (its state, and field 22, the start time in clock ticks after boot, which
``exec`` keeps and a reused pid does not share); elsewhere on POSIX ``os.kill(pid, 0)``, which
says only whether the pid exists. ``parse_stat`` is pure; ``look`` and ``start_time`` are the
edge. Whether a token's process is still *its* process is decided in ``ssod.scoped.alive``.
"""

from __future__ import annotations

import os
import sys
from typing import Final, NamedTuple

#: ``/proc/PID/stat`` states of a process that has exited (zombie: not yet reaped; dead).
_EXITED: Final = frozenset("ZXx")
#: Field 22 (start time) counted from field 3, the first after the ``(comm)`` field.
_START_FIELD: Final = 22 - 3


class Seen(NamedTuple):
    """One look at a pid: is a process running there, and its start time when known."""

    running: bool
    #: ``/proc/PID/stat`` field 22 (Linux); None where the system does not tell.
    started: int | None = None
    #: False when the look could not tell at all (no way to ask here): treated as running.
    known: bool = True


GONE: Final = Seen(running=False)
UNKNOWN: Final = Seen(running=True, known=False)


def parse_stat(text: str) -> Seen:
    """``/proc/PID/stat`` as a ``Seen``; ``UNKNOWN`` if the line is not in the known format.

    The command name (field 2) is in parentheses and may itself hold spaces and ``)``: the
    fields after it start after the *last* ``)``.
    """
    _, paren, rest = text.rpartition(")")
    fields = rest.split()
    if not paren or len(fields) <= _START_FIELD or not fields[_START_FIELD].isdigit():
        return UNKNOWN
    if fields[0] in _EXITED:
        return GONE
    return Seen(running=True, started=int(fields[_START_FIELD]))


def look(pid: int) -> Seen:
    """What this system says about ``pid`` right now (a file read or a signal-0 call)."""
    if pid <= 0:
        return GONE
    if sys.platform.startswith("linux"):
        seen = _look_in_proc(pid)
        if seen is not None:
            return seen
    if os.name != "posix":
        return UNKNOWN  # os.kill(pid, 0) would terminate the process on Windows
    return _signal_zero(pid)


def _look_in_proc(pid: int) -> Seen | None:
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
        try:
            data = os.read(fd, 4096)
        finally:
            os.close(fd)
        return parse_stat(data.decode("ascii", "replace"))
    except (FileNotFoundError, ProcessLookupError):
        return GONE
    except OSError:
        return None  # /proc hidden (hidepid) or not mounted: ask the kernel the other way


def _signal_zero(pid: int) -> Seen:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return GONE
    except PermissionError:
        return Seen(running=True)  # it exists, under another user
    except OSError:
        return UNKNOWN
    return Seen(running=True)


def start_time(pid: int) -> int | None:
    """``pid``'s start time as ``/proc`` gives it (Linux), else None."""
    seen = look(pid) if sys.platform.startswith("linux") else UNKNOWN
    return seen.started if seen.running else None
