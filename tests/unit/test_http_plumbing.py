"""The plumbing the ECS and IMDS endpoints share (``serve/http``): statuses, bodies, the secret
check. Pure logic, table-driven; the endpoints themselves are driven over loopback in
tests/integration/test_ecs.py and test_imds.py."""

from __future__ import annotations

import json

import pytest

from ssod import errors
from ssod.daemon.serve.http.deadlines import head_deadline
from ssod.daemon.serve.http.gate import SecretCheck
from ssod.daemon.serve.http.replies import error_body, error_reply, reply, status_for


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.ProfileNotFound("x"), 404),  # final for Java: no retry
        (errors.SessionNotFound("x"), 404),
        (errors.RoleAccessDenied("x"), 403),
        (errors.LoginRequired("x"), 503),  # an AuthError: retried by every SDK
        (errors.AwsUnavailable("x"), 503),
        (errors.AwsError("x"), 502),
        (errors.BadRequest("x"), 500),
        (errors.SsodError("x"), 500),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_status_for(error: errors.SsodError, status: int) -> None:
    assert status_for(error) == status
    response = error_reply(error)
    assert response.status == status
    assert isinstance(response.body, bytes)
    assert json.loads(response.body) == {"code": error.code, "message": "x"}


def test_replies_are_json_exactly_and_never_cached() -> None:
    response = reply(200, error_body("c", "m"))
    assert response.content_type == "application/json"  # Go ignores any other error body
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("secret", "given", "ok"),
    [
        ("s3cret-token", "s3cret-token", True),
        ("s3cret-token", "s3cret-toke", False),
        ("s3cret-token", "s3cret-token ", False),
        ("s3cret-token", "", False),
        ("", "", False),  # no secret yet: nothing passes
        ("s3cret-token", "s3cret-t\udcffken", False),  # undecodable header bytes
    ],
)
def test_secret_check(secret: str, given: str, ok: bool) -> None:
    assert SecretCheck(lambda: secret)(given) is ok


def test_secret_check_follows_a_rotation() -> None:
    current = ["first-token"]
    check = SecretCheck(lambda: current[0])
    assert check("first-token")
    current[0] = "second-token"
    assert not check("first-token")
    assert check("second-token")


@pytest.mark.parametrize(
    ("head", "wait", "deadline"), [(5.0, 1.0, 5.0), (0.6, 0.1, 0.6), (0.6, 1.0, 1.5)]
)
def test_a_request_being_answered_never_hits_the_head_deadline(
    head: float, wait: float, deadline: float
) -> None:
    assert head_deadline(head, wait) == deadline
