"""The ``SecretStore`` seam: where the long-lived secrets of SSO sessions live outside the cache.

``--token-store`` picks one of three stores (``STORES``): ``shared`` keeps the AWS CLI's cache
complete and needs no secret store at all; ``keyring`` keeps each secret as an item of the OS
keyring (``secretservice`` on Linux, ``keychain`` on macOS); ``memory`` keeps them in this
process only (``MemoryStore``, here). A store holds items named by ``(kind, key)``: ``kind`` is
``refresh-token`` or ``client-secret`` and ``key`` the token or registration cache key. Each
item carries a few attributes that are not secret (the session's name, the client id, the
registration's expiry) so a user can find it (``secret-tool search service ssod``) and ssod can
rebuild a token from it. What goes into which item is ``tokenstore``'s business; this module
owns only the contract. Every call blocks; the daemon makes them via ``asyncio.to_thread``.
A locked keyring raises ``KeyringLocked``, an unusable one ``KeyringError``; nothing here ever
falls back to another store.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

StoreName = Literal["shared", "keyring", "memory"]
#: The values of ``--token-store`` / ``SSOD_TOKEN_STORE``; the first is the default.
STORES: Final[tuple[StoreName, ...]] = ("shared", "keyring", "memory")

Kind = Literal["refresh-token", "client-secret"]
KINDS: Final[tuple[Kind, ...]] = ("refresh-token", "client-secret")

#: The attribute every ssod item carries, so ``secret-tool search service ssod`` finds them.
SERVICE: Final = "ssod"


@dataclass(frozen=True, repr=False)
class Secret:
    """One stored secret and its attributes (which are not secret)."""

    value: str
    attributes: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Secret(value=<hidden>, attributes={dict(self.attributes)!r})"


@dataclass(frozen=True, repr=False)
class StoredSecret:
    """An item as a listing returns it."""

    kind: Kind
    key: str
    secret: Secret

    def __repr__(self) -> str:
        return f"StoredSecret(kind={self.kind!r}, key={self.key!r}, secret={self.secret!r})"


class SecretStore(ABC):
    """Items by ``(kind, key)``. Implementations must be safe to call from several threads."""

    #: ``keyring`` or ``memory``: what ``ssod status`` shows.
    name: StoreName
    #: Where the secrets are, for status and messages ("GNOME Keyring", "this process").
    where: str = ""

    def open(self) -> None:  # noqa: B027 (most stores need no start-up)
        """Check the store can be used now; raises ``KeyringError`` saying what is missing."""

    @abstractmethod
    def get(self, kind: Kind, key: str) -> Secret | None:
        """The item, or None if there is none; ``KeyringLocked`` while the keyring is locked."""

    @abstractmethod
    def put(self, kind: Kind, key: str, secret: Secret) -> None:
        """Create or replace the item."""

    @abstractmethod
    def delete(self, key: str) -> int:
        """Remove every item of ``key``; how many there were."""

    @abstractmethod
    def items(self) -> list[StoredSecret]:
        """Every item of ssod's in the store (used when switching stores)."""

    def close(self) -> None:  # noqa: B027 (most stores hold nothing to release)
        """Release what the store holds (a bus connection)."""


class MemoryStore(SecretStore):
    """Secrets in this process only: a restart forgets them (``--token-store memory``)."""

    name: StoreName = "memory"
    where = "the daemon's memory"

    def __init__(self) -> None:
        self._items: dict[tuple[Kind, str], Secret] = {}
        self._lock = threading.Lock()

    def get(self, kind: Kind, key: str) -> Secret | None:
        with self._lock:
            return self._items.get((kind, key))

    def put(self, kind: Kind, key: str, secret: Secret) -> None:
        with self._lock:
            self._items[(kind, key)] = secret

    def delete(self, key: str) -> int:
        with self._lock:
            gone = [k for k in self._items if k[1] == key]
            for k in gone:
                del self._items[k]
            return len(gone)

    def items(self) -> list[StoredSecret]:
        with self._lock:
            return [StoredSecret(kind, key, s) for (kind, key), s in self._items.items()]
