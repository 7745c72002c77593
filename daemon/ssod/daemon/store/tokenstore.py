"""The SSO token cache as ``--token-store`` has it: complete files, or sealed ones plus a store.

With ``shared`` (no ``SecretStore``) every call goes straight to ``TokenCacheDir``: the files are
complete, exactly as the AWS CLI writes them. With ``keyring`` or ``memory`` this module owns
*sealing*: a token file keeps only what botocore needs to use the token until it expires
(``startUrl``, ``region``, ``accessToken``, ``expiresAt`` and unknown fields), while the client
secret and refresh token live in the store as two items, ``client-secret`` (attributes
``client-id`` and ``expires-at``, the registration's expiry) and ``refresh-token``. A complete
file another tool wrote (``aws sso login``, an SDK's refresh) is adopted: its secrets go to the
store, then the file is rewritten sealed. Client registrations are items only: a registration
file another tool wrote is moved into the store and deleted (the AWS CLI cannot use one without
its secret, and registers anew). Readers get complete tokens: sealed file plus secrets.

Secrets this process has seen are kept in memory (the daemon holds them to refresh anyway), so a
locked keyring does not stop refreshes already possible; what could not be written is retried
(``pending``) and never written anywhere else. ``restore`` moves items left by an earlier
``keyring`` run back into the store now in use (``shared``: complete files). Blocking calls; the
daemon makes them via ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from ssod.daemon.store.cachefiles import TokenCacheDir
from ssod.daemon.store.secrets import Secret, SecretStore, StoredSecret, StoreName
from ssod.daemon.store.tokencache import (
    Registration,
    SsoToken,
    format_timestamp,
    parse_timestamp,
)
from ssod.errors import CacheError, KeyringError, TokenCacheError

log = logging.getLogger("ssod.tokenstore")

#: Seconds between attempts to reach a locked keyring (``SSOD_KEYRING_RETRY``).
DEFAULT_RETRY: Final = 30.0

#: The item attribute telling a registration's client secret from a token's.
USE_REGISTRATION: Final = "registration"
USE_TOKEN: Final = "token"  # noqa: S105 (an attribute value, not a secret)


@dataclass(frozen=True, repr=False)
class SessionSecrets:
    """The long-lived part of a token file: what is needed to refresh it."""

    client_id: str | None = None
    client_secret: str | None = None
    registration_expires_at: str | None = None  # as the file had it (botocore's text)
    refresh_token: str | None = None

    def __repr__(self) -> str:
        return f"SessionSecrets(client_id={self.client_id!r}, secrets=<hidden>)"

    @property
    def empty(self) -> bool:
        """Nothing worth storing."""
        return self.client_secret is None and self.refresh_token is None


# -- pure: splitting and joining ---------------------------------------------------------------


def is_sealed(token: SsoToken) -> bool:
    """Whether a token file holds no long-lived secret."""
    return token.refresh_token is None and token.client_secret is None


def split(token: SsoToken) -> tuple[SsoToken, SessionSecrets]:
    """The sealed token botocore can still use until it expires, and the secrets taken out."""
    reg = token.registration_expires_at
    secrets = SessionSecrets(
        client_id=token.client_id,
        client_secret=token.client_secret,
        registration_expires_at=format_timestamp(reg) if reg is not None else None,
        refresh_token=token.refresh_token,
    )
    sealed = replace(
        token,
        client_id=None,
        client_secret=None,
        registration_expires_at=None,
        refresh_token=None,
    )
    return sealed, secrets


def join(sealed: SsoToken, secrets: SessionSecrets) -> SsoToken:
    """``sealed`` with ``secrets`` put back: the complete token."""
    reg = secrets.registration_expires_at
    return replace(
        sealed,
        client_id=secrets.client_id,
        client_secret=secrets.client_secret,
        registration_expires_at=parse_timestamp(reg) if reg is not None else None,
        refresh_token=secrets.refresh_token,
    )


def to_items(secrets: SessionSecrets, session: str) -> dict[str, Secret]:
    """The store items (by kind) that hold ``secrets``."""
    common = {"use": USE_TOKEN, "session": session}
    if secrets.client_id is not None:
        common["client-id"] = secrets.client_id
    items: dict[str, Secret] = {}
    if secrets.client_secret is not None:
        attributes = dict(common)
        if secrets.registration_expires_at is not None:
            attributes["expires-at"] = secrets.registration_expires_at
        items["client-secret"] = Secret(secrets.client_secret, attributes)
    if secrets.refresh_token is not None:
        items["refresh-token"] = Secret(secrets.refresh_token, common)
    return items


def from_items(client: Secret | None, refresh: Secret | None) -> SessionSecrets | None:
    """The secrets two items hold; a refresh token of another client is not used."""
    if client is None and refresh is None:
        return None
    client_id = (client or refresh or Secret("")).attributes.get("client-id")
    if refresh is not None and refresh.attributes.get("client-id") != client_id:
        refresh = None
    return SessionSecrets(
        client_id=client_id,
        client_secret=client.value if client is not None else None,
        registration_expires_at=client.attributes.get("expires-at") if client else None,
        refresh_token=refresh.value if refresh is not None else None,
    )


def registration_item(reg: Registration, session: str | None) -> Secret:
    """The ``client-secret`` item holding a client registration."""
    attributes = {
        "use": USE_REGISTRATION,
        "client-id": reg.client_id,
        "expires-at": format_timestamp(reg.expires_at),
    }
    if session:
        attributes["session"] = session
    if reg.scopes is not None:
        attributes["scopes"] = " ".join(reg.scopes)
    if reg.grant_types is not None:
        attributes["grant-types"] = " ".join(reg.grant_types)
    return Secret(reg.client_secret, attributes)


def registration_from(item: Secret) -> Registration | None:
    """The registration a ``client-secret`` item holds; None if it holds a token's secret."""
    a = item.attributes
    if a.get("use") != USE_REGISTRATION or "client-id" not in a or "expires-at" not in a:
        return None
    scopes, grants = a.get("scopes"), a.get("grant-types")
    try:
        expires_at = parse_timestamp(a["expires-at"])
    except ValueError:
        return None
    return Registration(
        client_id=a["client-id"],
        client_secret=item.value,
        expires_at=expires_at,
        scopes=tuple(scopes.split()) if scopes is not None else None,
        grant_types=tuple(grants.split()) if grants is not None else None,
    )


