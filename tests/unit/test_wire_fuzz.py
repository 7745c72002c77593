"""Fuzzing the wire decoders: only ssod's own typed errors may ever escape, and round trips hold."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ssod import errors, wire
from ssod.wire import Op, Request

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
KEYS = st.sampled_from(["v", "id", "op", "args", "ok", "more", "result", "error", "x"])
OPS = st.sampled_from([*Op, "nope", ""])
ARG_NAMES = st.sampled_from(["profile", "sso_session", "all", "use_device_code", "no_browser"])
ARG_VALUES = st.none() | st.booleans() | st.integers() | st.text(max_size=8)

# Near-misses: real envelope keys and argument names with random values reach the deep checks.
NEAR_REQUESTS = st.fixed_dictionaries(
    {},
    optional={
        "v": st.sampled_from([1, 1, 1, 2, "1", True, None]),
        "id": st.text(max_size=70) | st.integers(),
        "op": OPS,
        "args": st.dictionaries(ARG_NAMES, ARG_VALUES, max_size=3) | JSON,
        "x": JSON,
    },
)


def _decode_request_or_typed_error(data: bytes) -> None:
    try:
        req = wire.decode_request(data)
    except errors.SsodError as err:
        assert isinstance(err, errors.BadRequest | errors.ProtocolVersionMismatch)
        assert err.request_id is None or isinstance(err.request_id, str)
    else:
        # Anything accepted must survive a round trip unchanged.
        assert wire.decode_request(wire.encode_request(req)) == req


@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    _decode_request_or_typed_error(data)


@given(JSON)
def test_random_json(value: object) -> None:
    _decode_request_or_typed_error(json.dumps(value).encode())


@given(st.dictionaries(KEYS, JSON, max_size=6))
def test_random_objects(value: dict[str, object]) -> None:
    _decode_request_or_typed_error(json.dumps(value).encode())


@settings(max_examples=500)
@given(NEAR_REQUESTS)
def test_near_miss_requests(value: dict[str, object]) -> None:
    _decode_request_or_typed_error(json.dumps(value).encode())


@given(st.binary(max_size=1024) | JSON.map(lambda v: json.dumps(v).encode()))
def test_random_replies(data: bytes) -> None:
    try:
        wire.decode_reply(data)
    except errors.SsodError as err:
        assert isinstance(err, errors.IpcError)


def _value(t: type) -> st.SearchStrategy[object]:
    return st.booleans() if t is bool else st.text(min_size=1, max_size=20)


def _valid(req: Request) -> bool:
    try:
        wire.validate_args(req.op, req.args)
    except errors.BadRequest:
        return False
    return True


def _requests_for(op: Op) -> st.SearchStrategy[Request]:
    spec = wire.OPS[op]
    args = st.fixed_dictionaries(
        {name: _value(t) for name, t in spec.args.items() if name in spec.required},
        optional={name: _value(t) for name, t in spec.args.items() if name not in spec.required},
    )
    ids = st.text(min_size=1, max_size=wire.MAX_ID_LENGTH)
    return st.builds(Request, id=ids, op=st.just(op), args=args).filter(_valid)


@given(st.sampled_from(list(Op)).flatmap(_requests_for))
def test_request_round_trip_for_every_op(req: Request) -> None:
    assert wire.decode_request(wire.encode_request(req)) == req


@given(
    st.text(max_size=wire.MAX_ID_LENGTH),
    st.dictionaries(st.text(), JSON, max_size=4),
    st.booleans(),
)
def test_ok_reply_round_trip(rid: str, result: dict[str, object], more: bool) -> None:
    reply = wire.ok_reply(rid, result, more=more)
    assert wire.decode_reply(wire.encode_reply(reply)) == reply


@given(st.sampled_from(errors._all_subclasses(errors.SsodError)), st.text())
def test_error_reply_round_trip(cls: type[errors.SsodError], message: str) -> None:
    reply = wire.decode_reply(wire.encode_reply(wire.error_reply("r", cls(message))))
    try:
        reply.raise_for_error()
    except errors.SsodError as err:
        assert type(err) is cls
        assert err.message == message
    else:
        raise AssertionError("an error reply did not raise")
