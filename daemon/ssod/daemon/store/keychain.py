"""``--token-store keyring`` on macOS: generic passwords in the login Keychain, via ``keyring``.

The only module that imports ``keyring``, and only on macOS. Kept small on purpose: it is not
tested here (no Keychain on Linux CI). Each item is the generic password of service ``ssod`` and
account ``KIND:CACHE-KEY`` (Keychain Access finds them by searching for ``ssod``); the password
is a JSON object holding the secret and its attributes. The Keychain cannot be listed through
``keyring``, so ``items`` knows only what this process stored or read.
"""

from __future__ import annotations

import json
import threading

from ssod.daemon.store.secrets import SERVICE, Kind, Secret, SecretStore, StoredSecret
from ssod.errors import KeyringError


class KeychainStore(SecretStore):
    """Generic passwords of service ``ssod`` in the default Keychain."""

    name = "keyring"
    where = "the macOS Keychain"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: set[tuple[Kind, str]] = set()

    def open(self) -> None:
        try:
            import keyring
        except ImportError:
            raise KeyringError(
                "--token-store keyring needs the Python package keyring; reinstall ssod"
            ) from None
        backend = keyring.get_keyring()
        if "macOS" not in type(backend).__module__ and "macos" not in type(backend).__module__:
            raise KeyringError(
                f"no Keychain backend ({type(backend).__name__}): "
                "use --token-store shared or memory"
            )

    def get(self, kind: Kind, key: str) -> Secret | None:
        import keyring

        with self._lock:
            try:
                raw = keyring.get_password(SERVICE, f"{kind}:{key}")
            except keyring.errors.KeyringError as err:
                raise KeyringError(f"the Keychain failed ({type(err).__name__})") from None
            if raw is None:
                return None
            self._seen.add((kind, key))
            obj = json.loads(raw)
            return Secret(str(obj["value"]), {str(k): str(v) for k, v in obj["attributes"].items()})

    def put(self, kind: Kind, key: str, secret: Secret) -> None:
        import keyring

        raw = json.dumps({"value": secret.value, "attributes": dict(secret.attributes)})
        with self._lock:
            try:
                keyring.set_password(SERVICE, f"{kind}:{key}", raw)
            except keyring.errors.KeyringError as err:
                raise KeyringError(f"the Keychain failed ({type(err).__name__})") from None
            self._seen.add((kind, key))

    def delete(self, key: str) -> int:
        import keyring

        gone = 0
        with self._lock:
            for kind in ("refresh-token", "client-secret"):
                try:
                    keyring.delete_password(SERVICE, f"{kind}:{key}")
                    gone += 1
                except keyring.errors.PasswordDeleteError:
                    pass
                self._seen.discard((kind, key))
        return gone

    def items(self) -> list[StoredSecret]:
        found = []
        for kind, key in sorted(self._seen):
            secret = self.get(kind, key)
            if secret is not None:
                found.append(StoredSecret(kind, key, secret))
        return found
