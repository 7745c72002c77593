"""Which ``SecretStore`` a ``--token-store`` setting means, and this platform's OS keyring.

The one place that picks among the stores of ``secrets`` (memory), ``secretservice`` (Linux)
and ``keychain`` (macOS); the keyring libraries are imported only when that store is chosen.
"""

from __future__ import annotations

import logging
import os
import sys

from ssod.daemon.store.secrets import STORES, MemoryStore, SecretStore, StoreName
from ssod.errors import KeyringError

log = logging.getLogger("ssod.tokenstore")


def os_keyring() -> SecretStore:
    """The OS keyring of this platform (not opened yet); the library is imported only here."""
    if sys.platform == "darwin":
        from ssod.daemon.store.keychain import KeychainStore

        return KeychainStore()
    from ssod.daemon.store.secretservice import SecretServiceStore

    return SecretServiceStore()


def for_setting(name: StoreName) -> SecretStore | None:
    """The store ``--token-store NAME`` asks for; None for ``shared`` (the cache keeps all)."""
    if name == "memory":
        return MemoryStore()
    if name == "keyring":
        return os_keyring()
    if name == "shared":
        return None
    raise KeyringError(f"unknown token store {name!r}: use one of {', '.join(STORES)}")


def leftover_keyring() -> SecretStore | None:
    """The Secret Service if a session bus is there and a provider runs on it; else None.

    Where a daemon with another store looks for items an earlier ``keyring`` run left. Only on
    Linux (the Keychain cannot be listed, see ``keychain``); never starts a provider.
    """
    if sys.platform != "linux":
        return None
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    bus = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if not bus and not (runtime and os.path.exists(os.path.join(runtime, "bus"))):
        return None  # no bus: nothing to import or connect to
    from ssod.daemon.store.secretservice import SecretServiceStore

    store = SecretServiceStore(only_running=True)
    try:
        store.open()
    except KeyringError as err:
        log.debug("event=no_os_keyring error=%r", err.message)
        return None
    return store
