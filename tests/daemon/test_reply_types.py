"""The reply types of ``ssod.replies`` are what the real daemon sends, operation by operation.

mypy checks that the daemon builds, and the client reads, the keys these types name; this
checks the types against the wire: every operation's final reply from a real daemon (logged
in on the emulator) has exactly the keys of its type, nested ones too, with values of the
declared JSON types.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any, get_args, get_origin, get_type_hints, is_typeddict

from harness import DaemonHarness
from ssod import replies
from ssod.wire import Op


def conforms(value: object, hint: Any, where: str) -> list[str]:
    """What in ``value`` does not fit ``hint`` (a TypedDict, a list, a union or a scalar)."""
    if is_typeddict(hint):
        if not isinstance(value, Mapping):
            return [f"{where}: {type(value).__name__}, not an object"]
        hints = get_type_hints(hint)
        keys = set(value)
        missing = hint.__required_keys__ - keys
        unknown = keys - hint.__required_keys__ - hint.__optional_keys__
        problems = [f"{where}: missing {sorted(missing)}"] if missing else []
        problems += [f"{where}: not in {hint.__name__}: {sorted(unknown)}"] if unknown else []
        for key in sorted(keys - unknown):
            problems += conforms(value[key], hints[key], f"{where}.{key}")
        return problems
    origin = get_origin(hint)
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__}, not a list"]
        (item,) = get_args(hint)
        return [p for i, v in enumerate(value) for p in conforms(v, item, f"{where}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not an object"]
        key_type, value_type = get_args(hint)
        return [
            problem
            for k, v in value.items()
            for problem in conforms(k, key_type, f"{where} key")
            + conforms(v, value_type, f"{where}.{k}")
        ]
    if origin in (types.UnionType, typing.Union):
        options = get_args(hint)
        fits = [conforms(value, option, where) for option in options]
        return [] if any(not f for f in fits) else [f"{where}: {value!r} is not {hint}"]
    if hint is type(None):
        return [] if value is None else [f"{where}: {value!r} is not null"]
    # bool is an int in Python, never in JSON
    if hint is int and isinstance(value, bool):
        return [f"{where}: {value!r} is not an int"]
    return [] if isinstance(value, hint) else [f"{where}: {value!r} is not {hint.__name__}"]


def test_conforms_catches_a_renamed_key_and_a_wrong_type() -> None:
    good = {"cancelled": True}
    assert conforms(good, replies.CancelLoginReply, "r") == []
    assert conforms({"canceled": True}, replies.CancelLoginReply, "r") == [
        "r: missing ['cancelled']",
        "r: not in CancelLoginReply: ['canceled']",
    ]
    assert conforms({"cancelled": 1}, replies.CancelLoginReply, "r") == [
        "r.cancelled: 1 is not bool"
    ]
    token = {
        "id": "a",
        "name": None,
        "profile": "dev",
        "created_at": "x",
        "expires_at": "y",
        "pid": True,
    }
    assert conforms({"tokens": [token]}, replies.ListTokensReply, "r") == [
        "r.tokens[0].pid: True is not int | None"
    ]


def test_every_operation_replies_with_its_type(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    seen: dict[Op, list[Mapping[str, Any]]] = {}

    def ask(op: Op, **args: Any) -> dict[str, Any]:
        reply = ssod_daemon.request(op, **args)
        seen.setdefault(op, []).append(reply)
        return reply

    seen[Op.LOGIN] = [ssod_daemon.login(use_device_code=True)[-1]]
    ask(Op.STATUS)  # before any credentials: nulls where nothing is known yet
    ask(Op.CREDENTIALS, profile="dev")
    ask(Op.CREDENTIALS, profile="chained")  # with RoleArn
    ask(Op.STATUS)  # both kinds of profile, served
    ask(Op.ENDPOINT)
    ask(Op.ROLES, sso_session="corp")
    ask(Op.ROLES, sso_session="corp", accounts_only=True)  # the wizard's account menu
    ask(Op.ROLES, sso_session="corp", account_id="111111111111")  # and its role menu
    ask(Op.RELOAD)
    ask(Op.SSO_REGION, region="us-east-1")
    ask(Op.START_URL, start_url="https://d-1234567890.awsapps.com/start")
    ask(Op.CONSOLE, profile="dev")
    issued = ask(Op.ISSUE_TOKEN, profile="dev", name="probe")
    ask(Op.ISSUE_TOKEN, profile="prod")
    ask(Op.LIST_TOKENS)
    ask(Op.EKS_TOKEN, profile="dev", cluster="demo")
    ask(Op.EKS_TOKEN, profile="dev", cluster="demo", role_arn="arn:aws:iam::222222222222:role/D")
    ask(Op.EKS_CLUSTER, profile="dev", cluster="demo")
    ask(Op.STATUS)  # with scoped tokens
    ask(Op.REVOKE_TOKEN, id=issued["id"])
    ask(Op.CANCEL_LOGIN, sso_session="corp")
    ask(Op.ROTATE_TOKEN)
    ask(Op.LOGOUT, all=True)

    assert set(seen) == set(Op) == set(replies.REPLIES)
    problems = [
        problem
        for op, answers in seen.items()
        for i, answer in enumerate(answers)
        for problem in conforms(answer, replies.REPLIES[op], f"{op}#{i}")
    ]
    assert problems == []
