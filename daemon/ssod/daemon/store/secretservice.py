"""``--token-store keyring`` on Linux: items in the Secret Service's default collection.

The only module that imports ``secretstorage`` (a pure-Python, jeepney-based client of the
freedesktop.org Secret Service API, served by GNOME Keyring, KWallet and KeePassXC). Secrets
travel over the session bus encrypted (secretstorage negotiates the DH session that libsecret
uses). Items carry ``service=ssod``, ``kind``, ``cache-key`` and the non-secret attributes
``tokenstore`` gives them, so ``secret-tool search --all service ssod`` lists them. A locked
collection raises ``KeyringLocked``: ssod never unlocks it (that would pop up a prompt at every
retry) and never falls back to another store. One bus connection, used by one thread at a time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ssod.daemon.store.secrets import KINDS, SERVICE, Kind, Secret, SecretStore, StoredSecret
from ssod.errors import KeyringError, KeyringLocked

if TYPE_CHECKING:
    from jeepney.io.blocking import DBusConnection
    from secretstorage import Collection

log = logging.getLogger("ssod.keyring")

_T = TypeVar("_T")

_HOW_TO_FIX = (
    "start a Secret Service provider in your desktop session (GNOME Keyring, KWallet or "
    "KeePassXC with its Secret Service integration) with DBUS_SESSION_BUS_ADDRESS set, or run "
    "the daemon with --token-store shared or memory"
)

#: Attributes ssod sets itself; the caller's attributes must not override them.
_OWN = frozenset({"service", "kind", "cache-key"})


def _label(kind: Kind, attributes: dict[str, str]) -> str:
    what = "refresh token" if kind == "refresh-token" else "client secret"
    session = attributes.get("session")
    return f"ssod {what} of {session}" if session else f"ssod {what} (client registration)"


class SecretServiceStore(SecretStore):
    """The default collection of the Secret Service on the session bus."""

    name = "keyring"
    where = "the Secret Service"

    def __init__(self, *, only_running: bool = False) -> None:
        #: Use the provider only if it already runs: never start one by D-Bus activation (when
        #: ssod merely looks for items an earlier ``keyring`` run left).
        self._only_running = only_running
        self._lock = threading.Lock()
        self._conn: DBusConnection | None = None
        self._collection: Collection | None = None

    def open(self) -> None:
        with self._lock:
            self._connect()

    def _connect(self) -> Collection:
        if self._collection is not None:
            return self._collection
        try:
            import secretstorage
        except ImportError:  # pragma: no cover - a dependency of ssod on Linux
            raise KeyringError(
                "--token-store keyring needs the Python package secretstorage; reinstall ssod"
            ) from None
        try:
            conn = _session_bus()
        except secretstorage.SecretServiceNotAvailableException as err:
            raise KeyringError(
                f"no D-Bus session bus to reach the keyring ({err}): {_HOW_TO_FIX}"
            ) from None
        except (OSError, ValueError) as err:
            # A bus address where nothing listens (a stale DBUS_SESSION_BUS_ADDRESS): jeepney's
            # connect fails with the socket's error, which secretstorage does not wrap.
            why = err.strerror if isinstance(err, OSError) and err.strerror else type(err).__name__
            raise KeyringError(
                f"cannot connect to the D-Bus session bus ({why}): {_HOW_TO_FIX}"
            ) from None
        try:
            if not _available(conn, only_running=self._only_running):
                raise KeyringError(f"no Secret Service on the session bus: {_HOW_TO_FIX}")
            try:
                collection = secretstorage.Collection(conn)
            except secretstorage.ItemNotFoundException:
                raise KeyringError(
                    "the Secret Service has no default collection (keyring): create one, for "
                    "example with Seahorse, or use --token-store shared or memory"
                ) from None
        except BaseException:
            conn.close()
            raise
        self._conn, self._collection = conn, collection
        return collection

    def _call(self, job: Callable[[Collection], _T]) -> _T:
        import secretstorage
        from jeepney.wrappers import DBusErrorResponse

        with self._lock:
            for attempt in (1, 2):
                collection = self._connect()
                try:
                    return job(collection)
                except secretstorage.LockedException:
                    raise KeyringLocked(
                        "the keyring is locked: unlock it (log in to the desktop, or open "
                        "Passwords and Keys) and ssod picks its secrets up again"
                    ) from None
                except secretstorage.SecretStorageException as err:
                    # An item gone between search and read, a dismissed prompt: retried later.
                    raise KeyringError(
                        f"the Secret Service failed ({type(err).__name__})"
                    ) from None
                except (DBusErrorResponse, OSError, ConnectionError) as err:
                    # The provider restarted or the bus went away: connect once more.
                    self._drop()
                    if attempt == 2:
                        raise KeyringError(
                            f"the Secret Service failed ({type(err).__name__})"
                        ) from None
            raise AssertionError("unreachable")

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = self._collection = None

    def get(self, kind: Kind, key: str) -> Secret | None:
        def job(collection: Collection) -> Secret | None:
            wanted = {"service": SERVICE, "kind": kind, "cache-key": key}
            for item in collection.search_items(wanted):
                value = item.get_secret().decode("utf-8")
                attributes = {k: v for k, v in item.get_attributes().items() if k not in _OWN}
                return Secret(value, attributes)
            return None

        return self._call(job)

    def put(self, kind: Kind, key: str, secret: Secret) -> None:
        attributes = {k: v for k, v in secret.attributes.items() if k not in _OWN}
        attributes.update({"service": SERVICE, "kind": kind, "cache-key": key})

        def job(collection: Collection) -> None:
            collection.ensure_not_locked()
            old = list(
                collection.search_items({"service": SERVICE, "kind": kind, "cache-key": key})
            )
            new = collection.create_item(
                _label(kind, attributes),
                attributes,
                secret.value.encode("utf-8"),
                replace=True,
                content_type="text/plain",
            )
            # The new item first, then the old ones (other attributes: another client id): a
            # crash in between leaves one too many, never none. `replace` may have reused one.
            for item in old:
                if item.item_path != new.item_path:
                    item.delete()

        self._call(job)

    def delete(self, key: str) -> int:
        def job(collection: Collection) -> int:
            collection.ensure_not_locked()
            found = list(collection.search_items({"service": SERVICE, "cache-key": key}))
            for item in found:
                item.delete()
            return len(found)

        return self._call(job)

    def items(self) -> list[StoredSecret]:
        def job(collection: Collection) -> list[StoredSecret]:
            found = []
            for item in collection.search_items({"service": SERVICE}):
                attributes = item.get_attributes()
                kind, key = attributes.get("kind"), attributes.get("cache-key")
                if kind not in KINDS or not key:
                    continue
                extra = {k: v for k, v in attributes.items() if k not in _OWN}
                value = item.get_secret().decode("utf-8")
                found.append(StoredSecret(kind, key, Secret(value, extra)))
            return found

        return self._call(job)

    def close(self) -> None:
        with self._lock:
            self._drop()


def _session_bus() -> DBusConnection:
    """The session bus: ``DBUS_SESSION_BUS_ADDRESS``, else ``$XDG_RUNTIME_DIR/bus`` if it exists.

    The fallback is what libdbus and sd-bus do; a systemd user service may lack the variable.
    """
    import secretstorage

    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return secretstorage.dbus_init()
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    socket = os.path.join(runtime, "bus") if runtime else None
    if socket is None or not os.path.exists(socket):
        raise secretstorage.SecretServiceNotAvailableException(
            "DBUS_SESSION_BUS_ADDRESS is unset and there is no $XDG_RUNTIME_DIR/bus"
        )
    from jeepney.io.blocking import open_dbus_connection
    from secretstorage.util import add_match_rules

    try:
        conn = open_dbus_connection(bus=f"unix:path={socket}")
    except (ConnectionError, ValueError) as err:
        raise secretstorage.SecretServiceNotAvailableException(str(err)) from None
    add_match_rules(conn)
    return conn


def _available(conn: DBusConnection, *, only_running: bool) -> bool:
    """Whether a Secret Service runs on the bus (or, unless ``only_running``, can be started)."""
    import secretstorage
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import Proxy

    if not only_running:
        return secretstorage.check_service_availability(conn)
    return bool(Proxy(message_bus, conn).NameHasOwner("org.freedesktop.secrets")[0] == 1)
