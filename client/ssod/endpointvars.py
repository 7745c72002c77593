"""The ``AWS_ENDPOINT_URL*`` variables: which endpoints a process sends its AWS calls to.

A daemon started before a shell set the emulator's variables keeps calling real AWS (and the
other way round). The daemon reports the variables it was started with (``ssod status``
shows them); a client compares its own and says when they differ. Owns which variables count,
how they are shown (any ``user:password@`` is dropped) and the comparison. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

PREFIX = "AWS_ENDPOINT_URL"


def _shown(url: str) -> str:
    """``url`` without user information (a proxy-style ``user:secret@`` never reaches status)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(not a URL)"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def configured(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>`` variables set, sorted."""
    return {
        name: _shown(value)
        for name, value in sorted(environ.items())
        if value and (name == PREFIX or name.startswith(PREFIX + "_"))
    }


def differences(daemon: Mapping[str, object], environ: Mapping[str, str]) -> list[str]:
    """The variables whose value in ``environ`` differs from the daemon's, as ``NAME`` words."""
    mine = configured(environ)
    theirs = {k: str(v) for k, v in daemon.items()}
    return sorted(
        name for name in mine.keys() | theirs.keys() if mine.get(name) != theirs.get(name)
    )


def mismatch_note(daemon: Mapping[str, object], environ: Mapping[str, str]) -> str | None:
    """What to tell a client whose endpoints differ from the daemon's, or ``None``."""
    names = differences(daemon, environ)
    if not names:
        return None
    return (
        f"the daemon uses other AWS endpoints than this shell ({', '.join(names)} differ: "
        "`ssod status` shows the daemon's); to use this shell's, restart it from here: "
        "`ssod stop`, then any ssod command"
    )
