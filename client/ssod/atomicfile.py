"""The one way ssod writes a file: whole or not at all, private, durable, never through a link.

Every file ssod writes (the SSO token cache, the CLI's credential cache, the ECS token, the
scoped-token store, ``~/.aws/config``, service units, the docker env file, the emulator's port
file) goes through :func:`write`:

1. the parent directory is opened once and every step below is relative to that descriptor,
   so the temp file and the target cannot end up in different directories;
2. a temp file with a fresh random name (``.ssod-*.tmp``: hidden, never ``*.json``, so
   ``aws sso logout`` and the cache sweeps skip it) is created with ``O_EXCL | O_NOFOLLOW``,
   so a link or file planted under that name is never opened;
3. its mode is set (``fchmod``, whatever the umask) before any data is written;
4. the data is written and ``fsync``-ed;
5. it is renamed over the target (or, with ``replace=False``, hard-linked to it, which fails
   with ``FileExistsError`` instead of overwriting); a rename replaces a symlink at the target
   with a regular file, so nothing is ever written through a link to elsewhere;
6. the directory is ``fsync``-ed, so the rename survives a power cut.

On any error, ``KeyboardInterrupt`` included, the temp file is removed and the error raised
(``OSError``: callers translate it into their own error class). Only a ``kill -9`` or a power
cut between steps 2 and 5 leaves a temp file behind, never a torn target; a reader sees the old
content or the new. Standard library only: the thin client imports this.
"""

from __future__ import annotations

import contextlib
import os

from ssod.privatedir import make_private_dirs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

#: Temp files are ``.ssod-<random>.tmp``: hidden, and never ``.json``.
TEMP_PREFIX = ".ssod-"
TEMP_SUFFIX = ".tmp"
DEFAULT_MODE = 0o600
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NAME_TRIES = 8


def temp_name() -> str:
    """A fresh temp file name (``.ssod-<16 hex>.tmp``)."""
    return f"{TEMP_PREFIX}{os.urandom(8).hex()}{TEMP_SUFFIX}"


def is_temp_name(name: str) -> bool:
    """Is ``name`` one of this module's temp files (left behind only by a killed writer)?"""
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents 0700, whatever the umask (``privatedir``).

    An existing directory keeps its mode.
    """
    make_private_dirs(path)


def write(path: Path | str, data: bytes, *, mode: int = DEFAULT_MODE, replace: bool = True) -> None:
    """Make ``path`` hold exactly ``data`` with ``mode``, atomically and durably.

    With ``replace=False`` an existing ``path`` (a symlink too) is left alone and
    ``FileExistsError`` raised. The parent directory must exist.
    """
    directory, name = os.path.split(os.fspath(path))
    if not name:
        raise IsADirectoryError(f"not a file name: {os.fspath(path)!r}")
    dir_fd = os.open(directory or ".", _DIR_FLAGS)
    try:
        tmp, fd = _create_temp(dir_fd)
        try:
            try:
                os.fchmod(fd, mode)
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            if replace:
                os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            else:
                os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                os.unlink(tmp, dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _create_temp(dir_fd: int) -> tuple[str, int]:
    for _ in range(_NAME_TRIES):
        name = temp_name()
        try:
            # 0600 from the first instant; fchmod then sets the mode the caller asked for.
            return name, os.open(name, _OPEN_FLAGS, 0o600, dir_fd=dir_fd)
        except FileExistsError:
            continue
    raise FileExistsError("no free temp file name")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
