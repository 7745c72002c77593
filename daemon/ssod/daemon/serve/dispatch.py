"""IPC operations: what each ``ssod.wire.Op`` does, in terms of the broker and login manager.

One async generator per request (the ``IpcServer`` handler contract): streamed events are
``Progress``, the last mapping is the final reply, an ``SsodError`` becomes an error reply.
Nothing here touches AWS directly or holds state of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ssod import scoped
from ssod.daemon.aws import starturl
from ssod.daemon.aws.api import TokenRejected
from ssod.daemon.serve.ipc import Progress
from ssod.errors import (
    BadRequest,
    ConfigError,
    FederationRefused,
    LoginRequired,
    ProfileNotFound,
    SessionNotFound,
    error_from_code,
)
from ssod.wire import Op, Request

if TYPE_CHECKING:
    from ssod.daemon.app import Daemon

Result = AsyncIterator[Progress | Mapping[str, object]]


def _str(args: Mapping[str, object], name: str) -> str | None:
    value = args.get(name)
    return value if isinstance(value, str) and value else None


def _number(args: Mapping[str, object], name: str) -> int | None:
    """A decimal-string argument as an int (the wire carries strings); BadRequest if not one."""
    value = _str(args, name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise BadRequest(f"argument {name!r} must be a decimal number")
    return int(value)


class Dispatcher:
    """Answers IPC requests for one daemon."""

    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon
        self._ops: dict[Op, Callable[[Mapping[str, object]], Result]] = {
            Op.STATUS: self._status,
            Op.CREDENTIALS: self._credentials,
            Op.LOGIN: self._login,
            Op.CANCEL_LOGIN: self._cancel_login,
            Op.LOGOUT: self._logout,
            Op.ROLES: self._roles,
            Op.RELOAD: self._reload,
            Op.ENDPOINT: self._endpoint,
            Op.ROTATE_TOKEN: self._rotate_token,
            Op.SSO_REGION: self._sso_region,
            Op.START_URL: self._start_url,
            Op.CONSOLE: self._console,
            Op.ISSUE_TOKEN: self._issue_token,
            Op.REVOKE_TOKEN: self._revoke_token,
            Op.LIST_TOKENS: self._list_tokens,
        }

    def __call__(self, request: Request) -> Result:
        handler = self._ops.get(request.op)
        if handler is None:
            raise BadRequest(f"operation {request.op} is not supported by this daemon")
        return self._config_error_first(handler(request.args))

    async def _config_error_first(self, replies: Result) -> Result:
        """A profile or session not found while the config file does not parse: say why."""
        try:
            async for reply in replies:
                yield reply
        except (ProfileNotFound, SessionNotFound):
            cause = self._daemon.config_info()["config_error"]
            if cause is None:
                raise
            raise ConfigError(str(cause)) from None

    def _key(self, args: Mapping[str, object]) -> str:
        broker = self._daemon.broker
        return broker.session_key_for(
            sso_session=_str(args, "sso_session"), profile=_str(args, "profile")
        )

    async def _status(self, args: Mapping[str, object]) -> Result:
        await self._daemon.scoped.sweep()  # tokens of commands that have ended are not shown
        yield self._daemon.status()

    async def _credentials(self, args: Mapping[str, object]) -> Result:
        profile = _str(args, "profile") or ""
        creds = await self._daemon.broker.credentials(profile)
        # The ECS body under credential_process's name for the session token.
        body: dict[str, object] = dict(creds.ecs_json())
        body["SessionToken"] = body.pop("Token")
        yield body

    async def _login(self, args: Mapping[str, object]) -> Result:
        key = self._key(args)
        state = self._daemon.broker.sessions.get(key)
        if state is None:
            raise LoginRequired("that session is not configured")
        # Clients that join a running flow must not open another browser tab.
        first = not self._daemon.logins.running(key)
        run = self._daemon.logins.start(
            state.spec, use_device_code=bool(args.get("use_device_code"))
        )
        async for event in self._daemon.logins.events(run):
            if event["event"] == "failed":
                raise error_from_code(str(event["code"]), str(event["message"]))
            if event["event"] == "done":
                yield dict(event)
                return
            yield Progress({**event, "first": first})

    async def _cancel_login(self, args: Mapping[str, object]) -> Result:
        cancelled = self._daemon.logins.cancel(self._key(args))
        yield {"cancelled": cancelled}

    async def _logout(self, args: Mapping[str, object]) -> Result:
        broker = self._daemon.broker
        if args.get("all"):
            keys = [s.spec.key for s in broker.sessions.sessions()]
        else:
            keys = [self._key(args)]
        results = []
        for key in keys:
            self._daemon.logins.cancel(key)
            results.append(await broker.logout(key))
        yield {"sessions": results}

    async def _roles(self, args: Mapping[str, object]) -> Result:
        broker = self._daemon.broker
        key = self._key(args)
        token = await broker.sessions.fresh_token(key)
        state = broker.sessions.get(key)
        assert state is not None
        region = state.spec.region
        try:
            listed = await self._list_roles(region, token.access_token)
        except TokenRejected:
            # Revoked before its expiry (a logout elsewhere): refresh once, else login required.
            token = await broker.sessions.token_rejected(key, token)
            try:
                listed = await self._list_roles(region, token.access_token)
            except TokenRejected:
                await broker.sessions.token_rejected(key, token)
                raise state.login_required_error() from None
        yield {
            "session": state.spec.name,
            "start_url": state.spec.start_url,
            "region": region,
            "accounts": listed,
        }

    async def _list_roles(self, region: str, access_token: str) -> list[dict[str, Any]]:
        aws = self._daemon.aws
        listed: list[dict[str, Any]] = []
        for account in await aws.list_accounts(region, access_token):
            roles = await aws.list_account_roles(region, access_token, account.account_id)
            listed.append(
                {
                    "account_id": account.account_id,
                    "account_name": account.name,
                    "email": account.email,
                    "roles": sorted(roles),
                }
            )
        return listed

    async def _reload(self, args: Mapping[str, object]) -> Result:
        await self._daemon.reload()
        yield {"config_file": str(self._daemon.settings.config_file), **self._daemon.config_info()}

    async def _endpoint(self, args: Mapping[str, object]) -> Result:
        yield self._daemon.endpoint_info()

    async def _rotate_token(self, args: Mapping[str, object]) -> Result:
        await self._daemon.rotate_token()
        yield self._daemon.endpoint_info()

    async def _sso_region(self, args: Mapping[str, object]) -> Result:
        region = _str(args, "region") or ""
        yield {
            "region": region,
            "identity_center": await self._daemon.aws.has_oidc_endpoint(region),
        }

    async def _start_url(self, args: Mapping[str, object]) -> Result:
        url = _str(args, "start_url") or ""
        if not starturl.needs_lookup(url):
            yield {"start_url": url, "region": None, "looked_up": False}
            return
        portal = await self._daemon.logins.look_up(url)
        region = starturl.region_in_host(urlsplit(portal).hostname or "")
        yield {"start_url": portal, "region": region, "looked_up": True}

    async def _console(self, args: Mapping[str, object]) -> Result:
        from ssod.daemon.aws import console
        from ssod.daemon.store.tokencache import format_timestamp

        name = _str(args, "profile") or ""
        broker = self._daemon.broker
        if broker.config is None:
            raise SessionNotFound("no configuration loaded")
        plan = console.plan(
            name,
            broker.config.profile(name),
            broker.config.sso_root(name),
            destination_arg=_str(args, "destination"),
            region_arg=_str(args, "region"),
            duration_arg=_str(args, "duration"),
            endpoint_override=self._daemon.settings.signin_endpoint,
        )
        federation = self._daemon.federation
        creds = await broker.credentials(name)
        try:
            token = await federation.signin_token(plan.federation_url, creds, plan.duration)
        except FederationRefused:
            # Revoked or expired ahead of their time (a logout elsewhere, a clock off): once
            # more with new ones; a second refusal is the answer.
            broker.discard(name)
            creds = await broker.credentials(name)
            try:
                token = await federation.signin_token(plan.federation_url, creds, plan.duration)
            except FederationRefused as err:
                raise FederationRefused(
                    f"{err.message} of profile {name}, new ones too: the console cannot be "
                    f"opened with them (`ssod status` shows the profile)"
                ) from None
        url = console.login_url(plan.federation_url, plan.destination, token)
        link = await self._daemon.console_links.link(url) if args.get("link") else None
        yield {
            "url": url,
            "link": link,
            "destination": plan.destination,
            "partition": plan.partition.name,
            "region": plan.region,
            "account_id": creds.account_id,
            "expires_at": format_timestamp(creds.expiration),
        }

    async def _issue_token(self, args: Mapping[str, object]) -> Result:
        profile = _str(args, "profile") or ""
        self._daemon.broker.check_served(profile)  # the precise error for a profile not served
        raw_ttl = _str(args, "ttl")
        ttl = scoped.parse_ttl(raw_ttl) if raw_ttl else scoped.DEFAULT_TTL
        pid, started = _number(args, "pid"), _number(args, "started")
        if started is not None and pid is None:
            raise BadRequest("issue_token: 'started' needs 'pid'")
        issued = await self._daemon.scoped.issue(
            profile, ttl, _str(args, "name") or "", pid=pid, started=started
        )
        yield {**issued.record.public(), "token": issued.token}

    async def _revoke_token(self, args: Mapping[str, object]) -> Result:
        gone = await self._daemon.scoped.revoke(
            key=_str(args, "id"), profile=_str(args, "profile"), every=bool(args.get("all"))
        )
        yield {"revoked": [r.public() for r in gone]}

    async def _list_tokens(self, args: Mapping[str, object]) -> Result:
        await self._daemon.scoped.sweep()
        yield {"tokens": [r.public() for r in self._daemon.scoped.live()]}
