"""The IPC contract between the ``ssod`` client and the daemon: defined once, used by both sides.

This module owns the protocol version, the operations and their argument schema (one table,
``OPS``), the frozen ``Request``/``Reply`` types and their compact UTF-8 JSON encoding; the
shape of each operation's result is ``ssod.replies``. It is
pure: no zmq, no asyncio, no I/O. Decoding never lets anything but an ``ssod.errors`` error
escape: a bad request raises ``BadRequest`` (or ``ProtocolVersionMismatch``) carrying the request
id when it could be read, so the daemon can still address its error reply.

    request  {"v":1,"id":"9f2c","op":"credentials","args":{"profile":"dev"}}
    reply    {"v":1,"id":"9f2c","ok":true,"more":false,"result":{...}}
    error    {"v":1,"id":"9f2c","ok":false,"more":false,"error":{"code":"...","message":"..."}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from ssod.errors import BadRequest, IpcError, ProtocolVersionMismatch, SsodError, error_from_code

PROTOCOL_VERSION = 1
#: Largest request the daemon reads. Replies are not bounded by it: a roles listing for a large
#: organization can be bigger, and the client trusts its own daemon.
MAX_MESSAGE_BYTES = 64 * 1024
MAX_ID_LENGTH = 64

_REQUEST_KEYS = frozenset({"v", "id", "op", "args"})
_REPLY_KEYS = frozenset({"v", "id", "ok", "more", "result", "error"})


class Op(StrEnum):
    """The operations the daemon serves."""

    STATUS = "status"
    CREDENTIALS = "credentials"
    LOGIN = "login"
    CANCEL_LOGIN = "cancel_login"
    LOGOUT = "logout"
    ROLES = "roles"
    RELOAD = "reload"
    ENDPOINT = "endpoint"
    ROTATE_TOKEN = "rotate_token"  # noqa: S105 (an operation name, not a secret)
    SSO_REGION = "sso_region"
    START_URL = "start_url"
    CONSOLE = "console"
    ISSUE_TOKEN = "issue_token"  # noqa: S105
    REVOKE_TOKEN = "revoke_token"  # noqa: S105
    LIST_TOKENS = "list_tokens"
    EKS_TOKEN = "eks_token"  # noqa: S105
    EKS_CLUSTER = "eks_cluster"


#: Immutable value types are NamedTuples, not dataclasses: ``dataclasses`` imports ``inspect``,
#: about a fifth of the client's start-up, and every ``ssod`` command imports this module.
_NO_ARGS: Mapping[str, object] = MappingProxyType({})


class OpSpec(NamedTuple):
    """One operation's arguments: their types, which are required, and which exclude each other."""

    args: Mapping[str, type[str] | type[bool]] = MappingProxyType({})
    required: frozenset[str] = frozenset()
    #: Exactly one of these must be given (a ``false`` flag counts as not given).
    one_of: tuple[str, ...] = ()
    #: The daemon answers with several replies (``more=True`` on all but the last).
    streams: bool = False


