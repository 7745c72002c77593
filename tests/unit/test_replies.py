"""The reply types agree with what renders them, and typing a reply changed no byte of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ssod import replies
from ssod.client.output import render
from ssod.daemon.aws.credentials import RoleCredentials
from ssod.wire import Op, encode_reply, ok_reply


def keys(typed: type) -> frozenset[str]:
    return frozenset(typed.__required_keys__ | typed.__optional_keys__)  # type: ignore[attr-defined]


def test_every_operation_has_a_reply_type() -> None:
    assert set(replies.REPLIES) == set(Op)


@pytest.mark.parametrize(
    ("documented", "typed"),
    [
        (render.DAEMON_KEYS, replies.DaemonStatus),
        (render.SESSION_KEYS, replies.SessionStatus),
        (render.PROFILE_KEYS, replies.ProfileStatus),
        (render.ACCOUNT_KEYS, replies.AccountRoles),
        (render.TOKEN_KEYS, replies.TokenInfo),
    ],
)
def test_the_keys_status_and_roles_document_are_keys_of_the_replies(
    documented: tuple[str, ...], typed: type
) -> None:
    # `ssod status --json` and `ssod roles --json` project the replies onto these keys by name.
    assert set(documented) <= keys(typed)


def test_optional_keys_are_the_ones_sometimes_absent() -> None:
    assert keys(replies.ProfileStatus) - replies.ProfileStatus.__required_keys__ == {
        "role_name",
        "role_arn",
    }
    assert replies.CredentialsReply.__optional_keys__ == {"RoleArn"}
    assert replies.LoginReply.__optional_keys__ == {"region_updated"}


def _old_credentials_reply(creds: RoleCredentials) -> dict[str, object]:
    # What the daemon built before the reply had a type: the ECS body, Token renamed and last.
    body: dict[str, object] = dict(creds.ecs_json())
    body["SessionToken"] = body.pop("Token")
    return body


@pytest.mark.parametrize("role_arn", [None, "arn:aws:iam::222222222222:role/Deployer"])
def test_the_typed_credentials_reply_is_byte_identical(role_arn: str | None) -> None:
    creds = RoleCredentials(
        access_key_id="ASIAEXAMPLE",
        secret_access_key="secret",
        session_token="session",
        expiration=datetime(2026, 12, 5, 20, 0, 5, tzinfo=UTC),
        account_id="111111111111",
        role_arn=role_arn,
    )
    typed = encode_reply(ok_reply("1", creds.ipc_reply()))
    assert typed == encode_reply(ok_reply("1", _old_credentials_reply(creds)))
    assert list(json.loads(typed)["result"])[-1] == "SessionToken"
