"""What every emulated AWS operation goes through first, and the keys the handlers read.

Owns the per-call prologue (``begin``: count the call and the calls answered at once, add the
configured latency, apply faults), the error answer (``respond``), the middleware that stamps a
request id on every AWS answer (and counts it answered), the clock the state reads (wall time
plus an offset the control API can advance) and the app keys for the state and the clock. The
services' handlers (``oidc``, ``portal``, ``sts``, ``signin``, ``control``) import it;
``server`` wires them into one app.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ssod.emulator.errors import OidcError, PortalError, SigninError, StsError, request_id
from ssod.emulator.state import EmulatorState

STATE = web.AppKey("state", EmulatorState)

OIDC, PORTAL, STS, SIGNIN = "oidc", "portal", "sts", "signin"
ServiceError = OidcError | PortalError | StsError | SigninError


class ShiftableClock:
    """Wall-clock time plus an offset, so tests can jump the emulator into the future."""

    def __init__(self, base: Callable[[], float] = time.time) -> None:
        self._base = base
        self.offset = 0.0

    def __call__(self) -> float:
        return self._base() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the emulator's time forward."""
        self.offset += seconds


CLOCK = web.AppKey("clock", ShiftableClock)


#: The operation a request is (set by ``begin``), so the middleware can count it answered.
_OPERATION = web.RequestKey("operation", str)


class DroppedConnection(Exception):
    """A ``drop`` fault closed the connection; nothing is to be answered."""


def respond(error: ServiceError) -> web.Response:
    """The HTTP answer for a service error."""
    status, headers, body = error.wire()
    return web.Response(status=status, headers=headers, body=body)


def _oidc_fault(kind: str, status: int) -> ServiceError:
    if kind == "throttle":
        return OidcError("SlowDownException", "Client is polling too fast")
    return OidcError("InternalServerException", "Internal server error", status)


def _portal_fault(kind: str, status: int) -> ServiceError:
    if kind == "throttle":
        return PortalError("TooManyRequestsException", "Too many requests")
    name = "ServiceUnavailableException" if status == 503 else "InternalServerException"
    return PortalError(name, "An internal error occurred", status)


def _sts_fault(kind: str, status: int) -> ServiceError:
    if kind == "throttle":
        return StsError("Throttling", "Rate exceeded", 400)
    code = "ServiceUnavailable" if status == 503 else "InternalFailure"
    return StsError(code, "An internal error occurred", status, "Receiver")


def _signin_fault(kind: str, status: int) -> ServiceError:
    if kind == "throttle":
        return SigninError("Rate exceeded", 429)
    if status < 500:  # what the endpoint answers for credentials it will not federate
        return SigninError("Invalid credentials parameter", status)
    return SigninError("Internal Server Error", status)


_FAULTS = {OIDC: _oidc_fault, PORTAL: _portal_fault, STS: _sts_fault, SIGNIN: _signin_fault}


def _fault_error(service: str, kind: str, status: int) -> ServiceError:
    return _FAULTS[service](kind, status)


async def begin(request: web.Request, operation: str, service: str) -> web.Response | None:
    """Count the call, add latency, apply faults; a response here replaces the real one."""
    state = request.app[STATE]
    state.calls[operation] += 1
    state.in_flight[operation] += 1  # until the middleware sees the answer go
    state.peaks[operation] = max(state.peaks[operation], state.in_flight[operation])
    request[_OPERATION] = operation
    rules = state.faults.take(operation)
    delay = state.config.latency + sum(r.seconds for r in rules if r.kind == "latency")
    if delay > 0:
        await asyncio.sleep(delay)
    for rule in rules:
        if rule.kind == "drop":
            if request.transport is not None:
                request.transport.abort()
            raise DroppedConnection(operation)
        if rule.kind in ("status", "throttle"):
            return respond(_fault_error(service, rule.kind, rule.status))
    return None


@web.middleware
async def aws_middleware(
    request: web.Request, handler: Callable[[web.Request], Any]
) -> web.StreamResponse:
    """Every AWS answer carries a request id; a dropped connection answers nothing."""
    try:
        response: web.StreamResponse = await handler(request)
    except DroppedConnection:
        # The transport is gone; aiohttp discards whatever is returned for it.
        return web.Response(status=499)
    finally:
        operation = request.get(_OPERATION)
        if operation is not None:
            in_flight = request.app[STATE].in_flight
            in_flight[operation] = max(0, in_flight[operation] - 1)
    if not request.path.startswith("/_emulator/") and "x-amzn-RequestId" not in response.headers:
        response.headers["x-amzn-RequestId"] = request_id()
    return response
