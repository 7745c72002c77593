"""Scoped ECS tokens: their format, hashing, lifetimes and the records the daemon keeps of them.

A scoped token is good for one profile until it expires or is revoked; the user's main ECS
token (``ssod.daemon.store.ecstoken``) keeps working for every profile. A token reads
``ssod.<id>.<secret>``: the id is public (``ssod status`` lists it, ``ssod token revoke``
takes it), the secret is 256 random bits as base64url. The main token is bare base64url, which
never contains a ``.``, so one ``startswith`` tells the two kinds apart. Only the SHA-256 of a
scoped token is ever stored; a presented token is found by its id (one dict lookup) and its
digest compared in constant time.

A token ``ssod exec`` gives its command is *bound* to that process: its record holds the pid
and, on Linux, the process's start time, and ``alive`` decides from one look at the pid
(``ssod.procinfo``) whether that process still runs; once it does not, the daemon refuses and
drops the token. Bound tokens are named ``exec`` (a name reserved for them, shared by all).

Pure: no I/O, no clock (callers pass ``now`` as epoch seconds). Randomness comes from
``secrets``. Shared by the client (``--ttl`` is checked before anything is sent) and the daemon.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Final, NamedTuple

from ssod.errors import BadRequest, CacheError
from ssod.procinfo import Seen

if TYPE_CHECKING:
    from ssod.replies import TokenInfo

#: Every scoped token starts with this; a main token (base64url) never contains a ``.``.
PREFIX: Final = "ssod."
SECRET_BYTES: Final = 32
ID_HEX_DIGITS: Final = 10
DEFAULT_TTL: Final = 12 * 3600
MAX_TTL: Final = 90 * 86400
#: Live scoped tokens the daemon keeps at most (bounds the file, about 200 bytes a token, and
#: the lookup table). Generous: `docker run --env-file <(ssod docker env ...)` issues one per run.
MAX_TOKENS: Final = 4096
FILE_VERSION: Final = 1
#: The name of every token ``ssod exec`` binds to its command (reserved: not for ``--name``).
EXEC_NAME: Final = "exec"

_ID_RE: Final = re.compile(rf"[0-9a-f]{{{ID_HEX_DIGITS}}}")
_SECRET_RE: Final = re.compile(r"[A-Za-z0-9_-]{43}")
_NAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
_DIGEST_RE: Final = re.compile(r"[0-9a-f]{64}")
_TTL_PART: Final = re.compile(r"(\d+)([smhd])")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ScopedToken(NamedTuple):
    """What the daemon keeps of one scoped token: never the token, only its SHA-256."""

    id: str
    profile: str
    sha256: str
    created: int
    expires: int
    name: str = ""
    #: The process the token lives with (``ssod exec``'s command), or None: TTL only.
    pid: int | None = None
    #: That process's start time (``/proc/PID/stat`` field 22), where the system tells it.
    started: int | None = None

    def expired(self, now: float) -> bool:
        """True from the second the token stops working."""
        return now >= self.expires

    def public(self) -> TokenInfo:
        """What ``ssod status`` and ``ssod token list`` show: no secret, no digest."""
        return {
            "id": self.id,
            "name": self.name or None,
            "profile": self.profile,
            "created_at": format_time(self.created),
            "expires_at": format_time(self.expires),
            "pid": self.pid,
        }


class Issued(NamedTuple):
    """A freshly issued token (shown once) and its record."""

    token: str
    record: ScopedToken


def digest(token: str) -> str:
    """The hex SHA-256 stored for ``token``."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def token_id(token: str) -> str | None:
    """The id of a well-formed scoped token, or None for anything else."""
    if not token.startswith(PREFIX):
        return None
    parts = token[len(PREFIX) :].split(".")
    if len(parts) != 2 or not _ID_RE.fullmatch(parts[0]) or not _SECRET_RE.fullmatch(parts[1]):
        return None
    return parts[0]


def matches(token: str, record: ScopedToken) -> bool:
    """Constant-time check of ``token`` against the digest in ``record``."""
    offered = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
    return hmac.compare_digest(offered, bytes.fromhex(record.sha256))


