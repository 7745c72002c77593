"""Another local user, for real: a throwaway system account and code run as its uid.

Tests about what another user of the machine can do need a second uid, not a mock of one. The
``other_user`` fixture (tests/conftest.py) creates ``ssod-test-XXXXXX`` with ``useradd
--system --no-create-home`` and deletes it afterwards; without root it skips and says so.
``OtherUser.python`` runs Python code as that uid: the interpreter starts as us (it may live
where the other user cannot read), imports what the code needs, then drops to the other uid
before the code runs, so every socket and file the code touches is that user's.
"""

from __future__ import annotations

import os
import pwd
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

#: Imported before the drop: after it, the interpreter's own directories may be unreadable.
_PRELUDE = (
    "import errno, http.client, json, os, socket, struct, sys, time\n"
    "import encodings.idna, urllib.error, urllib.request\n"
    "try:\n"
    "    import zmq\n"
    "except ImportError:\n"
    "    zmq = None\n"
)


@dataclass(frozen=True)
class OtherUser:
    """A local account that is not us."""

    name: str
    uid: int
    gid: int
    started: list[subprocess.Popen[str]] = field(default_factory=list, compare=False, repr=False)

    def python(
        self, code: str, *, timeout: float = 60.0, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``code`` as this user (after the prelude's imports); never raises on failure."""
        drop = f"os.setgroups([]); os.setgid({self.gid}); os.setuid({self.uid})\n"
        return subprocess.run(
            [sys.executable, "-c", _PRELUDE + drop + code],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **(env or {})},
        )

    def popen(self, code: str) -> subprocess.Popen[str]:
        """Start ``code`` as this user in the background (stdout and stderr piped)."""
        drop = f"os.setgroups([]); os.setgid({self.gid}); os.setuid({self.uid})\n"
        proc = subprocess.Popen(
            [sys.executable, "-c", _PRELUDE + drop + code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        )
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        """Kill and reap whatever ``popen`` started that still runs."""
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=30)


def _retry(argv: list[str]) -> None:
    """Run a user-database command; another test holding the passwd lock makes it retry."""
    deadline = time.monotonic() + 60.0
    while True:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.strip()}")
        time.sleep(0.2)


@contextmanager
def throwaway_user() -> Iterator[OtherUser]:
    """Create a system account for the duration (root only), then delete it."""
    name = f"ssod-test-{secrets.token_hex(3)}"
    _retry(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name])
    user: OtherUser | None = None
    try:
        entry = pwd.getpwnam(name)
        user = OtherUser(name, entry.pw_uid, entry.pw_gid)
        yield user
    finally:
        if user is not None:
            user.stop_all()
        _retry(["userdel", "--force", name])


def can_create_users() -> str | None:
    """None when this process can create a user, else why not (the skip reason)."""
    if os.geteuid() != 0:
        return "needs root to create a second local user (CI runs as root)"
    if not os.path.exists("/usr/sbin/useradd"):
        return "needs useradd (package passwd) to create a second local user"
    return None
