"""The IPC wire contract: round trips for every operation, and every way a request can be bad."""

from __future__ import annotations

import json

import pytest

from ssod import errors, wire
from ssod.wire import Op, Reply, Request, WireError

# One valid argument set per operation: the round-trip table covers every Op.
VALID_ARGS: dict[Op, list[dict[str, object]]] = {
    Op.STATUS: [{}],
    Op.CREDENTIALS: [{"profile": "dev"}],
    Op.LOGIN: [
        {"sso_session": "corp"},
        {"profile": "dev", "use_device_code": True, "no_browser": False},
    ],
    Op.CANCEL_LOGIN: [{"sso_session": "corp"}],
    Op.LOGOUT: [{"sso_session": "corp"}, {"profile": "dev"}, {"all": True}],
    Op.ROLES: [{"sso_session": "corp"}],
    Op.RELOAD: [{}],
    Op.ENDPOINT: [{}],
    Op.ROTATE_TOKEN: [{}],
    Op.SSO_REGION: [{"region": "ap-northeast-1"}],
    Op.START_URL: [{"start_url": "https://sso.example.com"}],
    Op.CONSOLE: [{"profile": "dev"}, {"profile": "dev", "destination": "s3", "duration": "1h"}],
    Op.ISSUE_TOKEN: [{"profile": "dev"}, {"profile": "dev", "ttl": "3600", "name": "ci"}],
    Op.REVOKE_TOKEN: [{"id": "0123456789"}, {"profile": "dev"}, {"all": True}],
    Op.LIST_TOKENS: [{}],
    Op.EKS_TOKEN: [
        {"profile": "dev", "cluster": "demo"},
        {"profile": "dev", "cluster": "demo", "region": "eu-west-1", "role_arn": "arn:r"},
        {"profile": "dev", "cluster": "id", "session_name": "s", "fips": True, "dualstack": True},
    ],
    Op.EKS_CLUSTER: [
        {"profile": "dev", "cluster": "demo"},
        {"profile": "p", "cluster": "c", "region": "r"},
    ],
}


def test_every_op_has_a_spec_and_a_round_trip_case() -> None:
    assert set(wire.OPS) == set(Op)
    assert set(VALID_ARGS) == set(Op)


def test_only_login_streams() -> None:
    assert [op for op, spec in wire.OPS.items() if spec.streams] == [Op.LOGIN]


@pytest.mark.parametrize(
    ("op", "args"), [(op, args) for op, cases in VALID_ARGS.items() for args in cases]
)
def test_request_round_trip(op: Op, args: dict[str, object]) -> None:
    req = Request(id="r1", op=op, args=args)
    assert wire.decode_request(wire.encode_request(req)) == req


def test_request_encoding_is_compact_versioned_utf8() -> None:
    data = wire.encode_request(Request("a1", Op.CREDENTIALS, {"profile": "dév"}))
    assert data == '{"v":1,"id":"a1","op":"credentials","args":{"profile":"dév"}}'.encode()


def test_missing_args_means_none() -> None:
    assert wire.decode_request(b'{"v":1,"id":"x","op":"status"}') == Request("x", Op.STATUS, {})


@pytest.mark.parametrize(
    "reply",
    [
        wire.ok_reply("r1", {"sessions": [{"name": "corp", "expires_in": 3600}]}),
        wire.ok_reply(
            "r1", {"event": "verification", "url": "https://x", "user_code": "AB"}, more=True
        ),
        wire.ok_reply("r1", {}),
        wire.error_reply("r1", errors.LoginRequired("log in to corp")),
        wire.error_reply("", errors.BadRequest("not JSON")),
    ],
)
def test_reply_round_trip(reply: Reply) -> None:
    assert wire.decode_reply(wire.encode_reply(reply)) == reply


def test_reply_encodings() -> None:
    assert wire.encode_reply(wire.ok_reply("r", {"event": "done"}, more=False)) == (
        b'{"v":1,"id":"r","ok":true,"more":false,"result":{"event":"done"}}'
    )
    assert wire.encode_reply(wire.error_reply("r", errors.ProfileNotFound("no profile x"))) == (
        b'{"v":1,"id":"r","ok":false,"more":false,'
        b'"error":{"code":"profile_not_found","message":"no profile x"}}'
    )


@pytest.mark.parametrize("cls", errors._all_subclasses(errors.SsodError))
def test_raise_for_error_rebuilds_the_same_class(cls: type[errors.SsodError]) -> None:
    err = errors.error_from_code(cls.code, "boom")
    reply = wire.decode_reply(wire.encode_reply(wire.error_reply("r", err)))
    with pytest.raises(cls) as caught:
        reply.raise_for_error()
    assert type(caught.value) is cls
    assert caught.value.message == "boom"


def test_raise_for_error_is_silent_on_success() -> None:
    wire.ok_reply("r", {}).raise_for_error()


def _req(**fields: object) -> bytes:
    base: dict[str, object] = {"v": 1, "id": "r9", "op": "status", "args": {}}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not _DROP}).encode()


_DROP = object()

