"""The ECS endpoint's authorization token file: create it once, read it, rotate it on request.

Shells export ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`` (or the token itself), so the token
must survive daemon restarts; only :func:`rotate` changes it. The file holds 256 random bits as
base64url, mode 0600, with no trailing newline (a newline breaks botocore and Go, docs/protocols.md
section 9 item 11). A file that others could read, that we do not own, or that is not a plain
token is refused with a :class:`~ssod.errors.CacheError`; nothing is repaired silently.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
from pathlib import Path

from ssod import atomicfile
from ssod.errors import CacheError
from ssod.privatedir import make_private_dirs

#: 32 random bytes: 256 bits, 43 base64url characters.
TOKEN_BYTES = 32

# A legal header value every SDK sends unchanged: visible ASCII, no spaces, no CR/LF.
_TOKEN_RE = re.compile(r"[\x21-\x7e]{32,1024}")
_MAX_READ = 4096


def new_token() -> str:
    """A fresh random token (base64url, 256 bits)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def load(path: Path) -> str:
    """The token in ``path``; raises FileNotFoundError, or CacheError if the file is unsafe."""
    # O_NOFOLLOW: a symlink planted at our path must not redirect us to someone else's file.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        if err.errno != errno.ELOOP:
            raise
        raise CacheError(f"{path}: the ECS token file is a symlink; not following it") from None
    try:
        st = os.fstat(fd)
        _check_safe(path, st)
        raw = os.read(fd, _MAX_READ)
    finally:
        os.close(fd)
    try:
        token = raw.decode("ascii")
    except UnicodeDecodeError:
        raise CacheError(f"{path}: the ECS token file is not ASCII text") from None
    if token != token.strip():
        raise CacheError(
            f"{path}: the ECS token file has leading or trailing whitespace (a newline breaks "
            "botocore and Go); delete it and restart ssod to get a new one"
        )
    if not _TOKEN_RE.fullmatch(token):
        raise CacheError(
            f"{path}: the ECS token file does not hold a token of 32 to 1024 visible ASCII "
            "characters; delete it to get a new one"
        )
    return token


def load_or_create(path: Path) -> str:
    """The token in ``path``, creating the file (0600, parent 0700) if it does not exist."""
    try:
        return load(path)
    except FileNotFoundError:
        pass
    token = new_token()
    try:
        _write(path, token, replace=False)
    except FileExistsError:
        # Another daemon created it between our read and our link: its token wins.
        return load(path)
    return token


def rotate(path: Path) -> str:
    """Replace the token in ``path`` with a fresh one and return it."""
    with contextlib.suppress(FileNotFoundError):
        load(path)  # refuse to overwrite a file that is not ours, as load_or_create would
    token = new_token()
    _write(path, token, replace=True)
    return token


def _check_safe(path: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise CacheError(f"{path}: the ECS token file is not a regular file")
    if st.st_uid != os.getuid():
        raise CacheError(
            f"{path}: the ECS token file is owned by uid {st.st_uid}, not by you; "
            "remove it and restart ssod"
        )
    if st.st_mode & 0o077:
        raise CacheError(
            f"{path}: the ECS token file is accessible to other users "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); anyone who can read it can fetch your AWS "
            "credentials. Delete it and restart ssod to get a new token"
        )


def _write(path: Path, token: str, *, replace: bool) -> None:
    """Write ``path`` atomically (parent 0700); without ``replace`` never clobber a file."""
    parent = path.parent
    make_private_dirs(parent)  # ~/.local and ~/.local/state too, when they are new
    atomicfile.write(path, token.encode("ascii"), replace=replace)
