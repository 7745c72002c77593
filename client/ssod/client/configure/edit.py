"""One wizard run's edit of the config file: early writes that can be undone, then the final one.

The configure wizard must write an sso-session (or a provisional legacy profile) before the
login, yet leave the file exactly as ``aws configure sso`` would at the end, and untouched if
the run fails. So the file is read once; the final write is computed from that original text
when nobody else changed the file meanwhile, and otherwise applied to the current text minus
our provisional section. ``rollback`` restores the original only if the file is still as we
left it, so a concurrent edit is never lost. The text rules are ``configwriter``'s.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ssod import configwriter
from ssod.configwriter import Section, Update


class ConfigEdit:
    """The config file at ``path`` across one run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.original = configwriter.load(path)
        self._written: str | None = None  # the file as our early writes left it
        self._provisional: Section | None = None

    def write_early(self, update: Update, *, provisional: bool = False) -> None:
        """Write ``update`` now; a provisional section disappears again at the end."""
        if provisional:
            self._provisional = update.section
        base = self._written if self._written is not None else self.original
        text = configwriter.update_text(base, update)
        configwriter.save(self.path, text)
        self._written = text

    def followed(self, update: Update) -> None:
        """Another writer (the daemon) applied ``update`` to our early write: if the file is
        exactly that now, it counts as ours, so ``commit`` and ``rollback`` work as before."""
        if self._written is None:
            return
        expected = configwriter.update_text(self._written, update)
        if configwriter.load(self.path) == expected:
            self._written = expected

    def commit(self, updates: Sequence[Update]) -> None:
        """The final write: ``updates`` as the AWS CLI would apply them to the original file."""
        current = configwriter.load(self.path)
        ours = self._written if self._written is not None else self.original
        # Edited meanwhile by someone else: keep those edits, drop only what is ours.
        base = self.original if current == ours else self._without_provisional(current)
        configwriter.save(self.path, configwriter.apply(base, updates))
        self._written = self._provisional = None

    def rollback(self) -> None:
        """Undo the early writes (raises ``ConfigError``/``OSError`` if that fails)."""
        if self._written is None:
            return
        current = configwriter.load(self.path)
        if current == self._written and self.original is None:
            Path(os.path.realpath(self.path)).unlink()
        elif current == self._written:
            configwriter.save(self.path, self.original or "")
        elif self._provisional is not None and current:
            configwriter.save(self.path, configwriter.remove_section(current, self._provisional))
        self._written = self._provisional = None

    def _without_provisional(self, text: str | None) -> str | None:
        if self._provisional is None or not text:
            return text
        return configwriter.remove_section(text, self._provisional)
