"""``--token-store``: the real daemon with a real Secret Service (gnome-keyring on a private bus).

With ``keyring`` the token file keeps only what botocore needs to use the token, and the refresh
token and client secret are items a user finds with ``secret-tool search service ssod``; a
restart refreshes from them with no login; switching stores moves the secrets both ways and
loses nothing; logout removes the items; no Secret Service stops the daemon from starting; a
locked collection is reported, keeps valid tokens served, and recovers once unlocked. With
``memory`` nothing long-lived is written anywhere. Every check of the keyring is made from
outside, with ``secret-tool``.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from harness import DaemonHarness
from keyring_support import SecretService
from ssod.daemon.store.tokencache import (
    Registration,
    SsoToken,
    parse_token,
    serialize_registration,
    serialize_token,
    token_cache_key,
)
from ssod.emulator.testing.launcher import ssod_command
from ssod.wire import Op

T = TypeVar("T")
#: Generous: sealing takes a watcher event and two D-Bus calls.
DEADLINE = 20.0
SECRET_FIELDS = ("refreshToken", "clientSecret")


def wait_for(probe: Callable[[], T | None], what: str, harness: DaemonHarness) -> T:
    """Poll ``probe`` until it returns something; fail with the daemon's log after a while."""
    deadline = time.monotonic() + DEADLINE
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; the daemon said:\n{harness.log()[-6000:]}")
        time.sleep(0.05)
    return found


def token_file(harness: DaemonHarness) -> Path:
    """The sso-session ``corp``'s token file."""
    return harness.cache_dir / f"{token_cache_key('corp')}.json"


def on_disk(harness: DaemonHarness) -> dict[str, Any]:
    """The token file's JSON."""
    obj: dict[str, Any] = json.loads(token_file(harness).read_bytes())
    return obj


def secrets_on_disk(harness: DaemonHarness) -> list[str]:
    """Every cache file that holds a refresh token or a client secret."""
    found = []
    for path in sorted(harness.cache_dir.glob("*.json")):
        obj = json.loads(path.read_bytes())
        if any(field in obj for field in SECRET_FIELDS):
            found.append(path.name)
    return found


def start_keyring(harness: DaemonHarness, service: SecretService, *args: str) -> None:
    """Start the daemon on the test's session bus with ``args``."""
    harness.env["DBUS_SESSION_BUS_ADDRESS"] = service.address
    harness.env["SSOD_KEYRING_RETRY"] = "0.2"
    harness.start(*args)


def login(harness: DaemonHarness) -> None:
    """``ssod login`` with the device code, which the emulator approves by itself."""
    done = harness.ssod("login", "--profile", "dev", "--use-device-code", "--no-browser")
    assert done.returncode == 0, done.stderr


def session(harness: DaemonHarness) -> dict[str, Any]:
    """The ``corp`` session in status."""
    found: dict[str, Any] = harness.request(Op.STATUS)["sessions"][0]
    return found


def serves(harness: DaemonHarness, profile: str = "dev") -> None:
    """The daemon hands out the profile's credentials."""
    creds = harness.request(Op.CREDENTIALS, profile=profile)
    assert creds["AccessKeyId"]


def logins(harness: DaemonHarness) -> int:
    """Device-code CreateToken calls (polls included) since the emulator's counters were reset."""
    return harness.emulator.calls().get("CreateToken:device_code", 0)


def test_keyring_login_keeps_secrets_out_of_files(
    ssod_daemon: DaemonHarness, secret_service: SecretService
) -> None:
    start_keyring(ssod_daemon, secret_service, "--token-store", "keyring")
    login(ssod_daemon)

    sealed = on_disk(ssod_daemon)
    assert sorted(sealed) == ["accessToken", "expiresAt", "region", "startUrl"]
    assert secrets_on_disk(ssod_daemon) == []  # no registration file either
    refresh = secret_service.items(kind="refresh-token", session="corp", use="token")
    client = secret_service.items(kind="client-secret", session="corp", use="token")
    assert len(refresh) == 1 and refresh[0]["secret"]
    assert len(client) == 1 and client[0]["secret"]
    log = ssod_daemon.log()
    assert refresh[0]["secret"] not in log and client[0]["secret"] not in log
    assert secret_service.items(kind="client-secret", use="registration")  # for the next login
    serves(ssod_daemon)

    status = ssod_daemon.request(Op.STATUS)["daemon"]
    assert status["token_store"] == "keyring"
    assert status["token_store_error"] is None
    text = ssod_daemon.ssod("status")
    assert "token store   keyring" in text.stdout, text.stdout
    shown = json.loads(ssod_daemon.ssod("status", "--json").stdout)
    assert shown["daemon"]["token_store"] == "keyring"
    assert session(ssod_daemon)["refreshable"] is True


