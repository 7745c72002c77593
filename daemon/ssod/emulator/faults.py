"""Fault rules: make chosen operations fail, slow down or drop the connection, N times or until
cleared. Pure bookkeeping; the server turns a triggered rule into the service's own error shape
(``status`` -> InternalServer/InternalFailure, ``throttle`` -> SlowDown / TooManyRequests /
Throttling, ``latency`` -> added seconds, ``drop`` -> connection closed without an answer).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

KINDS = frozenset({"status", "throttle", "latency", "drop"})
ANY_OPERATION = "*"


@dataclass
class FaultRule:
    """One rule; ``count`` None means until cleared."""

    operation: str
    kind: str
    status: int = 500
    seconds: float = 0.0
    count: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The rule as the control API shows it."""
        return asdict(self)


def parse_rule(raw: Any) -> FaultRule:
    """A FaultRule from control-API JSON; raises ValueError with the reason."""
    if not isinstance(raw, dict):
        raise ValueError("a fault rule must be a JSON object")
    operation, kind = raw.get("operation"), raw.get("kind")
    if not isinstance(operation, str) or not operation:
        raise ValueError("'operation' must name an operation, or '*'")
    if kind not in KINDS:
        raise ValueError(f"'kind' must be one of {sorted(KINDS)}")
    status, seconds, count = raw.get("status", 500), raw.get("seconds", 0.0), raw.get("count")
    if not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError("'status' must be an HTTP error status")
    if not isinstance(seconds, int | float) or seconds < 0:
        raise ValueError("'seconds' must be a non-negative number")
    if count is not None and (not isinstance(count, int) or count < 1):
        raise ValueError("'count' must be a positive integer or absent")
    return FaultRule(operation, kind, status, float(seconds), count)


class FaultBook:
    """The active rules, in the order they were added."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        """Activate a rule."""
        self.rules.append(rule)

    def clear(self) -> None:
        """Drop every rule."""
        self.rules.clear()

    def take(self, operation: str) -> list[FaultRule]:
        """The rules this call triggers (each used up once), latency rules included."""
        fired: list[FaultRule] = []
        failing = False
        for rule in list(self.rules):
            if rule.operation not in (operation, ANY_OPERATION):
                continue
            if rule.kind != "latency":
                if failing:
                    continue  # one failure per call; later rules wait for the next call
                failing = True
            fired.append(rule)
            if rule.count is not None:
                rule.count -= 1
                if rule.count <= 0:
                    self.rules.remove(rule)
        return fired
