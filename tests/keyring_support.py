"""A real Secret Service for tests: a private D-Bus session bus and gnome-keyring-daemon on it.

``SecretService`` starts ``dbus-daemon --session`` and ``gnome-keyring-daemon --unlock
--components=secrets`` (the password on its standard input) in a throwaway HOME, so the login
collection exists and is unlocked. Tests look at it from outside, as a user would, with
``secret-tool``; they lock the collection over D-Bus (``Lock``) and unlock it with the password
through GNOME Keyring's own interface (what its PAM module does at login), since a real unlock
prompt needs a desktop. Nothing of ssod's is used here.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

PASSWORD = b"ssod-test-keyring"
LOGIN_COLLECTION = "/org/freedesktop/secrets/collection/login"
TOOLS = ("dbus-daemon", "gnome-keyring-daemon", "secret-tool")


def missing_tools() -> list[str]:
    """The programs a Secret Service test needs that are not installed."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def require_tools() -> None:
    """Skip without them; in CI (which installs them) fail instead."""
    missing = missing_tools()
    if missing:
        reason = (
            f"{', '.join(missing)} not installed (Debian: dbus, gnome-keyring, libsecret-tools)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def _wait(predicate: object, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


#: A session bus with no service directories: nothing is started on demand (D-Bus activation
#: would race our gnome-keyring-daemon with one that has no password, or start a prompter).
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class SessionBus:
    """A private ``dbus-daemon --session`` that activates nothing."""

    def __init__(self, root: Path) -> None:
        self.root = root
        config = root / "bus.conf"
        config.write_text(_BUS_CONFIG.format(dir=root))
        self.proc = subprocess.Popen(
            [
                "dbus-daemon",
                f"--config-file={config}",
                "--nofork",
                "--nopidfile",
                "--print-address=1",
            ],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        self.address = self.proc.stdout.readline().strip()
        if not self.address:
            raise RuntimeError("dbus-daemon printed no address")

    def stop(self) -> None:
        """Stop the bus."""
        _stop(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class SecretService:
    """gnome-keyring-daemon's Secret Service on a private session bus, its login collection open."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "keyring-home"
        self.runtime = root / "keyring-run"
        self.home.mkdir(parents=True)
        self.runtime.mkdir(mode=0o700)
        self.bus = SessionBus(root)
        self.env = {
            **os.environ,
            "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "DBUS_SESSION_BUS_ADDRESS": self.bus.address,
        }
        self.proc = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(PASSWORD)
        self.proc.stdin.close()
        try:
            _wait(self._ready, "gnome-keyring-daemon to serve the login collection")
        except BaseException:
            self.stop()
            raise

    @property
    def address(self) -> str:
        """``DBUS_SESSION_BUS_ADDRESS`` of the bus it serves on."""
        return self.bus.address

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"gnome-keyring-daemon exited with {self.proc.returncode}")
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection

        conn = open_dbus_connection(bus=self.address)
        try:
            login = DBusAddress(
                LOGIN_COLLECTION,
                bus_name="org.freedesktop.secrets",
                interface="org.freedesktop.DBus.Properties",
            )
            reply = conn.send_and_get_reply(
                new_method_call(login, "Get", "ss", ("org.freedesktop.Secret.Collection", "Locked"))
            )
            return reply.header.message_type.name == "method_return" and not reply.body[0][1]
        finally:
            conn.close()

    def secret_tool(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``secret-tool ARGS`` against this service."""
        return subprocess.run(
            ["secret-tool", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def items(self, **attributes: str) -> list[dict[str, str]]:
        """Label and secret of every item ``secret-tool search --all`` finds (service=ssod).

        Attributes go to standard error, separately from the items, so a test asks for the
        attributes it cares about instead of reading them back.
        """
        query = {"service": "ssod", **attributes}
        done = self.secret_tool("search", "--all", *[w for k, v in query.items() for w in (k, v)])
        found: list[dict[str, str]] = []
        for line in done.stdout.splitlines():
            if line.startswith("[/"):
                found.append({})
            elif " = " in line and found:
                key, _, value = line.partition(" = ")
                found[-1][key] = value
        return found

    def lookup(self, **attributes: str) -> str | None:
        """The secret of the item ``secret-tool lookup`` finds, if any."""
        query = {"service": "ssod", **attributes}
        done = self.secret_tool("lookup", *[w for k, v in query.items() for w in (k, v)])
        return done.stdout if done.returncode == 0 and done.stdout else None

    def lock(self) -> None:
        """Lock the login collection, as a screen lock or a reboot would leave it."""
        self._call("org.freedesktop.Secret.Service", "Lock", "ao", ([LOGIN_COLLECTION],))

    def unlock(self) -> None:
        """Unlock it with the password, as GNOME Keyring's PAM module does at login."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection

        conn = open_dbus_connection(bus=self.address)
        try:
            service = DBusAddress(
                "/org/freedesktop/secrets",
                bus_name="org.freedesktop.secrets",
                interface="org.freedesktop.Secret.Service",
            )
            reply = conn.send_and_get_reply(
                new_method_call(service, "OpenSession", "sv", ("plain", ("s", "")))
            )
            session = reply.body[1]
            internal = DBusAddress(
                "/org/freedesktop/secrets",
                bus_name="org.freedesktop.secrets",
                interface="org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
            )
            conn.send_and_get_reply(
                new_method_call(
                    internal,
                    "UnlockWithMasterPassword",
                    "o(oayays)",
                    (LOGIN_COLLECTION, (session, b"", PASSWORD, "text/plain")),
                )
            )
        finally:
            conn.close()

    def _call(self, interface: str, method: str, signature: str, body: tuple[object, ...]) -> None:
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection

        conn = open_dbus_connection(bus=self.address)
        try:
            address = DBusAddress(
                "/org/freedesktop/secrets", bus_name="org.freedesktop.secrets", interface=interface
            )
            reply = conn.send_and_get_reply(new_method_call(address, method, signature, body))
            if reply.header.message_type.name == "error":
                raise RuntimeError(f"{method} failed: {reply.body}")
        finally:
            conn.close()

    def stop(self) -> None:
        """Stop gnome-keyring-daemon and the bus."""
        _stop(self.proc)
        self.bus.stop()


def _stop(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
