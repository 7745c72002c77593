"""The AWS federation endpoint over HTTP: ``/federation`` with ``Action=getSigninToken``/``login``.

What console sign-in URLs are made of (IAM User Guide, "Enable custom identity broker access to
the AWS console"). getSigninToken answers ``{"SigninToken": ...}`` for session credentials this
emulator issued; login redeems the token and redirects (302) to ``Destination``, which must be
an https URL. Both are counted and take faults like every other operation (``getSigninToken``,
``login``). Reached through ``AWS_ENDPOINT_URL_SIGNIN``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from ssod.emulator.errors import SigninError
from ssod.emulator.prologue import SIGNIN, STATE, begin, respond

PATH = "/federation"


def add_routes(app: web.Application) -> None:
    """Register the federation route (GET, and POST for long Session values)."""
    app.router.add_get(PATH, _federation)
    app.router.add_post(PATH, _federation)


async def _federation(request: web.Request) -> web.StreamResponse:
    params: dict[str, str] = dict(request.query)
    if request.method == "POST":
        params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    action = params.get("Action", "")
    operation = action if action in ("getSigninToken", "login") else "UnknownAction"
    if (early := await begin(request, operation, SIGNIN)) is not None:
        return early
    tokens = request.app[STATE].signin
    try:
        if action == "getSigninToken":
            grant = tokens.issue(params.get("Session"), params.get("SessionDuration"))
            return web.json_response({"SigninToken": grant.token})
        if action == "login":
            destination = params.get("Destination", "")
            parts = urlsplit(destination)
            if parts.scheme != "https" or not parts.hostname:
                raise SigninError("Invalid Destination parameter")
            tokens.redeem(params.get("SigninToken"))
            raise web.HTTPFound(destination)
        raise SigninError("Invalid Action parameter")
    except SigninError as err:
        return respond(err)
