"""The SSO portal over HTTP: GetRoleCredentials, ListAccounts, ListAccountRoles, Logout.

The access token travels in ``x-amz-sso_bearer_token``; query names are snake_case and singular
(``max_result``); ``expiration`` is epoch milliseconds (docs/protocols.md §2). Lists are paginated
with a small default page so clients' paginators are exercised. An unassigned role answers
403 ForbiddenException "No access", as the real service does (not in the botocore model).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

from ssod.emulator.credentials import sso_role_name
from ssod.emulator.errors import PortalError
from ssod.emulator.prologue import PORTAL, STATE, begin, respond
from ssod.emulator.records import Session

BEARER = "x-amz-sso_bearer_token"


def add_routes(app: web.Application) -> None:
    """Register the portal routes."""
    app.router.add_get("/federation/credentials", _get_role_credentials)
    app.router.add_get("/assignment/accounts", _list_accounts)
    app.router.add_get("/assignment/roles", _list_account_roles)
    app.router.add_post("/logout", _logout)


def _session(request: web.Request) -> Session:
    return request.app[STATE].session_for(request.headers.get(BEARER))


def _required(request: web.Request, name: str) -> str:
    value = request.query.get(name, "")
    if not value:
        raise PortalError("InvalidRequestException", f"Missing required parameter: {name}")
    return value


def _page(request: web.Request, items: list[dict[str, Any]], key: str) -> dict[str, Any]:
    size = request.app[STATE].config.page_size
    if "max_result" in request.query:
        try:
            size = int(request.query["max_result"])
        except ValueError:
            size = 0
        if not 1 <= size <= 100:
            raise PortalError("InvalidRequestException", "Invalid max_result")
    start = 0
    token = request.query.get("next_token")
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("emu:"))
        except (ValueError, binascii.Error) as err:
            raise PortalError("InvalidRequestException", "Invalid next_token") from err
    body: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        body["nextToken"] = base64.urlsafe_b64encode(f"emu:{start + size}".encode()).decode()
    return body


async def _get_role_credentials(request: web.Request) -> web.StreamResponse:
    if (early := await begin(request, "GetRoleCredentials", PORTAL)) is not None:
        return early
    state = request.app[STATE]
    try:
        session = _session(request)
        role, account_id = _required(request, "role_name"), _required(request, "account_id")
        account = state.config.directory.account(account_id)
        if account is None or role not in account.roles:
            raise PortalError("ForbiddenException", "No access")
    except PortalError as err:
        return respond(err)
    creds = state.creds.issue(
        account_id,
        sso_role_name(account_id, role),
        session.user,
        state.config.credential_lifetime,
    )
    return web.json_response(
        {
            "roleCredentials": {
                "accessKeyId": creds.access_key_id,
                "secretAccessKey": creds.secret_access_key,
                "sessionToken": creds.session_token,
                "expiration": int(creds.expires_at) * 1000,
            }
        }
    )


async def _list_accounts(request: web.Request) -> web.StreamResponse:
    if (early := await begin(request, "ListAccounts", PORTAL)) is not None:
        return early
    state = request.app[STATE]
    accounts = [
        {"accountId": a.account_id, "accountName": a.name, "emailAddress": a.email}
        for a in state.config.directory.accounts
    ]
    try:
        _session(request)
        return web.json_response(_page(request, accounts, "accountList"))
    except PortalError as err:
        return respond(err)


async def _list_account_roles(request: web.Request) -> web.StreamResponse:
    if (early := await begin(request, "ListAccountRoles", PORTAL)) is not None:
        return early
    state = request.app[STATE]
    try:
        _session(request)
        account_id = _required(request, "account_id")
        account = state.config.directory.account(account_id)
        if account is None:
            raise PortalError("ResourceNotFoundException", "Account not found")
        roles = [{"roleName": r, "accountId": account_id} for r in account.roles]
        return web.json_response(_page(request, roles, "roleList"))
    except PortalError as err:
        return respond(err)


async def _logout(request: web.Request) -> web.StreamResponse:
    if (early := await begin(request, "Logout", PORTAL)) is not None:
        return early
    try:
        request.app[STATE].logout(request.headers.get(BEARER))
    except PortalError as err:
        return respond(err)
    return web.Response(status=200)
