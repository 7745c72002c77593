"""Which ``SecretStore`` a ``--token-store`` setting means, and this platform's OS keyring.

The one place that picks among the stores of ``secrets`` (memory), ``secretservice`` (Linux)
and ``keychain`` (macOS); the keyring libraries are imported only when that store is chosen.
"""

from __future__ import annotations

import sys

from ssod.daemon.store.secrets import STORES, MemoryStore, SecretStore, StoreName
from ssod.errors import KeyringError


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
