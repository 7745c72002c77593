"""The start-up check that the daemon runs as the user whose AWS files it is about to write.

``sudo ssod daemon`` (or a service unit with the wrong ``User=``) would run as root inside
another user's HOME and leave root-owned token files in their ``~/.aws/sso/cache``, which the
user's own tools then cannot rewrite. So the daemon refuses to start when HOME, ``~/.aws`` or
the SSO cache directory belong to another uid, and says why. Root in root's own HOME
(containers, CI) is fine. Paths that do not exist yet are not checked: the daemon creates them
as itself. This module only looks; it never changes an owner or a mode.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from ssod.errors import SsodError


def owned_paths(home: Path) -> tuple[Path, ...]:
    """HOME and the directories under it that hold the token files the daemon writes."""
    aws = home / ".aws"
    return (home, aws, aws / "sso", aws / "sso" / "cache")


def _user(uid: int) -> str:
    try:
        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except KeyError:
        return f"uid {uid}"


def check_home_ownership(home: Path, *, uid: int | None = None) -> None:
    """Raise SsodError if HOME or an AWS directory in it belongs to someone other than ``uid``."""
    me = os.getuid() if uid is None else uid
    for path in owned_paths(home):
        try:
            owner = path.stat().st_uid  # follows symlinks: a linked ~/.aws is judged by its target
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise SsodError(f"refusing to start: cannot inspect {path} ({exc.strerror})") from None
        if owner != me:
            raise SsodError(
                f"refusing to start: {path} belongs to {_user(owner)}, but ssod runs as "
                f"{_user(me)}. Running the daemon as another user (for example with sudo) "
                f"would leave files in {home}/.aws that their owner cannot update. "
                "Start `ssod daemon` as the owner of HOME, without sudo."
            )