# (name, bytes, the request id the error must carry, message fragment)
BAD_REQUESTS: list[tuple[str, bytes, str | None, str]] = [
    ("empty", b"", None, "not valid UTF-8 JSON"),
    ("not json", b"{nope", None, "not valid UTF-8 JSON"),
    ("bad utf-8", b'{"v":1,"id":"\xff"}', None, "not valid UTF-8 JSON"),
    ("array", b"[1,2]", None, "not a JSON object"),
    ("string", b'"status"', None, "not a JSON object"),
    ("deep nesting", b"[" * 60000, None, "not valid UTF-8 JSON"),
    ("huge int", b'{"v":' + b"9" * 5000 + b"}", None, "not valid UTF-8 JSON"),
    ("oversized", b" " * (wire.MAX_MESSAGE_BYTES + 1), None, "too large"),
    ("no version", _req(v=_DROP), "r9", "no protocol version"),
    ("version as string", _req(v="1"), "r9", "no protocol version"),
    ("version as bool", _req(v=True), "r9", "no protocol version"),
    ("no id", _req(id=_DROP), None, "request id"),
    ("numeric id", _req(id=7), None, "request id"),
    ("empty id", _req(id=""), None, "request id"),
    ("long id", _req(id="x" * 65), None, "request id"),
    ("unknown field", _req(extra=1), "r9", "unknown request field 'extra'"),
    ("unknown op", _req(op="format_disk"), "r9", "unknown operation 'format_disk'"),
    ("op not a string", _req(op=["status"]), "r9", "unknown operation"),
    ("no op", _req(op=_DROP), "r9", "unknown operation"),
    ("args not object", _req(args=[]), "r9", "args must be a JSON object"),
    ("unknown arg", _req(args={"verbose": True}), "r9", "unknown argument 'verbose'"),
    ("missing required", _req(op="credentials", args={}), "r9", "missing argument 'profile'"),
    ("wrong type", _req(op="credentials", args={"profile": 1}), "r9", "must be a string"),
    ("bool not string", _req(op="roles", args={"sso_session": True}), "r9", "must be a string"),
    ("empty string", _req(op="credentials", args={"profile": ""}), "r9", "must not be empty"),
    ("null arg", _req(op="credentials", args={"profile": None}), "r9", "must be a string"),
    ("int not bool", _req(op="logout", args={"all": 1}), "r9", "must be a boolean"),
    ("login neither", _req(op="login", args={}), "r9", "exactly one of sso_session | profile"),
    (
        "login both",
        _req(op="login", args={"sso_session": "a", "profile": "b"}),
        "r9",
        "exactly one of",
    ),
    ("logout all false", _req(op="logout", args={"all": False}), "r9", "exactly one of"),
    (
        "logout all and profile",
        _req(op="logout", args={"all": True, "profile": "dev"}),
        "r9",
        "exactly one of",
    ),
]


@pytest.mark.parametrize(
    ("data", "request_id", "fragment"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_requests(data: bytes, request_id: str | None, fragment: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        wire.decode_request(data)
    assert fragment in caught.value.message
    assert caught.value.request_id == request_id


@pytest.mark.parametrize("version", [0, 2, 99])
def test_version_mismatch_carries_the_id(version: int) -> None:
    with pytest.raises(errors.ProtocolVersionMismatch) as caught:
        wire.decode_request(_req(v=version))
    assert caught.value.request_id == "r9"
    assert f"version {version}" in caught.value.message


def test_error_messages_do_not_echo_argument_values() -> None:
    secret = "AKIA-very-secret-value"
    for args in ({"profile": secret, "x": 1}, {"profile": [secret]}):
        with pytest.raises(errors.BadRequest) as caught:
            wire.decode_request(_req(op="credentials", args=args))
        assert secret not in caught.value.message


def test_encode_request_validates_before_sending() -> None:
    with pytest.raises(errors.BadRequest):
        wire.encode_request(Request("r", Op.CREDENTIALS, {}))
    with pytest.raises(errors.BadRequest):
        wire.encode_request(Request("", Op.STATUS, {}))


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        (b"garbage", errors.IpcError),
        (b"[]", errors.IpcError),
        (b'{"v":2,"id":"r","ok":true,"more":false,"result":{}}', errors.ProtocolVersionMismatch),
        (b'{"id":"r","ok":true,"result":{}}', errors.IpcError),
        (b'{"v":1,"id":"r","ok":1,"result":{}}', errors.IpcError),
        (b'{"v":1,"id":"r","ok":true,"result":[]}', errors.IpcError),
        (b'{"v":1,"id":"r","ok":true,"result":{},"surprise":1}', errors.IpcError),
        (b'{"v":1,"id":"r","ok":false,"error":"boom"}', errors.IpcError),
        (b'{"v":1,"id":"r","ok":false,"error":{"code":1,"message":"m"}}', errors.IpcError),
    ],
)
def test_bad_replies(data: bytes, cls: type[errors.IpcError]) -> None:
    with pytest.raises(cls):
        wire.decode_reply(data)


def test_error_reply_without_details_still_raises() -> None:
    reply = Reply(id="r", ok=False, result=None, error=None)
    with pytest.raises(errors.SsodError):
        reply.raise_for_error()
    assert WireError("bad_request", "m") == WireError("bad_request", "m")