def test_restart_refreshes_from_the_keyring_without_a_login(
    ssod_daemon: DaemonHarness, secret_service: SecretService
) -> None:
    start_keyring(ssod_daemon, secret_service, "--token-store", "keyring")
    login(ssod_daemon)
    before = on_disk(ssod_daemon)["accessToken"]
    refresh = secret_service.lookup(kind="refresh-token", use="token")
    ssod_daemon.stop()
    ssod_daemon.emulator.reset_calls()

    # A margin longer than the token's life: the restarted daemon must refresh at once.
    start_keyring(ssod_daemon, secret_service, "--token-store", "keyring", "--token-margin", "1e6")
    wait_for(
        lambda: True if on_disk(ssod_daemon)["accessToken"] != before else None,
        "the restarted daemon to refresh from the keyring",
        ssod_daemon,
    )
    assert ssod_daemon.emulator.calls().get("CreateToken:refresh_token", 0) >= 1
    assert logins(ssod_daemon) == 0
    assert secrets_on_disk(ssod_daemon) == []
    serves(ssod_daemon, "prod")
    # The rotated refresh token replaced the old item: one item, the new value.
    items = secret_service.items(kind="refresh-token", session="corp", use="token")
    assert len(items) == 1 and items[0]["secret"] != refresh


def test_another_tools_complete_files_are_sealed(
    ssod_daemon: DaemonHarness, secret_service: SecretService
) -> None:
    """What `aws sso login` writes (a token and a registration) loses its secrets in seconds."""
    start_keyring(ssod_daemon, secret_service, "--token-store", "keyring")
    login(ssod_daemon)
    ours = parse_token(token_file(ssod_daemon).read_bytes(), path="token")
    # As the CLI writes them: complete, in place. The values only need to look real.
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC).replace(microsecond=0)
    theirs = SsoToken(
        start_url=ours.start_url,
        region=ours.region,
        access_token="their-access-token",
        expires_at=now + timedelta(hours=1),
        client_id="their-client",
        client_secret="their-client-secret",
        registration_expires_at=now + timedelta(days=90),
        refresh_token="their-refresh-token",
    )
    registration = ssod_daemon.cache_dir / ("ab" * 20 + ".json")
    registration.write_bytes(
        serialize_registration(
            Registration(
                client_id="their-client",
                client_secret="their-client-secret",
                expires_at=now + timedelta(days=90),
            )
        )
    )
    token_file(ssod_daemon).write_bytes(serialize_token(theirs))

    def sealed() -> bool | None:
        done = not secrets_on_disk(ssod_daemon) and not registration.exists()
        return True if done else None

    wait_for(sealed, "the daemon to seal the files another tool wrote", ssod_daemon)
    assert on_disk(ssod_daemon)["accessToken"] == "their-access-token"
    assert secret_service.lookup(kind="refresh-token", session="corp") == "their-refresh-token"
    assert (
        secret_service.lookup(kind="client-secret", session="corp", use="token")
        == "their-client-secret"
    )
    assert secret_service.lookup(kind="client-secret", **{"cache-key": "ab" * 20})
    assert session(ssod_daemon)["refreshable"] is True


def test_switching_stores_both_ways_needs_no_login(
    ssod_daemon: DaemonHarness, secret_service: SecretService
) -> None:
    start_keyring(ssod_daemon, secret_service)  # shared, the default
    login(ssod_daemon)
    complete = on_disk(ssod_daemon)
    assert all(field in complete for field in SECRET_FIELDS)
    ssod_daemon.stop()

    # shared -> keyring: the file is sealed, its secrets are items.
    start_keyring(ssod_daemon, secret_service, "--token-store", "keyring")
    wait_for(lambda: True if not secrets_on_disk(ssod_daemon) else None, "sealing", ssod_daemon)
    assert secret_service.lookup(kind="refresh-token") == complete["refreshToken"]
    assert session(ssod_daemon)["refreshable"] is True
    ssod_daemon.stop()

    # keyring -> shared: the complete file again, and no item left.
    ssod_daemon.emulator.reset_calls()
    start_keyring(ssod_daemon, secret_service, "--token-store", "shared", "--token-margin", "1e6")
    wait_for(
        lambda: True if on_disk(ssod_daemon)["accessToken"] != complete["accessToken"] else None,
        "the daemon to refresh with the restored refresh token",
        ssod_daemon,
    )
    assert all(field in on_disk(ssod_daemon) for field in SECRET_FIELDS)
    assert secret_service.items() == []
    assert logins(ssod_daemon) == 0
    serves(ssod_daemon)