# -- the store ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """A token as read: complete when its secrets could be reached; ``locked`` when the store
    could not be used (locked, or failing) and the secrets may come back."""

    token: SsoToken | None
    locked: bool = False


class TokenStore:
    """Tokens and registrations by cache key, sealed or not as the setting says."""

    def __init__(
        self,
        cache: TokenCacheDir,
        name: StoreName = "shared",
        secrets: SecretStore | None = None,
        *,
        retry: float = DEFAULT_RETRY,
    ) -> None:
        self.cache = cache
        self.name = name
        self.secrets = secrets
        self.retry = retry
        #: Secrets this process knows, by token key, and the keys not yet written to the store.
        self._known: dict[str, SessionSecrets] = {}
        self._pending: dict[str, str] = {}  # key -> session name
        self._registrations: dict[str, Registration] = {}  # not yet in a locked store
        self._doomed: set[str] = set()  # keys whose items a locked store did not let us remove
        self._lock = threading.RLock()
        #: Why the store cannot be used right now ("the keyring is locked: ..."), for status.
        self.error: str | None = None

    @property
    def where(self) -> str:
        """Where the long-lived secrets are, for status."""
        if self.secrets is None:
            return "the AWS CLI's token cache"
        return self.secrets.where

    def open(self) -> None:
        """Check the secret store works (the daemon refuses to start if not)."""
        if self.secrets is not None:
            self.secrets.open()

    def prepare(self, leftover: Callable[[], SecretStore | None]) -> None:
        """At start: open the store (``KeyringError`` if it cannot be used), take over what an
        earlier ``keyring`` run left in the OS keyring (``leftover``, unless this is that run),
        and seal the registration files other tools wrote meanwhile."""
        self.open()
        log.info("event=token_store name=%s where=%r", self.name, self.where)
        if self.name != "keyring":
            other = leftover()
            if other is not None:
                try:
                    self.restore(other)
                finally:
                    other.close()
        if self.secrets is not None:
            self.seal_registrations()

    def close(self) -> None:
        """Release the secret store."""
        if self.secrets is not None:
            self.secrets.close()

    def _locked(self, err: KeyringError) -> None:
        """The store refused (locked) or failed: say so in status; the caller keeps what it has."""
        if self.error != err.message:
            log.warning("event=keyring_locked error=%r", err.message)
        self.error = err.message

    def _reachable(self) -> None:
        if self.error is not None:
            log.info("event=keyring_unlocked")
        self.error = None

    # -- tokens --------------------------------------------------------------------------------

    def read_token(self, key: str, session: str) -> Loaded:
        """The token under ``key``, complete if its secrets can be had; seals a complete file."""
        with self._lock:
            token = self.cache.read_token(key)
            store = self.secrets
            if store is None:
                return Loaded(token)
            locked = not self._flush()
            if token is None:
                return Loaded(None, locked)
            if not is_sealed(token):
                return Loaded(token, self._seal(key, session, token) or locked)
            secrets = self._known.get(key)
            if secrets is None:
                try:
                    secrets = from_items(
                        store.get("client-secret", key), store.get("refresh-token", key)
                    )
                except KeyringError as err:
                    self._locked(err)
                    return Loaded(token, True)
                if secrets is not None:
                    self._known[key] = secrets
                    self._reachable()
            return Loaded(join(token, secrets) if secrets is not None else token, locked)

    def _seal(self, key: str, session: str, token: SsoToken) -> bool:
        """Move a complete file's secrets into the store, then seal it; True if locked."""
        sealed, secrets = split(token)
        self._known[key] = secrets
        locked = not self._save(key, session, secrets)

        def seal(current: SsoToken | None) -> SsoToken | None:
            # Only the file we read: a newer complete one is sealed when the watcher sees it.
            if current is None or is_sealed(current):
                return None
            return sealed if current.access_token == token.access_token else None

        self.cache.update_token(key, seal)
        log.info("event=token_file_sealed key=%s store=%s locked=%s", key[:8], self.name, locked)
        return locked

    def _save(self, key: str, session: str, secrets: SessionSecrets) -> bool:
        """Write ``secrets`` to the store; False (kept as pending) if it is locked."""
        assert self.secrets is not None
        self._doomed.discard(key)  # a login after a logout the store refused: keep its items
        try:
            for kind, item in to_items(secrets, session).items():
                self.secrets.put(kind, key, item)  # type: ignore[arg-type]
        except KeyringError as err:
            self._pending[key] = session
            self._locked(err)
            return False
        self._pending.pop(key, None)
        self._reachable()
        return True

    def _flush(self) -> bool:
        """Do what a locked store refused before; True when nothing is left pending."""
        assert self.secrets is not None
        for key in list(self._doomed):
            try:
                self.secrets.delete(key)
            except KeyringError as err:
                self._locked(err)
                return False
            self._doomed.discard(key)
            log.info("event=keyring_items_removed key=%s", key[:8])
        for key, session in list(self._pending.items()):
            secrets = self._known.get(key)
            if secrets is None:
                self._pending.pop(key, None)
            elif not self._save(key, session, secrets):
                return False
        for key, reg in list(self._registrations.items()):
            if not self._save_registration(key, reg, None):
                return False
        return True

    def update_token(
        self, key: str, session: str, fn: Callable[[SsoToken | None], SsoToken | None]
    ) -> SsoToken | None:
        """Read the complete token, pass it to ``fn`` and store what it returns, sealed or not."""
        if self.secrets is None:
            return self.cache.update_token(key, fn)
        with self._lock, self.cache.locked():
            current = self.read_token(key, session).token
            new = fn(current)
            if new is None:
                return current
            self._write(key, session, new)
            return new

    def write_token(self, key: str, session: str, token: SsoToken) -> None:
        """Store a token a login obtained."""
        if self.secrets is None:
            self.cache.write_token(key, token)
            return
        with self._lock:
            self._write(key, session, token)

    def _write(self, key: str, session: str, token: SsoToken) -> None:
        sealed, secrets = split(token)
        self._known[key] = secrets
        # The secrets first: a file whose secrets were lost could never be refreshed.
        self._save(key, session, secrets)
        self.cache.write_token(key, sealed)

    def delete_token(self, key: str) -> bool:
        """Remove the token file and its items (logout); False if there was no file."""
        with self._lock:
            self._known.pop(key, None)
            self._pending.pop(key, None)
            if self.secrets is not None:
                try:
                    self.secrets.delete(key)
                except KeyringError as err:
                    self._locked(err)
                    self._doomed.add(key)  # removed once the store works again
                    log.warning("event=keyring_items_left key=%s", key[:8])
            return self.cache.delete_token(key)

    # -- registrations -------------------------------------------------------------------------

    def read_registration(self, key: str) -> Registration | None:
        """The client registration under ``key``, if any."""
        if self.secrets is None:
            return self.cache.read_registration(key)
        with self._lock:
            if key in self._registrations:
                return self._registrations[key]
            try:
                item = self.secrets.get("client-secret", key)
            except KeyringError as err:
                self._locked(err)
                return None
            return registration_from(item) if item is not None else None

    def write_registration(self, key: str, reg: Registration, session: str | None) -> None:
        """Store a registration ssod made."""
        if self.secrets is None:
            self.cache.write_registration(key, reg)
            return
        with self._lock:
            self._save_registration(key, reg, session)

    def _save_registration(self, key: str, reg: Registration, session: str | None) -> bool:
        assert self.secrets is not None
        try:
            self.secrets.put("client-secret", key, registration_item(reg, session))
        except KeyringError as err:
            self._registrations[key] = reg
            self._locked(err)
            return False
        self._registrations.pop(key, None)
        return True

    def seal_registration(self, key: str) -> bool:
        """A registration file another tool wrote: move it into the store; True if it was one."""
        if self.secrets is None:
            return False
        with self._lock, self.cache.locked():
            if not self._is_registration_file(key):
                return False  # a token file (of a session ssod does not serve): not ours
            reg = self.cache.read_registration(key)
            if reg is None:
                return False
            self._save_registration(key, reg, None)
            self.cache.delete_token(key)
            log.info("event=registration_file_sealed key=%s store=%s", key[:8], self.name)
            return True

    def _is_registration_file(self, key: str) -> bool:
        try:
            self.cache.read_token(key)
        except TokenCacheError:
            pass  # no accessToken: not a token file
        else:
            return False
        try:
            return self.cache.read_registration(key) is not None
        except TokenCacheError:
            return False

    def seal_registrations(self) -> int:
        """Seal every registration file in the cache (at start); how many there were."""
        try:
            names = os.listdir(self.cache.path)
        except FileNotFoundError:
            return 0
        sealed = 0
        for name in sorted(names):
            key = name.removesuffix(".json")
            if (
                name.endswith(".json")
                and len(key) == 40
                and all(c in "0123456789abcdef" for c in key)
            ):
                with contextlib.suppress(CacheError):
                    sealed += self.seal_registration(key)
        return sealed

    # -- switching stores ----------------------------------------------------------------------

    def restore(self, other: SecretStore) -> int:
        """Move the items an earlier run left in ``other`` into this store; how many keys."""
        try:
            found = other.items()
        except KeyringError as err:
            log.warning("event=keyring_items_not_restored error=%r", err.message)
            return 0
        by_key: dict[str, dict[str, StoredSecret]] = {}
        for item in found:
            by_key.setdefault(item.key, {})[item.kind] = item
        moved = 0
        for key, kinds in by_key.items():
            client, refresh = kinds.get("client-secret"), kinds.get("refresh-token")
            with self._lock, self.cache.locked():
                reg = registration_from(client.secret) if client is not None else None
                if reg is not None:
                    session = client.secret.attributes.get("session") if client else None
                    if self.secrets is None:
                        if not self.cache.token_path(key).exists():
                            self.cache.write_registration(key, reg)
                    else:
                        self._save_registration(key, reg, session)
                else:
                    self._restore_token(
                        key,
                        client.secret if client else None,
                        refresh.secret if refresh else None,
                    )
                try:
                    other.delete(key)
                except KeyringError as err:  # restored; the item goes at the next start
                    log.warning("event=keyring_item_not_removed error=%r", err.message)
            moved += 1
        if moved:
            log.info("event=keyring_items_restored keys=%d store=%s", moved, self.name)
        return moved

    def _restore_token(self, key: str, client: Secret | None, refresh: Secret | None) -> None:
        secrets = from_items(client, refresh)
        session = (client or refresh or Secret("")).attributes.get("session", "")
        if secrets is None:
            return
        if self.secrets is not None:
            self._known[key] = secrets
            self._save(key, session, secrets)
            return
        try:
            token = self.cache.read_token(key)
        except TokenCacheError:
            return
        if token is not None and is_sealed(token):
            self.cache.write_token(key, join(token, secrets))