OPS: Mapping[Op, OpSpec] = {
    Op.STATUS: OpSpec(),
    Op.CREDENTIALS: OpSpec({"profile": str}, required=frozenset({"profile"})),
    Op.LOGIN: OpSpec(
        {"sso_session": str, "profile": str, "use_device_code": bool, "no_browser": bool},
        one_of=("sso_session", "profile"),
        streams=True,
    ),
    Op.CANCEL_LOGIN: OpSpec(
        {"sso_session": str, "profile": str}, one_of=("sso_session", "profile")
    ),
    Op.LOGOUT: OpSpec(
        {"sso_session": str, "profile": str, "all": bool}, one_of=("sso_session", "profile", "all")
    ),
    # ``accounts_only``: the accounts without their roles (ListAccounts only); ``account_id``:
    # that one account's roles (ListAccountRoles only), as ``aws configure sso`` asks.
    Op.ROLES: OpSpec(
        {"sso_session": str, "profile": str, "accounts_only": bool, "account_id": str},
        one_of=("sso_session", "profile"),
    ),
    Op.RELOAD: OpSpec(),
    Op.ENDPOINT: OpSpec(),
    Op.ROTATE_TOKEN: OpSpec(),
    #: Does this region have an IAM Identity Center (sso-oidc) endpoint, as the daemon sees it?
    Op.SSO_REGION: OpSpec({"region": str}, required=frozenset({"region"})),
    #: Where a start URL leads (a vanity domain is looked up, as `aws sso login` does).
    Op.START_URL: OpSpec({"start_url": str}, required=frozenset({"start_url"})),
    # A console sign-in URL; destination, region and duration as the user typed them; ``link``
    # asks for a one-time loopback link to it too (for a browser's argv).
    Op.CONSOLE: OpSpec(
        {"profile": str, "destination": str, "region": str, "duration": str, "link": bool},
        required=frozenset({"profile"}),
    ),
    # ttl: seconds as a decimal string (the wire carries strings and booleans only). pid (and
    # started, its /proc start time) bind the token to that process (`ssod exec`'s command).
    Op.ISSUE_TOKEN: OpSpec(
        {"profile": str, "ttl": str, "name": str, "pid": str, "started": str},
        required=frozenset({"profile"}),
    ),
    Op.REVOKE_TOKEN: OpSpec(
        {"id": str, "profile": str, "all": bool}, one_of=("id", "profile", "all")
    ),
    Op.LIST_TOKENS: OpSpec(),
    # An EKS token (docs/eks.md): cluster is the name or id signed as x-k8s-aws-id; role_arn is
    # assumed once and kept; fips/dualstack pick the STS host as botocore's settings do.
    Op.EKS_TOKEN: OpSpec(
        {
            "profile": str,
            "cluster": str,
            "region": str,
            "role_arn": str,
            "session_name": str,
            "fips": bool,
            "dualstack": bool,
        },
        required=frozenset({"profile", "cluster"}),
    ),
    # EKS DescribeCluster with the profile's credentials: endpoint, CA, ARN (for kubeconfig).
    Op.EKS_CLUSTER: OpSpec(
        {"profile": str, "cluster": str, "region": str},
        required=frozenset({"profile", "cluster"}),
    ),
}


class Request(NamedTuple):
    """One client request: a caller-chosen id, the operation and its validated arguments."""

    id: str
    op: Op
    args: Mapping[str, object] = _NO_ARGS


class WireError(NamedTuple):
    """An error as it travels: the stable ``ssod.errors`` code and a secret-free message."""

    code: str
    message: str


class Reply(NamedTuple):
    """One reply to a request; ``more=True`` marks a streamed event with more to follow."""

    id: str
    ok: bool
    result: Mapping[str, object] | None
    error: WireError | None
    more: bool = False

    def raise_for_error(self) -> None:
        """Raise the ``ssod.errors`` class the error code names, if this reply is an error."""
        if not self.ok:
            err = self.error or WireError(
                SsodError.code, "the daemon sent an error without details"
            )
            raise error_from_code(err.code, err.message)


def ok_reply(id: str, result: Mapping[str, object], *, more: bool = False) -> Reply:
    """A successful reply (or a streamed event, with ``more=True``)."""
    return Reply(id=id, ok=True, result=result, error=None, more=more)


def error_reply(id: str, err: SsodError) -> Reply:
    """The final reply that carries ``err`` to the client."""
    return Reply(id=id, ok=False, result=None, error=WireError(err.code, err.message))


def validate_args(op: Op, args: Mapping[str, object]) -> None:
    """Check ``args`` against the ``OPS`` table; raise ``BadRequest`` naming the first problem."""
    spec = OPS[op]
    for name, value in args.items():
        expected = spec.args.get(name)
        if expected is None:
            raise BadRequest(f"{op}: unknown argument {name!r}")
        # type() rather than isinstance(): JSON true must not pass as a string, nor 1 as true.
        if type(value) is not expected:
            raise BadRequest(f"{op}: argument {name!r} must be a {_json_type(expected)}")
        if expected is str and not value:
            raise BadRequest(f"{op}: argument {name!r} must not be empty")
    missing = sorted(spec.required - args.keys())
    if missing:
        raise BadRequest(f"{op}: missing argument {missing[0]!r}")
    if spec.one_of:
        given = [n for n in spec.one_of if args.get(n) not in (None, False)]
        if len(given) != 1:
            names = " | ".join(spec.one_of)
            raise BadRequest(f"{op}: give exactly one of {names}")


def encode_request(req: Request) -> bytes:
    """The wire bytes of ``req`` (validated first, so a bad request never leaves the client)."""
    _check_id(req.id)
    validate_args(req.op, req.args)
    return _dump({"v": PROTOCOL_VERSION, "id": req.id, "op": str(req.op), "args": dict(req.args)})


