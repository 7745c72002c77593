"""Reading and writing the SSO token cache and the AWS CLI's role-credential cache on disk.

This module owns file I/O for `~/.aws/sso/cache` and `~/.aws/cli/cache`: writes through
`ssod.atomicfile` (temp file in the same directory, mode 0600, fsync, rename, fsync the
directory), a 0700 directory when ssod creates it, and an advisory `flock` on `.ssod.lock`
that serialises ssod's own read-modify-write cycles. The byte formats belong to `tokencache`;
this module must not build or inspect JSON itself. Functions block; the daemon calls them via
`asyncio.to_thread`.

Symlinks: a `<key>.json` that is a symlink is read through (as botocore does) but a write
replaces the link itself with a regular file; ssod never writes through a link to elsewhere.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from ssod import atomicfile, paths
from ssod.atomicfile import ensure_private_dir
from ssod.daemon.store.tokencache import (
    MAX_CACHE_FILE_BYTES,
    CliCachedCredentials,
    Registration,
    SsoToken,
    is_sso_cli_entry,
    parse_cli_credentials,
    parse_registration,
    parse_token,
    serialize_cli_credentials,
    serialize_registration,
    serialize_token,
)
from ssod.errors import CacheError, TokenCacheError

#: Hidden, empty and not `.json`: `aws sso logout` json-loads every file and skips failures.
LOCK_FILE_NAME = ".ssod.lock"
# Temp files (`atomicfile.TEMP_PREFIX`, `.TEMP_SUFFIX`) never end in `.json`, or a logout
# sweep could load a half-made token.
DEFAULT_LOCK_TIMEOUT = 10.0
# The CLI rewrites cache files in place (truncate, then write; docs/protocols.md 3.4), so a reader
# can catch one half-written. One re-read after a short pause rides that out.
_TORN_READ_RETRY_DELAY = 0.05
_KEY = re.compile(r"[0-9a-f]{40}")
_T = TypeVar("_T")


def _check_key(key: str) -> None:
    # Keys are SHA-1 hex; anything else could name a path outside the directory.
    if not _KEY.fullmatch(key):
        raise ValueError("cache key must be 40 lowercase hex digits")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, mode 0600, durable once this returns."""
    try:
        ensure_private_dir(path.parent)
        atomicfile.write(path, data)
    except OSError as e:
        raise CacheError(f"{path}: cannot write ({e.strerror})") from e


