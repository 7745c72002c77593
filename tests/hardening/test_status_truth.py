"""``ssod status`` tells the truth: an error caused by a file goes away once the file is fixed.

Each test breaks one file the running daemon reads (the token cache, the config, the ECS token
file), sees the error in ``ssod status --json``, puts the good file back and sees the error gone
with no new token, no login and no restart in between.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hardening.support import ecs_get, events, other_tool_login, token_path, wait_until
from harness import STANDARD_CONFIG, DaemonHarness
from ssod.daemon.store.tokencache import serialize_token
from ssod.wire import Op


def status_json(harness: DaemonHarness) -> dict[str, Any]:
    """What ``ssod status --json`` prints, parsed."""
    done = harness.ssod("status", "--json")
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def put(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` atomically, as tools that save files do."""
    tmp = path.with_name(f".{path.name}.incoming")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    tmp.replace(path)


def until(harness: DaemonHarness, pick: Callable[[dict[str, Any]], Any], what: str) -> Any:
    """Poll ``ssod status --json`` until ``pick`` finds something truthy in it."""
    return wait_until(lambda: pick(status_json(harness)), 10, what, interval=0.1)


def corp(status: dict[str, Any]) -> dict[str, Any]:
    (session,) = (s for s in status["sessions"] if s["name"] == "corp")
    return dict(session)


def test_a_fixed_token_file_clears_the_session_error(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.emulator.settings(approve_delay=0)
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    path = token_path(ssod_daemon)
    good = path.read_bytes()
    before = corp(status_json(ssod_daemon))
    assert before["last_error"] is None

    put(path, good[: len(good) // 2])  # torn by some other tool
    error = until(ssod_daemon, lambda s: corp(s)["last_error"], "the cache error")
    assert "not valid JSON" in error and str(path) in error

    put(path, good)  # the same token as before: nothing for the daemon to adopt
    until(ssod_daemon, lambda s: corp(s)["last_error"] is None, "the error to clear")
    after = corp(status_json(ssod_daemon))
    assert after["state"] == "ready"
    assert after["token_expires_at"] == before["token_expires_at"]
    assert path.read_bytes() == good  # no refresh, no login wrote it
    assert events(ssod_daemon.log(), "cache_readable")


def test_a_token_file_fixed_after_a_failed_request(ssod_daemon: DaemonHarness) -> None:
    """Broken at start: the request says why; once fixed, neither session nor profile errs."""
    ssod_daemon.emulator.settings(approve_delay=0)
    path = token_path(ssod_daemon)
    path.parent.mkdir(parents=True)
    put(path, b"{")
    ssod_daemon.start()
    done = ssod_daemon.ssod("credentials", "--profile", "dev")
    assert done.returncode == 4, done.stderr
    assert "its token file cannot be read" in done.stderr and str(path) in done.stderr
    status = status_json(ssod_daemon)
    assert "not valid JSON" in corp(status)["last_error"]
    (dev,) = (p for p in status["profiles"] if p["name"] == "dev")
    assert "cannot be read" in dev["last_error"]

    put(path, serialize_token(other_tool_login(ssod_daemon)))  # `aws sso login` mends it
    status = until(ssod_daemon, lambda s: corp(s)["state"] == "ready" and s, "the session")
    assert corp(status)["last_error"] is None
    assert all(p["last_error"] is None for p in status["profiles"])


def test_a_fixed_config_clears_its_error_and_problems(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    duplicate = STANDARD_CONFIG + "\n[profile dev]\nregion = us-west-2\n"
    ssod_daemon.write_config(duplicate)
    error = until(ssod_daemon, lambda s: s["daemon"]["config_error"], "the config error")
    assert "appears more than once" in error
    ssod_daemon.write_config(STANDARD_CONFIG)
    until(ssod_daemon, lambda s: s["daemon"]["config_error"] is None, "the error to clear")

    loop = "\n[profile a]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = a\n"
    ssod_daemon.write_config(STANDARD_CONFIG + loop)
    until(ssod_daemon, lambda s: s["problems"], "the problem")
    ssod_daemon.write_config(STANDARD_CONFIG)
    status = until(ssod_daemon, lambda s: not s["problems"] and s, "the problem to clear")
    assert status["daemon"]["config_error"] is None


def test_the_ecs_token_file_is_followed(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.emulator.settings(approve_delay=0)
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    endpoint = ssod_daemon.request(Op.ENDPOINT)
    path = Path(endpoint["token_file"])
    token = path.read_text()
    assert status_json(ssod_daemon)["daemon"]["ecs_token_error"] is None

    # Opened up to everyone: reported, and the token in memory keeps serving.
    path.chmod(0o644)
    error = until(ssod_daemon, lambda s: s["daemon"]["ecs_token_error"], "the unsafe file")
    assert "accessible to other users" in error and str(path) in error
    assert ecs_get(endpoint, "dev")[0] == 200
    path.chmod(0o600)
    until(ssod_daemon, lambda s: s["daemon"]["ecs_token_error"] is None, "the error to clear")
    assert ssod_daemon.request(Op.ENDPOINT)["token"] == token

    # Not a token any more (an editor added a newline), then the token again.
    put(path, token.encode() + b"\n")
    error = until(ssod_daemon, lambda s: s["daemon"]["ecs_token_error"], "the bad content")
    assert "whitespace" in error
    put(path, token.encode())
    until(ssod_daemon, lambda s: s["daemon"]["ecs_token_error"] is None, "the error to clear")

    # Another token written there (restored from a backup) is the one served from then on.
    other = "r" * 43
    put(path, other.encode())
    wait_until(lambda: ecs_get(endpoint, "dev", token=other)[0] == 200, 10, "the new token")
    assert ecs_get(endpoint, "dev")[0] == 403

    # Deleted: a new token, in a new 0600 file, as a restart would give.
    path.unlink()
    fresh = wait_until(lambda: path.exists() and path.read_text(), 10, "a new token file")
    assert fresh not in (token, other)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert ssod_daemon.request(Op.ENDPOINT)["token"] == fresh
    assert status_json(ssod_daemon)["daemon"]["ecs_token_error"] is None
