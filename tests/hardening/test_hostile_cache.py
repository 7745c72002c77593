"""Broken files where the daemon reads its SSO token cache, at start and while it runs.

Each broken token file must give a clear error in status (the session's ``last_error``) and in
the log (``event=cache_unreadable``), never crash the daemon or cost it the token it holds, and
a good file written afterwards (another tool's login) must be picked up. A broken client
registration file is skipped: ``ssod login`` registers afresh.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from hardening.support import (
    START_URL,
    events,
    other_tool_login,
    session,
    token_path,
    wait_until,
)
from harness import DaemonHarness
from ssod.daemon.store.tokencache import (
    MAX_CACHE_FILE_BYTES,
    SsoToken,
    registration_cache_key,
    serialize_token,
)
from ssod.wire import Op


def put_bytes(data: bytes) -> Callable[[Path], None]:
    def put(path: Path) -> None:
        tmp = path.with_name(".incoming")
        tmp.write_bytes(data)
        tmp.replace(path)

    return put


def put_link(target: str) -> Callable[[Path], None]:
    def put(path: Path) -> None:
        path.unlink(missing_ok=True)
        path.symlink_to(target)

    return put


def put_dir(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.mkdir()


def clear(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        path.rmdir()
    else:
        path.unlink(missing_ok=True)


def token_json(**fields: object) -> bytes:
    base: dict[str, object] = {
        "startUrl": START_URL,
        "region": "us-east-1",
        "accessToken": "aoa" + "x" * 60,
        "expiresAt": "2099-01-01T00:00:00Z",
    }
    base.update(fields)
    return json.dumps(base).encode()


#: (what, how to put it in place, what the error must say)
BROKEN: tuple[tuple[str, Callable[[Path], None], str], ...] = (
    ("empty", put_bytes(b""), "empty"),
    ("truncated", put_bytes(token_json()[:50]), "not valid JSON"),
    ("not JSON", put_bytes(b"accessToken=abc\n"), "not valid JSON"),
    ("a JSON list", put_bytes(b"[1, 2, 3]"), "not a JSON object"),
    ("wrong types", put_bytes(token_json(accessToken=12345)), "accessToken is not"),
    (
        "a timestamp without a zone",
        put_bytes(token_json(expiresAt="2099-01-01T00:00:00")),
        "expiresAt is not a timestamp with a time zone",
    ),
    (
        "huge",
        put_bytes(b"{" + b" " * (MAX_CACHE_FILE_BYTES + 10) + b"}"),
        f"larger than {MAX_CACHE_FILE_BYTES} bytes",
    ),
    ("a link to a device", put_link("/dev/zero"), "not a regular file"),
    ("a directory", put_dir, "not a regular file"),
)


def error_saying(harness: DaemonHarness, fragment: str) -> Callable[[], str | None]:
    """A check: the session's last error, once it mentions ``fragment``."""

    def check() -> str | None:
        error: str | None = session(harness)["last_error"]
        return error if error and fragment in error else None

    return check


def holding(harness: DaemonHarness, token: SsoToken) -> Callable[[], bool]:
    """A check: the daemon holds ``token`` (judged by its expiry, which status shows)."""
    expected = token.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return lambda: bool(session(harness)["token_expires_at"] == expected)


def test_broken_token_files_while_serving(ssod_daemon: DaemonHarness) -> None:
    emulator = ssod_daemon.emulator
    emulator.settings(approve_delay=0, token_lifetime=3600)
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    path = token_path(ssod_daemon)
    for number, (what, put, says) in enumerate(BROKEN, start=1):
        put(path)
        error = wait_until(error_saying(ssod_daemon, says), 5, f"the error for {what}")
        assert str(path) in error, (what, error)
        # The token it holds keeps serving.
        assert session(ssod_daemon)["state"] == "ready", what
        assert ssod_daemon.request(Op.CREDENTIALS, profile="prod")["AccountId"] == "222222222222"
        # Another tool logs in (a longer-lived token each time): the daemon adopts it.
        emulator.settings(token_lifetime=3600 + 60 * number)
        fresh = other_tool_login(ssod_daemon)
        clear(path)
        put_bytes(serialize_token(fresh))(path)
        wait_until(holding(ssod_daemon, fresh), 5, f"the good token after {what}")
        assert session(ssod_daemon)["last_error"] is None, what
    assert ssod_daemon.proc is not None and ssod_daemon.proc.poll() is None
    assert len(events(ssod_daemon.log(), "cache_unreadable")) >= len(BROKEN)


def test_broken_token_file_at_start(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.emulator.settings(approve_delay=0)
    path = token_path(ssod_daemon)
    path.parent.mkdir(parents=True)
    put_bytes(token_json()[:50])(path)
    ssod_daemon.start()
    state = session(ssod_daemon)
    assert state["state"] == "login_required"
    assert "not valid JSON" in state["last_error"]
    put_bytes(serialize_token(other_tool_login(ssod_daemon)))(path)
    wait_until(lambda: session(ssod_daemon)["state"] == "ready", 5, "the good token")
    assert ssod_daemon.request(Op.CREDENTIALS, profile="dev")["AccountId"] == "111111111111"


def test_broken_registration_file_means_a_new_registration(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.emulator.settings(approve_delay=0)
    key = registration_cache_key(START_URL, "us-east-1", ["sso:account:access"], "corp")
    reg = ssod_daemon.cache_dir / f"{key}.json"
    reg.parent.mkdir(parents=True)
    reg.write_bytes(b'{"clientId": 7}')
    ssod_daemon.start()
    assert ssod_daemon.login(use_device_code=True)[-1]["event"] == "done"
    assert isinstance(json.loads(reg.read_bytes())["clientId"], str)
    assert session(ssod_daemon)["state"] == "ready"