def decode_request(data: bytes) -> Request:
    """Parse and validate one request; raise ``BadRequest`` or ``ProtocolVersionMismatch``."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise BadRequest(f"request too large: {len(data)} bytes (limit {MAX_MESSAGE_BYTES})")
    obj = _load(data, BadRequest, "request")
    rid = obj.get("id")
    request_id = rid if isinstance(rid, str) and _id_ok(rid) else None
    try:
        _check_version(obj, BadRequest, "client")
        if request_id is None:
            raise BadRequest(f"request id must be a string of 1 to {MAX_ID_LENGTH} characters")
        extra = obj.keys() - _REQUEST_KEYS
        if extra:
            raise BadRequest(f"unknown request field {sorted(extra)[0]!r}")
        raw_op = obj.get("op")
        if not isinstance(raw_op, str) or raw_op not in Op.__members__.values():
            raise BadRequest(f"unknown operation {_short(raw_op)}")
        op = Op(raw_op)
        args = obj.get("args", {})
        if not isinstance(args, dict):
            raise BadRequest(f"{op}: args must be a JSON object")
        validate_args(op, args)
    except IpcError as err:
        err.request_id = request_id
        raise
    return Request(id=request_id, op=op, args=args)


def encode_reply(reply: Reply) -> bytes:
    """The wire bytes of ``reply``; raises ``TypeError``/``ValueError`` if a result is not JSON."""
    obj: dict[str, object] = {"v": PROTOCOL_VERSION, "id": reply.id, "ok": reply.ok}
    obj["more"] = reply.more
    if reply.ok:
        obj["result"] = dict(reply.result or {})
    else:
        err = reply.error or WireError(SsodError.code, "unknown error")
        obj["error"] = {"code": err.code, "message": err.message}
    return _dump(obj)


def decode_reply(data: bytes) -> Reply:
    """Parse one reply; raise ``ProtocolVersionMismatch`` or ``IpcError`` if it is malformed."""
    obj = _load(data, IpcError, "reply from the daemon")
    _check_version(obj, IpcError, "daemon")
    rid, ok, more = obj.get("id"), obj.get("ok"), obj.get("more", False)
    if not isinstance(rid, str) or type(ok) is not bool or type(more) is not bool:
        raise IpcError("malformed reply from the daemon: bad id, ok or more field")
    if obj.keys() - _REPLY_KEYS:
        raise IpcError("malformed reply from the daemon: unknown field")
    if ok:
        result = obj.get("result")
        if not isinstance(result, dict):
            raise IpcError("malformed reply from the daemon: result is not an object")
        return Reply(id=rid, ok=True, result=result, error=None, more=more)
    err = obj.get("error")
    if not isinstance(err, dict):
        raise IpcError("malformed reply from the daemon: error is not an object")
    code, message = err.get("code"), err.get("message")
    if not isinstance(code, str) or not isinstance(message, str):
        raise IpcError("malformed reply from the daemon: error needs a code and a message")
    return Reply(id=rid, ok=False, result=None, error=WireError(code, message), more=False)


def _dump(obj: Mapping[str, object]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _load(data: bytes, error: type[IpcError], what: str) -> dict[str, object]:
    try:
        obj = json.loads(data.decode("utf-8"))
    # ValueError covers bad UTF-8, bad JSON and over-long integers; RecursionError covers deeply
    # nested arrays, which fit easily in 64 KiB.
    except (ValueError, RecursionError) as exc:
        raise error(f"{what} is not valid UTF-8 JSON: {type(exc).__name__}") from None
    if not isinstance(obj, dict):
        raise error(f"{what} is not a JSON object")
    return obj


def _check_version(obj: Mapping[str, object], error: type[IpcError], peer: str) -> None:
    version = obj.get("v")
    if type(version) is not int:
        raise error(f"message from the {peer} has no protocol version")
    if version != PROTOCOL_VERSION:
        me = "daemon" if peer == "client" else "client"
        raise ProtocolVersionMismatch(
            f"the {peer} speaks IPC protocol version {version}, this {me} speaks "
            f"{PROTOCOL_VERSION}: restart the daemon after upgrading ssod"
        )


def _check_id(rid: str) -> None:
    if not _id_ok(rid):
        raise BadRequest(f"request id must be a string of 1 to {MAX_ID_LENGTH} characters")


def _id_ok(rid: str) -> bool:
    return 0 < len(rid) <= MAX_ID_LENGTH


def _json_type(t: type) -> str:
    return "boolean" if t is bool else "string"


def _short(value: object) -> str:
    # Echo at most a short, printable form of what the client sent: never a whole payload.
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
