"""sso-oidc over HTTP: RegisterClient, StartDeviceAuthorization, CreateToken, the PKCE
``/authorize`` page and the device verification page.

rest-json with camelCase members; bodies are parsed whatever the Content-Type says, because the
AWS CLI has been seen sending ``POST /token`` without one (docs/protocols.md §1.1). All
decisions are made by ``EmulatorState``; this module only decodes, encodes and renders pages.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from ssod.emulator.errors import OidcError
from ssod.emulator.prologue import OIDC, STATE, begin, respond
from ssod.emulator.records import Client, TokenGrant
from ssod.emulator.redirects import redirect_matches
from ssod.emulator.state import DEVICE_GRANT, EmulatorState


def add_routes(app: web.Application) -> None:
    """Register the sso-oidc routes."""
    app.router.add_post("/client/register", _register)
    app.router.add_post("/device_authorization", _device_authorization)
    app.router.add_post("/token", _token)
    app.router.add_get("/authorize", _authorize)
    app.router.add_get("/device", _device_page)
    app.router.add_post("/device", _device_approve)


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise OidcError("InvalidRequestException", "Invalid request body") from err
    if not isinstance(data, dict):
        raise OidcError("InvalidRequestException", "Invalid request body")
    return data


def _str(data: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise OidcError("InvalidRequestException", f"Invalid or missing parameter: {key}")
    return value


def _str_list(data: dict[str, Any], key: str) -> list[str] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise OidcError("InvalidRequestException", f"Invalid parameter: {key}")
    return value


def _client(state: EmulatorState, data: dict[str, Any]) -> Client:
    client_id = _str(data, "clientId")
    secret = _str(data, "clientSecret")
    assert client_id is not None and secret is not None
    return state.client(client_id, secret)


async def _register(request: web.Request) -> web.StreamResponse:
    if (early := await begin(request, "RegisterClient", OIDC)) is not None:
        return early
    state = request.app[STATE]
    try:
        data = await _body(request)
        client = state.register(
            name=_str(data, "clientName") or "",
            client_type=_str(data, "clientType") or "",
            scopes=_str_list(data, "scopes") or [],
            grant_types=_str_list(data, "grantTypes"),
            redirect_uris=_str_list(data, "redirectUris") or [],
        )
    except OidcError as err:
        return respond(err)
    return web.json_response(
        {
            "clientId": client.client_id,
            "clientSecret": client.secret,
            "clientIdIssuedAt": client.issued_at,
            "clientSecretExpiresAt": client.expires_at,
        }
    )


async def _device_authorization(request: web.Request) -> web.StreamResponse:
    if (early := await begin(request, "StartDeviceAuthorization", OIDC)) is not None:
        return early
    state = request.app[STATE]
    try:
        data = await _body(request)
        client = _client(state, data)
        auth = state.start_device(client, _str(data, "startUrl") or "")
    except OidcError as err:
        return respond(err)
    page = f"{request.url.origin()}/device"
    return web.json_response(
        {
            "deviceCode": auth.device_code,
            "userCode": auth.user_code,
            "verificationUri": page,
            "verificationUriComplete": f"{page}?{urlencode({'user_code': auth.user_code})}",
            "expiresIn": state.config.device_expires_in,
            "interval": auth.interval,
        }
    )


async def _token(request: web.Request) -> web.StreamResponse:
    if (early := await begin(request, "CreateToken", OIDC)) is not None:
        return early
    state = request.app[STATE]
    try:
        data = await _body(request)
        grant_type = _str(data, "grantType") or ""
        short = "device_code" if grant_type == DEVICE_GRANT else grant_type
        state.calls[f"CreateToken:{short}"] += 1
        client = _client(state, data)
        grant = _create_token(state, client, grant_type, data)
    except OidcError as err:
        return respond(err)
    body: dict[str, Any] = {
        "accessToken": grant.access_token,
        "tokenType": "Bearer",
        "expiresIn": grant.expires_in,
    }
    if grant.refresh_token is not None:
        body["refreshToken"] = grant.refresh_token
    return web.json_response(body)


def _create_token(
    state: EmulatorState, client: Client, grant_type: str, data: dict[str, Any]
) -> TokenGrant:
    if grant_type == DEVICE_GRANT:
        return state.poll_device(client, _str(data, "deviceCode") or "")
    if grant_type == "refresh_token":
        return state.refresh(client, _str(data, "refreshToken") or "")
    if grant_type == "authorization_code":
        return state.exchange_code(
            client,
            _str(data, "code") or "",
            _str(data, "redirectUri", required=False),
            _str(data, "codeVerifier", required=False),
        )
    raise OidcError("UnsupportedGrantTypeException", "Unsupported grant type")


def _page(title: str, text: str, status: int = 200, form: str = "") -> web.Response:
    body = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(text)}</p>{form}</body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html")


def _redirect(uri: str, **params: str) -> web.Response:
    sep = "&" if "?" in uri else "?"
    return web.Response(status=302, headers={"Location": f"{uri}{sep}{urlencode(params)}"})


async def _authorize(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    q = request.query
    client = state.clients.get(q.get("client_id", ""))
    if client is None or state.now() >= client.expires_at:
        return _page("Sign-in failed", "Invalid client.", 400)
    redirect_uri = q.get("redirect_uri", "")
    if not any(redirect_matches(reg, redirect_uri) for reg in client.redirect_uris):
        return _page("Sign-in failed", "Invalid redirect URI.", 400)
    st = q.get("state", "")
    error = _authorize_error(client, q.get("response_type"), q.get("code_challenge_method"))
    challenge = q.get("code_challenge", "")
    if error is None and len(challenge) < 43:
        error = "invalid_request"
    if error is not None:
        return _redirect(redirect_uri, error=error, state=st)
    code = state.authorize(client.client_id, redirect_uri, st, challenge)
    if code is None:
        return _page("Sign in to AWS", "Waiting for approval. Approve, then reload this page.")
    return _redirect(redirect_uri, code=code, state=st)


def _authorize_error(client: Client, response_type: str | None, method: str | None) -> str | None:
    """The OAuth error /authorize redirects with, if any (RFC 6749 §4.1.2.1)."""
    if response_type != "code":
        return "unsupported_response_type"
    if client.grant_types is None or "authorization_code" not in client.grant_types:
        return "unauthorized_client"
    if method != "S256":
        return "invalid_request"
    return None


async def _device_page(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    user_code = request.query.get("user_code", "")
    if state.config.auto_approve:
        return _page("Authorize request", "This request is approved automatically.")
    form = (
        "<form method='post' action='/device'>"
        f"<input name='user_code' value='{html.escape(user_code, quote=True)}'>"
        "<button type='submit'>Allow</button></form>"
    )
    return _page("Authorize request", "Confirm the code shown by your device.", form=form)


async def _device_approve(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    form = await request.post()
    user_code = str(form.get("user_code", "")).strip().upper()
    if not user_code or state.approve(user_code=user_code) == 0:
        return _page("Authorize request", "Unknown or already used code.", 400)
    return _page("Request approved", "You can close this window.")
