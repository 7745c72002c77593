"""``eksargv`` and ``execcred``: the plugin's argv forms, its request and its output."""

from __future__ import annotations

import json

import pytest

from ssod import eksargv
from ssod.client.output import execcred


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            [
                "--region",
                "eu-west-1",
                "eks",
                "get-token",
                "--cluster-name",
                "c",
                "--output",
                "json",
            ],
            ["eks", "token", "--region", "eu-west-1", "--cluster", "c"],
        ),
        (
            ["eks", "get-token", "--cluster-id", "id-1", "--role", "arn:r", "--region=r"],
            ["eks", "token", "--cluster-id", "id-1", "--role-arn", "arn:r", "--region", "r"],
        ),
        (
            ["eks", "get-token", "--cluster-name=c", "--role-arn", "a", "--session-name", "s"],
            ["eks", "token", "--cluster", "c", "--role-arn", "a", "--session-name", "s"],
        ),
        # Unknown flags pass through, so argparse words the error.
        (
            ["eks", "get-token", "--cluster-name", "c", "--output", "text"],
            ["eks", "token", "--cluster", "c", "--output", "text"],
        ),
        (
            ["eks", "get-token", "--debug", "--cluster-name", "c"],
            ["eks", "token", "--debug", "--cluster", "c"],
        ),
        (["eks", "describe-cluster", "--name", "c"], None),
        (["status"], None),
        (["credentials", "--profile", "dev"], None),
        ([], None),
    ],
)
def test_translate(argv: list[str], expected: list[str] | None) -> None:
    assert eksargv.translate(argv) == expected


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["--cluster", "c"], {"cluster": "c"}),
        (["--cluster=c", "--profile", "p", "--no-start"], {"cluster": "c", "profile": "p"}),
        (["--cluster-id", "i", "--role-arn", "a"], {"cluster_id": "i", "role_arn": "a"}),
        (["--cluster", "c", "--cluster-id", "i"], None),  # argparse: not allowed with
        ([], None),  # argparse: one of the arguments is required
        (["--cluster"], None),
        (["--cluster", "-x"], None),
        (["--cluster="], None),
        (["--clus", "c"], None),  # an abbreviation: argparse's business
        (["--cluster", "c", "-h"], None),
    ],
)
def test_token_fields(words: list[str], expected: dict[str, str] | None) -> None:
    assert eksargv.token_fields(words) == expected


@pytest.mark.parametrize(
    ("fields", "environ", "expected"),
    [
        ({"cluster": "c"}, {}, {"profile": "default", "cluster": "c"}),
        (
            {"cluster": "c"},
            {"AWS_PROFILE": "p", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "us-west-2"},
            {"profile": "p", "cluster": "c", "region": "us-west-2"},
        ),
        (
            {"cluster_id": "i", "profile": "x", "region": "r", "role_arn": "a"},
            {"AWS_DEFAULT_PROFILE": "d", "AWS_PROFILE": "p", "AWS_USE_FIPS_ENDPOINT": "TRUE"},
            {"profile": "x", "cluster": "i", "region": "r", "role_arn": "a", "fips": True},
        ),
        (
            {"cluster": "c"},
            {"AWS_DEFAULT_PROFILE": "d", "AWS_PROFILE": "p", "AWS_USE_DUALSTACK_ENDPOINT": "true"},
            {"profile": "d", "cluster": "c", "dualstack": True},
        ),
    ],
)
def test_request_args(
    fields: dict[str, str], environ: dict[str, str], expected: dict[str, object]
) -> None:
    assert execcred.request_args(fields, environ) == expected


def test_render() -> None:
    reply = {"token": "k8s-aws-v1.abc", "expiration": "2026-12-05T18:27:50Z"}
    info = json.dumps({"apiVersion": execcred.V1})
    body = json.loads(execcred.render(reply, info))
    assert body == {
        "kind": "ExecCredential",
        "apiVersion": execcred.V1,
        "spec": {},
        "status": {"expirationTimestamp": "2026-12-05T18:27:50Z", "token": "k8s-aws-v1.abc"},
    }
    assert "\n" not in execcred.render(reply, None)
    for bad in ("[]", '"x"', "{}", '{"apiVersion": 1}', "{"):
        assert execcred.api_version(bad) == execcred.V1BETA1
