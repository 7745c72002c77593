"""Directories ssod creates: 0700, every one of them, whatever the umask.

``Path.mkdir(parents=True, mode=0o700)`` gives that mode to the last directory only: the
parents it creates on the way (``~/.aws``, ``~/.local``, ``~/.local/state``) get
``0777 & ~umask``, so under umask 000 every user could write in them. ``make_private_dirs``
creates each missing directory itself, 0700 (set again after ``mkdir``, whose mode passes
through the umask), and leaves directories that exist already as they are: their mode is the
user's choice. Stdlib only: the thin client uses it too.
"""

from __future__ import annotations

import os
from pathlib import Path


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, each 0700; existing ones are left alone."""
    missing: list[Path] = []
    here = path
    while not here.is_dir() and here.parent != here:
        missing.append(here)
        here = here.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue  # made meanwhile, or not a directory: the caller's next step says so
        os.chmod(directory, 0o700)
