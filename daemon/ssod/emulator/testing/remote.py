"""``EmulatorRemote``: drive a running emulator's control API over HTTP, from any thread or process.

Stdlib only (urllib), so the pytest fixture, benchmarks and users' tests can use it whether the
emulator runs in a background thread or as ``ssod emulator`` in another process.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from ssod.emulator.server import endpoint_env


class EmulatorRemote:
    """The control API of the emulator at ``url``."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    @property
    def env(self) -> dict[str, str]:
        """The ``AWS_ENDPOINT_URL_*`` variables that point AWS clients (and ssod) here."""
        return endpoint_env(self.url)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 -- the URL is the emulator's own http URL
            f"{self.url}/_emulator/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
            return json.loads(resp.read() or b"null")

    def health(self) -> bool:
        """True when the emulator answers."""
        return bool(self._call("GET", "health").get("status") == "ok")

    def calls(self) -> dict[str, int]:
        """Calls per operation (and ``CreateToken:<grant>``) since the last reset."""
        result: dict[str, int] = self._call("GET", "calls")
        return result

    def peaks(self) -> dict[str, int]:
        """The most calls of each operation answered at once since the last reset."""
        result: dict[str, int] = self._call("GET", "peaks")
        return result

    def reset_calls(self) -> None:
        """Zero the call counters (and the peaks)."""
        self._call("POST", "calls/reset", {})

    def approve(self, user_code: str | None = None, user: str | None = None) -> int:
        """Approve pending device codes and /authorize requests; returns how many."""
        body = {k: v for k, v in (("user_code", user_code), ("user", user)) if v is not None}
        return int(self._call("POST", "approve", body)["approved"])

    def deny(self, user_code: str | None = None) -> int:
        """Deny pending device codes; returns how many."""
        body = {"user_code": user_code} if user_code is not None else {}
        return int(self._call("POST", "deny", body)["denied"])

    def set_faults(self, *rules: dict[str, Any], **rule: Any) -> list[dict[str, Any]]:
        """Add fault rules, given as dicts or as keywords of one rule; returns all rules."""
        payload = [*rules, rule] if rule else list(rules)
        result: list[dict[str, Any]] = self._call("POST", "faults", payload)
        return result

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._call("DELETE", "faults")

    def revoke_refresh_tokens(
        self,
        access_token: str | None = None,
        refresh_token: str | None = None,
        end_session: bool = False,
    ) -> int:
        """Revoke refresh tokens (all, or one session's); returns how many."""
        body: dict[str, Any] = {"end_session": end_session}
        if access_token is not None:
            body["access_token"] = access_token
        if refresh_token is not None:
            body["refresh_token"] = refresh_token
        return int(self._call("POST", "revoke", body)["revoked"])

    def forget_clients(self) -> int:
        """Forget every client registration, as a deleted application would; returns how many."""
        return int(self._call("POST", "forget-clients", {})["forgotten"])

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Change settings (none: just read them); returns all settings."""
        result: dict[str, Any] = (
            self._call("POST", "settings", changes) if changes else self._call("GET", "settings")
        )
        return result

    def advance_clock(self, seconds: float) -> float:
        """Move the emulator's clock forward; returns its new time (epoch seconds)."""
        return float(self._call("POST", "clock", {"advance": seconds})["now"])