def issue(
    profile: str,
    ttl: int,
    now: float,
    *,
    name: str = "",
    taken: Iterable[str] = (),
    pid: int | None = None,
    started: int | None = None,
) -> Issued:
    """A new token for ``profile`` living ``ttl`` seconds from ``now``; ids in ``taken`` avoided.

    With ``pid`` it is bound to that process (and its ``started`` time) and named ``exec``.
    """
    check_ttl(ttl)
    if pid is not None:
        check_binding(pid, started)
        name = EXEC_NAME
    elif name:
        check_name(name)
    used = set(taken)
    while True:
        tid = secrets.token_hex(ID_HEX_DIGITS // 2)
        if tid not in used:
            break
    token = f"{PREFIX}{tid}.{secrets.token_urlsafe(SECRET_BYTES)}"
    created = int(now)
    record = ScopedToken(tid, profile, digest(token), created, created + ttl, name, pid, started)
    return Issued(token, record)


def check_binding(pid: int, started: int | None) -> None:
    """A bound token names a real pid, and a start time that is a tick count."""
    if not 0 < pid < 2**31 or (started is not None and not 0 <= started < 2**63):
        raise BadRequest(f"pid {pid} (started {started}) cannot own a token")


def alive(record: ScopedToken, seen: Seen) -> bool:
    """Does the token's process still run, as far as ``seen`` (one look at its pid) tells?

    Unbound tokens live by their TTL alone. A pid that runs a process with another start time
    was reused: the token's process is gone. When the start time cannot be compared (macOS,
    ``/proc`` hidden) a running pid counts as the process, and the TTL bounds the error.
    """
    return record.pid is None or same_process(record.started, seen)


def same_process(started: int | None, seen: Seen) -> bool:
    """Is the process ``seen`` at a pid the one that had start time ``started`` there?"""
    if not seen.known:
        return True
    if not seen.running:
        return False
    return started is None or seen.started is None or seen.started == started


def parse_ttl(text: str) -> int:
    """``90``, ``90s``, ``15m``, ``12h``, ``7d`` or ``1h30m`` as seconds; BadRequest otherwise."""
    raw = text.strip().lower()
    if raw.isdigit():
        seconds = int(raw)
    else:
        parts = _TTL_PART.findall(raw)
        if not parts or "".join(n + u for n, u in parts) != raw:
            raise BadRequest(
                f"--ttl {text!r} is not a duration: use seconds or units, e.g. 90s, 15m, 12h, 7d"
            )
        seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    check_ttl(seconds)
    return seconds


def check_ttl(seconds: int) -> None:
    """A lifetime must be at least a minute and at most MAX_TTL."""
    if not 60 <= seconds <= MAX_TTL:
        raise BadRequest(
            f"a scoped token lives from 1 minute to {MAX_TTL // 86400} days, not {seconds}s"
        )


def check_name(name: str) -> None:
    """Names are short labels: letters, digits and ``._@+-``, starting with a letter or digit."""
    if not _NAME_RE.fullmatch(name) or _ID_RE.fullmatch(name):
        raise BadRequest(
            f"token name {name!r} must be 1 to 64 letters, digits or ._@+- (starting with a "
            "letter or digit) and must not look like a token id"
        )
    if name == EXEC_NAME:
        raise BadRequest(
            f"the token name {EXEC_NAME!r} is reserved for the tokens `ssod exec` gives its "
            "commands: choose another"
        )


def select(records: Iterable[ScopedToken], key: str) -> list[ScopedToken]:
    """The records an id or a name names (``ssod token revoke KEY``); none for an empty key."""
    return [r for r in records if key and key in (r.id, r.name)]


def format_time(epoch: float) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# -- the file ----------------------------------------------------------------------------------


def dump(records: Iterable[ScopedToken]) -> bytes:
    """The store file's bytes: a versioned JSON object holding digests, never tokens."""
    rows = []
    for r in records:
        row: dict[str, object] = {
            "id": r.id,
            "name": r.name,
            "profile": r.profile,
            "sha256": r.sha256,
            "created": r.created,
            "expires": r.expires,
        }
        if r.pid is not None:
            row["pid"] = r.pid
            row["started"] = r.started
        rows.append(row)
    return json.dumps({"version": FILE_VERSION, "tokens": rows}, indent=1).encode()


def load(data: bytes, where: str) -> list[ScopedToken]:
    """Parse the store file; CacheError naming ``where`` and the problem if it is not ours."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        raise CacheError(f"{where}: not valid UTF-8 JSON") from None
    if not isinstance(obj, dict) or obj.get("version") != FILE_VERSION:
        raise CacheError(f"{where}: not a version {FILE_VERSION} scoped-token file")
    rows = obj.get("tokens")
    if not isinstance(rows, list):
        raise CacheError(f"{where}: 'tokens' must be a list")
    records, seen = [], set()
    for index, row in enumerate(rows):
        record = _record(row)
        if record is None or record.id in seen:
            raise CacheError(f"{where}: token entry {index} is malformed or repeated")
        seen.add(record.id)
        records.append(record)
    return records


def _record(row: object) -> ScopedToken | None:
    if not isinstance(row, Mapping):
        return None
    tid, name, profile, sha = (row.get(k) for k in ("id", "name", "profile", "sha256"))
    created, expires = row.get("created"), row.get("expires")
    if not (isinstance(tid, str) and _ID_RE.fullmatch(tid)):
        return None
    if not (isinstance(name, str) and (not name or _NAME_RE.fullmatch(name))):
        return None
    if not (isinstance(profile, str) and profile and isinstance(sha, str)):
        return None
    binding = _binding(row.get("pid"), row.get("started"))
    if (
        binding is None
        or not _DIGEST_RE.fullmatch(sha)
        or type(created) is not int
        or type(expires) is not int
    ):
        return None
    return ScopedToken(tid, profile, sha, created, expires, name, *binding)


def _binding(pid: object, started: object) -> tuple[int | None, int | None] | None:
    """A row's ``pid``/``started`` (both absent for an unbound token), or None if malformed."""
    if pid is None:
        return (None, None) if started is None else None
    if isinstance(pid, bool) or not isinstance(pid, int):
        return None
    if started is not None and (isinstance(started, bool) or not isinstance(started, int)):
        return None
    try:
        check_binding(pid, started)
    except BadRequest:
        return None
    return pid, started
