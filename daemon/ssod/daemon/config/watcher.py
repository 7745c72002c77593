"""Watches ~/.aws/config, the SSO token cache and the ECS token file (watchdog), and tells the loop.

It watches directories, not files, because editors save by writing a new file and renaming it
over the old one; and for a config file that is a symlink (dotfile managers) it also watches
the directory of the link's target. ``relevant_*`` are pure predicates with their own tests.
Events arrive on watchdog's thread and are handed to the loop with ``call_soon_threadsafe``,
then debounced: a burst of writes makes one callback.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

#: Token and registration files: 40 lowercase hex digits and ``.json`` (docs/protocols.md 3.1).
_CACHE_FILE = re.compile(r"[0-9a-f]{40}\.json")


def relevant_config(event_path: str, config_paths: frozenset[str]) -> bool:
    """Whether a change at ``event_path`` may change the config file's content."""
    return os.path.abspath(event_path) in config_paths


def cache_key_of(event_path: str, cache_dir: str) -> str | None:
    """The cache key a change in the SSO cache directory touches, if it is a cache file."""
    path = os.path.abspath(event_path)
    if os.path.dirname(path) != cache_dir:
        return None
    name = os.path.basename(path)
    return name[:-5] if _CACHE_FILE.fullmatch(name) else None


def config_watch_paths(config_file: Path) -> frozenset[str]:
    """The config file's path and, if it is a symlink, its target's path."""
    paths = {os.path.abspath(config_file)}
    resolved = os.path.realpath(config_file)
    paths.add(resolved)
    return frozenset(paths)


class _Handler(FileSystemEventHandler):
    def __init__(self, on_path: Callable[[str], None]) -> None:
        self._on_path = on_path

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in {"opened", "closed_no_write"}:
            return
        for attr in ("src_path", "dest_path"):
            value = getattr(event, attr, "")
            if value:
                self._on_path(os.fsdecode(value))


class Watcher:
    """Calls ``on_config()`` after config edits and ``on_cache(key)`` after token-file writes.

    ``files`` maps more single files (the ECS token file) to what to call when each changes.
    """

    def __init__(
        self,
        config_file: Path,
        cache_dir: Path,
        on_config: Callable[[], None],
        on_cache: Callable[[str], None],
        *,
        files: Mapping[Path, Callable[[], None]] | None = None,
        debounce: float = 0.2,
    ) -> None:
        self._config_file = config_file
        self._files = {os.path.abspath(path): call for path, call in (files or {}).items()}
        self._cache_dir = os.path.abspath(cache_dir)
        self._on_config = on_config
        self._on_cache = on_cache
        self._debounce = debounce
        self._observer: BaseObserver | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._config_paths = config_watch_paths(config_file)

    def start(self) -> None:
        """Start watching (from the event loop's thread)."""
        self._loop = asyncio.get_running_loop()
        self._config_paths = config_watch_paths(self._config_file)
        observer = Observer()
        handler = _Handler(self._from_thread)
        dirs = {os.path.dirname(p) for p in (*self._config_paths, *self._files)}
        dirs.add(self._cache_dir)
        for directory in sorted(dirs):
            if os.path.isdir(directory):
                observer.schedule(handler, directory, recursive=False)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        """Stop watching and drop pending callbacks."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

    def restart(self) -> None:
        """Watch again, e.g. after the config file became (or stopped being) a symlink."""
        self.stop()
        self.start()

    def follow_config(self) -> None:
        """Restart if the config file now links elsewhere (a dotfile manager just ran)."""
        current = config_watch_paths(self._config_file)
        if self._observer is not None and current != self._config_paths:
            self.restart()

    def _from_thread(self, path: str) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._on_path, path)

    def _on_path(self, path: str) -> None:
        if relevant_config(path, self._config_paths):
            self._debounced("config", self._on_config)
            return
        on_file = self._files.get(os.path.abspath(path))
        if on_file is not None:
            self._debounced(f"file:{path}", on_file)
            return
        key = cache_key_of(path, self._cache_dir)
        if key is not None:
            self._debounced(f"cache:{key}", lambda: self._on_cache(key))

    def _debounced(self, name: str, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None:
            return
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()

        def fire() -> None:
            self._timers.pop(name, None)
            callback()

        self._timers[name] = loop.call_later(self._debounce, fire)