def read_file(path: Path) -> bytes | None:
    """The bytes of a regular file (at most the size cap plus one), or None if it is missing."""
    try:
        # O_NONBLOCK so a FIFO planted at the path cannot hang the daemon.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise CacheError(f"{path}: cannot read ({e.strerror})") from e
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise TokenCacheError(f"{path}: not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_CACHE_FILE_BYTES:
            chunk = os.read(fd, MAX_CACHE_FILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as e:
        raise CacheError(f"{path}: cannot read ({e.strerror})") from e
    finally:
        os.close(fd)


def delete_file(path: Path) -> bool:
    """Remove ``path``; False if it was already gone."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as e:
        raise CacheError(f"{path}: cannot delete ({e.strerror})") from e
    _fsync_dir(path.parent)
    return True


def remove_stale_temp_files(directory: Path, *, older_than: float = 3600.0) -> int:
    """Remove ssod temp files a killed writer left in ``directory``; return how many."""
    # A live writer's temp file is milliseconds old; anything older than `older_than` seconds
    # was orphaned by SIGKILL or a power cut between mkstemp and os.replace.
    removed = 0
    cutoff = time.time() - older_than
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if not atomicfile.is_temp_name(entry.name):
            continue
        with contextlib.suppress(FileNotFoundError):
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
    return removed


class TokenCacheDir:
    """`~/.aws/sso/cache`: SSO tokens and client registrations, one `<key>.json` each."""

    def __init__(self, path: Path | None = None, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT):
        self.path = path if path is not None else paths.sso_cache_dir()
        self._lock_timeout = lock_timeout
        # flock is per open file: a second flock from this process would wait on itself, so
        # threads queue on an RLock first and only the outermost holder takes the flock.
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._lock_fd: int | None = None

    def token_path(self, key: str) -> Path:
        """The file holding the token or registration for ``key``."""
        _check_key(key)
        return self.path / f"{key}.json"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold ssod's advisory lock on the directory (re-entrant within this object)."""
        with self._thread_lock:
            if self._depth == 0:
                self._lock_fd = self._acquire()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._lock_fd is not None:
                    os.close(self._lock_fd)  # closing releases the flock
                    self._lock_fd = None

    def _acquire(self) -> int:
        lock_path = self.path / LOCK_FILE_NAME
        try:
            ensure_private_dir(self.path)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        except OSError as e:
            raise CacheError(f"{lock_path}: cannot open lock ({e.strerror})") from e
        deadline = time.monotonic() + self._lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except OSError as e:
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise CacheError(f"{lock_path}: cannot lock ({e.strerror})") from e
            if time.monotonic() >= deadline:
                os.close(fd)
                raise CacheError(f"{lock_path}: still locked after {self._lock_timeout:g}s")
            time.sleep(0.01)

    def _read(self, key: str, parse: Callable[[bytes, str], _T]) -> _T | None:
        path = self.token_path(key)
        data = read_file(path)
        if data is None:
            return None
        try:
            return parse(data, str(path))
        except TokenCacheError:
            time.sleep(_TORN_READ_RETRY_DELAY)
            data = read_file(path)
            return None if data is None else parse(data, str(path))

    def read_token(self, key: str) -> SsoToken | None:
        """The token stored under ``key``; None if there is none, TokenCacheError if broken."""
        return self._read(key, lambda data, path: parse_token(data, path=path))

    def write_token(self, key: str, token: SsoToken) -> None:
        """Store ``token`` under ``key`` atomically."""
        with self.locked():
            atomic_write(self.token_path(key), serialize_token(token))

    def delete_token(self, key: str) -> bool:
        """Remove the token file for ``key``; False if there was none."""
        with self.locked():
            return delete_file(self.token_path(key))

    def update_token(
        self, key: str, fn: Callable[[SsoToken | None], SsoToken | None]
    ) -> SsoToken | None:
        """Under the lock, read the token, pass it to ``fn`` and write what it returns.

        ``fn`` returning None leaves the file untouched. Build the new token with
        `dataclasses.replace` so unknown fields survive. Returns the token now on disk.
        """
        with self.locked():
            current = self.read_token(key)
            new = fn(current)
            if new is None:
                return current
            atomic_write(self.token_path(key), serialize_token(new))
            return new

    def read_registration(self, key: str) -> Registration | None:
        """The client registration stored under ``key``; None if there is none."""
        return self._read(key, lambda data, path: parse_registration(data, path=path))

    def write_registration(self, key: str, reg: Registration) -> None:
        """Store a client registration under ``key`` atomically."""
        with self.locked():
            atomic_write(self.token_path(key), serialize_registration(reg))


class CliCacheDir:
    """`~/.aws/cli/cache`: role credentials the AWS CLI uses without calling AWS.

    No lock: every change is a single atomic replace or unlink, never read-modify-write.
    """

    def __init__(self, path: Path | None = None):
        self.path = path if path is not None else paths.cli_cache_dir()

    def path_for(self, key: str) -> Path:
        """The file holding the credentials for ``key`` (see `tokencache.role_cache_key`)."""
        _check_key(key)
        return self.path / f"{key}.json"

    def read(self, key: str) -> CliCachedCredentials | None:
        """The SSO credentials stored under ``key``; None if there are none."""
        path = self.path_for(key)
        data = read_file(path)
        return None if data is None else parse_cli_credentials(data, path=str(path))

    def write(self, key: str, creds: CliCachedCredentials) -> None:
        """Store role credentials under ``key`` atomically."""
        atomic_write(self.path_for(key), serialize_cli_credentials(creds))

    def delete(self, key: str) -> bool:
        """Remove the entry for ``key``; False if there was none."""
        return delete_file(self.path_for(key))

    def delete_sso_entries(self, keys: Iterable[str]) -> list[str]:
        """Remove those of ``keys`` whose file is an SSO entry; return the keys removed."""
        removed = []
        for key in keys:
            path = self.path_for(key)
            try:
                data = read_file(path)
            except CacheError:
                continue  # not a readable regular file: not ours to judge
            # Only `"ProviderType": "sso"` files, the same test `aws sso logout` applies.
            if data is not None and is_sso_cli_entry(data) and delete_file(path):
                removed.append(key)
        return removed
