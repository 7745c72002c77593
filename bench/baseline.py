"""``--baseline REV``: an earlier ssod, measured beside this one in the same run.

Owns extracting ``daemon/`` and ``client/`` of a git revision into a temporary directory and
the commands that run that code: the daemon, and the console script as it was (``from
ssod.client.cli import main``). Both run this virtual environment's interpreter with the old
tree first on ``PYTHONPATH``; ``ssod`` is a namespace package, so each module comes from the old
tree when it has it. Before/after figures on a shared, noisy machine mean something only when
taken side by side like this, round by round.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The console script of every version before the fast path, word for word.
_OLD_SCRIPT = "import sys\nfrom ssod.client.cli import main\nsys.exit(main())\n"


@dataclass(frozen=True)
class Baseline:
    """An extracted revision: its name and where its ``daemon/`` and ``client/`` are."""

    rev: str
    root: Path

    @property
    def label(self) -> str:
        """``before (REV)``."""
        return f"before ({self.rev})"

    def env(self) -> dict[str, str]:
        """The variables that make this interpreter load the old code."""
        return {"PYTHONPATH": f"{self.root / 'daemon'}:{self.root / 'client'}"}

    def daemon_command(self, *args: str) -> list[str]:
        """``ssod daemon ARGS`` of the old revision (``env`` keeps the pid: it execs)."""
        path = self.env()["PYTHONPATH"]
        return ["env", f"PYTHONPATH={path}", sys.executable, "-m", "ssod.client.cli", *args]

    def client_command(self, *args: str) -> list[str]:
        """The old ``ssod`` console script with ``ARGS`` (run with :meth:`env`)."""
        return [sys.executable, "-c", _OLD_SCRIPT, *args]


@contextmanager
def extracted(rev: str | None) -> Iterator[Baseline | None]:
    """``rev``'s code in a temporary directory (None: no baseline), removed afterwards."""
    if rev is None:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="ssod-baseline-"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, "daemon", "client"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
        short = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", rev],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        yield Baseline(short, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