def test_logout_removes_the_items(
    ssod_daemon: DaemonHarness, secret_service: SecretService
) -> None:
    start_keyring(ssod_daemon, secret_service, "--token-store", "keyring")
    login(ssod_daemon)
    assert secret_service.items(session="corp", use="token")
    done = ssod_daemon.ssod("logout", "--profile", "dev")
    assert done.returncode == 0, done.stderr
    assert secret_service.items(session="corp", use="token") == []
    assert not token_file(ssod_daemon).exists()


def test_memory_store_persists_nothing_long_lived(
    ssod_daemon: DaemonHarness, secret_service: SecretService
) -> None:
    start_keyring(ssod_daemon, secret_service, "--token-store", "memory")
    login(ssod_daemon)
    assert secrets_on_disk(ssod_daemon) == []
    assert secret_service.items() == []
    assert session(ssod_daemon)["refreshable"] is True
    assert ssod_daemon.request(Op.STATUS)["daemon"]["token_store"] == "memory"
    ssod_daemon.stop()
    start_keyring(ssod_daemon, secret_service, "--token-store", "memory")
    assert session(ssod_daemon)["refreshable"] is False  # a restart means a new login


def refused(harness: DaemonHarness, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``ssod daemon --token-store keyring`` in ``env``, which must exit by itself."""
    return subprocess.run(
        ssod_command("daemon", "--token-store", "keyring"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_no_session_bus_refuses_to_start(ssod_daemon: DaemonHarness) -> None:
    env = {k: v for k, v in ssod_daemon.env.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    done = refused(ssod_daemon, env)
    assert done.returncode != 0
    assert "session bus" in done.stderr and "--token-store" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_bus_without_a_secret_service_refuses_to_start(
    ssod_daemon: DaemonHarness, short_tmp: Path
) -> None:
    from keyring_support import SessionBus

    (short_tmp / "bus").mkdir()
    bus = SessionBus(short_tmp / "bus")
    try:
        done = refused(ssod_daemon, {**ssod_daemon.env, "DBUS_SESSION_BUS_ADDRESS": bus.address})
    finally:
        bus.stop()
    assert done.returncode != 0
    assert "no Secret Service" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_locked_collection_is_reported_and_recovers(
    ssod_daemon: DaemonHarness, secret_service: SecretService
) -> None:
    start_keyring(ssod_daemon, secret_service, "--token-store", "keyring")
    login(ssod_daemon)
    ssod_daemon.stop()
    secret_service.lock()

    # After a reboot, before the user unlocks: valid tokens are still served.
    start_keyring(ssod_daemon, secret_service, "--token-store", "keyring")
    corp = session(ssod_daemon)
    assert corp["state"] == "ready"
    assert corp["refreshable"] is False
    assert "keyring is locked" in corp["last_error"]
    assert "keyring is locked" in ssod_daemon.request(Op.STATUS)["daemon"]["token_store_error"]
    text = ssod_daemon.ssod("status").stdout
    assert "keyring is locked" in text, text
    serves(ssod_daemon)
    assert secrets_on_disk(ssod_daemon) == []  # never a plain-text fallback

    secret_service.unlock()
    wait_for(
        lambda: True if session(ssod_daemon)["refreshable"] else None,
        "the daemon to pick the secrets up once unlocked",
        ssod_daemon,
    )
    assert session(ssod_daemon)["last_error"] is None
    assert ssod_daemon.request(Op.STATUS)["daemon"]["token_store_error"] is None


def test_the_bus_is_found_in_the_runtime_dir_without_the_variable(
    ssod_daemon: DaemonHarness, secret_service: SecretService, short_tmp: Path
) -> None:
    """As a systemd user service may run: no DBUS_SESSION_BUS_ADDRESS, but $XDG_RUNTIME_DIR/bus."""
    socket = secret_service.address.removeprefix("unix:path=").split(",")[0]
    runtime = short_tmp / "xdg"
    runtime.mkdir(mode=0o700)
    (runtime / "bus").symlink_to(socket)
    ssod_daemon.env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    ssod_daemon.env["XDG_RUNTIME_DIR"] = str(runtime)
    ssod_daemon.start("--token-store", "keyring")
    login(ssod_daemon)
    assert secrets_on_disk(ssod_daemon) == []
    assert secret_service.items(kind="refresh-token", use="token")


def test_refreshes_while_locked_are_saved_once_unlocked(
    ssod_daemon: DaemonHarness, secret_service: SecretService
) -> None:
    """Locked under a running daemon: it refreshes from memory, and the rotated refresh token
    reaches the keyring at the unlock (a restart then refreshes with it: the old one is dead)."""
    emulator = ssod_daemon.emulator
    emulator.settings(token_lifetime=6)  # the emulator rotates refresh tokens
    start_keyring(ssod_daemon, secret_service, "--token-store", "keyring", "--token-margin", "3")
    login(ssod_daemon)
    before = secret_service.lookup(kind="refresh-token", use="token")
    secret_service.lock()
    emulator.reset_calls()

    def refreshed_while_locked() -> bool | None:
        ok = emulator.calls().get("CreateToken:refresh_token", 0) >= 1
        corp = session(ssod_daemon)
        return True if ok and corp["last_error"] and "locked" in corp["last_error"] else None

    wait_for(refreshed_while_locked, "a refresh while the keyring is locked", ssod_daemon)
    assert session(ssod_daemon)["state"] == "ready"
    assert secrets_on_disk(ssod_daemon) == []

    secret_service.unlock()
    wait_for(
        lambda: True if session(ssod_daemon)["last_error"] is None else None,
        "the pending secrets to be saved",
        ssod_daemon,
    )
    saved = secret_service.lookup(kind="refresh-token", use="token")
    assert saved and saved != before
    ssod_daemon.stop()

    emulator.settings(token_lifetime=3600)
    emulator.reset_calls()
    start_keyring(ssod_daemon, secret_service, "--token-store", "keyring", "--token-margin", "1e6")
    wait_for(
        lambda: True if emulator.calls().get("CreateToken:refresh_token", 0) else None,
        "a refresh with the saved refresh token",
        ssod_daemon,
    )
    wait_for(
        lambda: True if session(ssod_daemon)["refreshable"] else None, "refreshable", ssod_daemon
    )
    assert logins(ssod_daemon) == 0
    serves(ssod_daemon)


def test_logout_while_locked_removes_the_items_once_unlocked(
    ssod_daemon: DaemonHarness, secret_service: SecretService
) -> None:
    start_keyring(ssod_daemon, secret_service, "--token-store", "keyring")
    login(ssod_daemon)
    secret_service.lock()
    done = ssod_daemon.ssod("logout", "--profile", "dev")
    assert done.returncode == 0, done.stderr
    assert not token_file(ssod_daemon).exists()
    assert "keyring is locked" in ssod_daemon.request(Op.STATUS)["daemon"]["token_store_error"]
    secret_service.unlock()
    wait_for(
        lambda: True if not secret_service.items(session="corp", use="token") else None,
        "the items of the logged-out session to go",
        ssod_daemon,
    )
    assert secret_service.items(kind="client-secret", use="registration")  # kept, as the CLI's


def test_switching_from_keyring_to_memory_takes_the_items_along(
    ssod_daemon: DaemonHarness, secret_service: SecretService
) -> None:
    start_keyring(ssod_daemon, secret_service, "--token-store", "keyring")
    login(ssod_daemon)
    ssod_daemon.stop()
    ssod_daemon.emulator.reset_calls()
    start_keyring(ssod_daemon, secret_service, "--token-store", "memory")
    assert secret_service.items() == []  # nothing long-lived persisted any more
    assert secrets_on_disk(ssod_daemon) == []
    assert session(ssod_daemon)["refreshable"] is True  # and nothing lost while it runs
    serves(ssod_daemon)
    assert logins(ssod_daemon) == 0
