"""IPC operations: a table from each ``ssod.wire.Op`` to the one call into the part that owns it.

One async generator per request (the ``IpcServer`` handler contract): streamed events are
``Progress``, the last mapping is the final reply, an ``SsodError`` becomes an error reply.
Each handler reads its arguments, makes one call into the engine, the stores or the status
view, and shapes the reply; nothing here calls AWS or holds state of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

from ssod import scoped
from ssod.daemon.engine.broker import Broker
from ssod.daemon.engine.configkeeper import ConfigKeeper
from ssod.daemon.engine.discovery import Discovery
from ssod.daemon.engine.ekstokens import EksTokens
from ssod.daemon.engine.login import LoginManager
from ssod.daemon.engine.logout import Logout
from ssod.daemon.engine.roles import RoleLister
from ssod.daemon.engine.signin import ConsoleSignin
from ssod.daemon.serve import eks
from ssod.daemon.serve.http.consolelinks import ConsoleLinks
from ssod.daemon.serve.ipc import Progress
from ssod.daemon.serve.statusview import StatusView
from ssod.daemon.store.ecstokenkeeper import EcsTokenKeeper
from ssod.daemon.store.scopedstore import ScopedTokenStore
from ssod.daemon.store.tokencache import format_timestamp
from ssod.errors import BadRequest, ConfigError, ProfileNotFound, SessionNotFound
from ssod.replies import (
    CancelLoginReply,
    ConsoleReply,
    IssueTokenReply,
    ListTokensReply,
    LogoutReply,
    ReloadReply,
    RevokeTokenReply,
    RolesReply,
    SsoRegionReply,
    StartUrlReply,
)
from ssod.wire import Op, Request

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


@dataclass(frozen=True)
class Parts:
    """The daemon's parts that IPC operations call."""

    broker: Broker
    logins: LoginManager
    logout: Logout
    roles: RoleLister
    signin: ConsoleSignin
    discovery: Discovery
    config: ConfigKeeper
    token: EcsTokenKeeper
    scoped: ScopedTokenStore
    view: StatusView
    console_links: ConsoleLinks
    eks: EksTokens


class Dispatcher:
    """Answers IPC requests for one daemon."""

    def __init__(self, parts: Parts) -> None:
        self._p = parts
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
            Op.EKS_TOKEN: lambda args: eks.token(parts.eks, args),
            Op.EKS_CLUSTER: lambda args: eks.cluster(parts.eks, args),
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
            cause = self._p.config.error
            if cause is None:
                raise
            raise ConfigError(cause) from None

    def _key(self, args: Mapping[str, object]) -> str:
        return self._p.broker.session_key_for(
            sso_session=_str(args, "sso_session"), profile=_str(args, "profile")
        )

    async def _status(self, args: Mapping[str, object]) -> Result:
        yield await self._p.view.status()

    async def _credentials(self, args: Mapping[str, object]) -> Result:
        creds = await self._p.broker.credentials(_str(args, "profile") or "")
        yield creds.ipc_reply()

    async def _login(self, args: Mapping[str, object]) -> Result:
        events = self._p.logins.follow(
            self._key(args), use_device_code=bool(args.get("use_device_code"))
        )
        async for event in events:
            yield event if event["event"] == "done" else Progress(event)

    async def _cancel_login(self, args: Mapping[str, object]) -> Result:
        reply: CancelLoginReply = {"cancelled": self._p.logins.cancel(self._key(args))}
        yield reply

    async def _logout(self, args: Mapping[str, object]) -> Result:
        key = None if args.get("all") else self._key(args)
        reply: LogoutReply = {"sessions": await self._p.logout.log_out(key)}
        yield reply

    async def _roles(self, args: Mapping[str, object]) -> Result:
        listing = await self._p.roles.list(
            self._key(args),
            accounts_only=bool(args.get("accounts_only")),
            account_id=_str(args, "account_id"),
        )
        reply: RolesReply = {
            "session": listing.spec.name,
            "start_url": listing.spec.start_url,
            "region": listing.spec.region,
            "accounts": listing.accounts,
        }
        yield reply

    async def _reload(self, args: Mapping[str, object]) -> Result:
        config = self._p.config
        await config.reload()
        reply: ReloadReply = {"config_file": str(config.path), **config.info()}
        yield reply

    async def _endpoint(self, args: Mapping[str, object]) -> Result:
        yield self._p.view.endpoint()

    async def _rotate_token(self, args: Mapping[str, object]) -> Result:
        await self._p.token.rotate()
        yield self._p.view.endpoint()

    async def _sso_region(self, args: Mapping[str, object]) -> Result:
        region = _str(args, "region") or ""
        reply: SsoRegionReply = {
            "region": region,
            "identity_center": await self._p.discovery.has_identity_center(region),
        }
        yield reply

    async def _start_url(self, args: Mapping[str, object]) -> Result:
        answer = await self._p.discovery.start_url(_str(args, "start_url") or "")
        reply: StartUrlReply = {
            "start_url": answer.start_url,
            "region": answer.region,
            "looked_up": answer.looked_up,
        }
        yield reply

    async def _console(self, args: Mapping[str, object]) -> Result:
        opening = await self._p.signin.open(
            _str(args, "profile") or "",
            destination=_str(args, "destination"),
            region=_str(args, "region"),
            duration=_str(args, "duration"),
        )
        link = await self._p.console_links.link(opening.url) if args.get("link") else None
        reply: ConsoleReply = {
            "url": opening.url,
            "link": link,
            "destination": opening.plan.destination,
            "partition": opening.plan.partition.name,
            "region": opening.plan.region,
            "account_id": opening.creds.account_id,
            "expires_at": format_timestamp(opening.creds.expiration),
        }
        yield reply

    async def _issue_token(self, args: Mapping[str, object]) -> Result:
        profile = _str(args, "profile") or ""
        self._p.broker.check_served(profile)  # the precise error for a profile not served
        raw_ttl = _str(args, "ttl")
        ttl = scoped.parse_ttl(raw_ttl) if raw_ttl else scoped.DEFAULT_TTL
        pid, started = _number(args, "pid"), _number(args, "started")
        if started is not None and pid is None:
            raise BadRequest("issue_token: 'started' needs 'pid'")
        issued = await self._p.scoped.issue(
            profile, ttl, _str(args, "name") or "", pid=pid, started=started
        )
        reply: IssueTokenReply = {**issued.record.public(), "token": issued.token}
        yield reply

    async def _revoke_token(self, args: Mapping[str, object]) -> Result:
        gone = await self._p.scoped.revoke(
            key=_str(args, "id"), profile=_str(args, "profile"), every=bool(args.get("all"))
        )
        reply: RevokeTokenReply = {"revoked": [r.public() for r in gone]}
        yield reply

    async def _list_tokens(self, args: Mapping[str, object]) -> Result:
        reply: ListTokensReply = {"tokens": await self._p.view.tokens()}
        yield reply
