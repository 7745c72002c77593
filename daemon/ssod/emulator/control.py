"""The control API under ``/_emulator/``: JSON endpoints for tests, demos and benchmarks.

GET    /_emulator/health          {"status": "ok"}
GET    /_emulator/calls           {"CreateToken": 3, "CreateToken:refresh_token": 1, ...}
POST   /_emulator/calls/reset     (the peaks too)
GET    /_emulator/peaks           {"ListAccountRoles": 8, ...}: the most calls answered at once
POST   /_emulator/approve         {"user_code"?, "user"?}  -> {"approved": n}
POST   /_emulator/deny            {"user_code"?}           -> {"denied": n}
GET    /_emulator/faults          POST (a rule or a list of rules)   DELETE
POST   /_emulator/revoke          {"access_token"? | "refresh_token"?, "end_session"?}
POST   /_emulator/forget-clients                           -> {"forgotten": n}
GET    /_emulator/settings        POST {setting: value, ...} -> all settings
POST   /_emulator/clock           {"advance": seconds}     -> {"now": epoch}

Only the emulator's own uid may use it: any local user can reach a loopback port, and could
otherwise approve device codes or revoke tokens on a running emulator. The client socket's owner
is looked up (``peercred``) and another uid gets 403; a client the kernel does not list here
(another network namespace) is served.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aiohttp import web

from ssod.daemon.serve.http import peercred
from ssod.emulator.config import settings_dict, update_config
from ssod.emulator.faults import parse_rule
from ssod.emulator.prologue import CLOCK, STATE

PREFIX = "/_emulator"


def add_routes(app: web.Application) -> None:
    """Register the control routes."""
    r = app.router
    r.add_get(f"{PREFIX}/health", _health)
    r.add_get(f"{PREFIX}/calls", _calls)
    r.add_post(f"{PREFIX}/calls/reset", _reset_calls)
    r.add_get(f"{PREFIX}/peaks", _peaks)
    r.add_post(f"{PREFIX}/approve", _approve)
    r.add_post(f"{PREFIX}/deny", _deny)
    r.add_get(f"{PREFIX}/faults", _faults)
    r.add_post(f"{PREFIX}/faults", _add_faults)
    r.add_delete(f"{PREFIX}/faults", _clear_faults)
    r.add_post(f"{PREFIX}/revoke", _revoke)
    r.add_post(f"{PREFIX}/forget-clients", _forget_clients)
    r.add_get(f"{PREFIX}/settings", _settings)
    r.add_post(f"{PREFIX}/settings", _change_settings)
    r.add_post(f"{PREFIX}/clock", _clock)


class _BadRequest(Exception):
    pass


async def _json(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw) if raw.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _BadRequest("body must be JSON") from err


async def _object(request: web.Request) -> dict[str, Any]:
    data = await _json(request)
    if not isinstance(data, dict):
        raise _BadRequest("body must be a JSON object")
    return data


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise _BadRequest(f"'{key}' must be a string")
    return value


@web.middleware
async def owner_only_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refuse the control API to every uid but the emulator's own (403)."""
    if request.path.startswith(PREFIX + "/") and not _owner_asks(request):
        return web.json_response(
            {"error": "the control API answers only the uid running the emulator"}, status=403
        )
    response: web.StreamResponse = await handler(request)
    return response


def _owner_asks(request: web.Request) -> bool:
    transport = request.transport
    client = transport.get_extra_info("peername") if transport is not None else None
    server = transport.get_extra_info("sockname") if transport is not None else None
    if not client or not server:
        return False
    uid = peercred.peer_uid(tuple(client[:2]), tuple(server[:2]))
    return uid is None or uid == os.getuid()


@web.middleware
async def bad_request_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turn a bad control request into a 400 JSON answer."""
    if not request.path.startswith(PREFIX + "/"):
        response: web.StreamResponse = await handler(request)
        return response
    try:
        response = await handler(request)
    except (_BadRequest, ValueError) as err:
        return web.json_response({"error": str(err)}, status=400)
    return response


async def _health(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok"})


async def _calls(request: web.Request) -> web.StreamResponse:
    return web.json_response(dict(request.app[STATE].calls))


async def _peaks(request: web.Request) -> web.StreamResponse:
    return web.json_response(dict(request.app[STATE].peaks))


async def _reset_calls(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    state.calls.clear()
    state.peaks.clear()
    return web.json_response({})


async def _approve(request: web.Request) -> web.StreamResponse:
    data = await _object(request)
    count = request.app[STATE].approve(
        user=_opt_str(data, "user"), user_code=_opt_str(data, "user_code")
    )
    return web.json_response({"approved": count})


async def _deny(request: web.Request) -> web.StreamResponse:
    data = await _object(request)
    count = request.app[STATE].deny(user_code=_opt_str(data, "user_code"))
    return web.json_response({"denied": count})


async def _faults(request: web.Request) -> web.StreamResponse:
    return web.json_response([r.to_json() for r in request.app[STATE].faults.rules])


async def _add_faults(request: web.Request) -> web.StreamResponse:
    data = await _json(request)
    rules = [parse_rule(item) for item in (data if isinstance(data, list) else [data])]
    for rule in rules:
        request.app[STATE].faults.add(rule)
    return await _faults(request)


async def _clear_faults(request: web.Request) -> web.StreamResponse:
    request.app[STATE].faults.clear()
    return web.json_response([])


async def _revoke(request: web.Request) -> web.StreamResponse:
    data = await _object(request)
    count = request.app[STATE].revoke(
        access_token=_opt_str(data, "access_token"),
        refresh_token=_opt_str(data, "refresh_token"),
        end=bool(data.get("end_session", False)),
    )
    return web.json_response({"revoked": count})


async def _forget_clients(request: web.Request) -> web.StreamResponse:
    return web.json_response({"forgotten": request.app[STATE].forget_clients()})


async def _settings(request: web.Request) -> web.StreamResponse:
    return web.json_response(settings_dict(request.app[STATE].config))


async def _change_settings(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    state.config = update_config(state.config, await _object(request))
    return await _settings(request)


async def _clock(request: web.Request) -> web.StreamResponse:
    data = await _object(request)
    advance = data.get("advance", 0)
    if isinstance(advance, bool) or not isinstance(advance, int | float) or advance < 0:
        raise _BadRequest("'advance' must be a non-negative number of seconds")
    clock = request.app[CLOCK]
    clock.advance(float(advance))
    return web.json_response({"now": clock()})
