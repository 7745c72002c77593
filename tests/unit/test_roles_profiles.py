"""``roles_profiles``: which profiles ``ssod roles --write-profiles`` adds, and their names."""

from __future__ import annotations

import re

import pytest

from ssod import configview
from ssod.client.configure.roles_profiles import DEFAULT_TEMPLATE, check_template, plan, sanitize

# The JS SDK drops profiles whose names do not match this (smithy parseIni, docs/protocols.md 8).
JS_PROFILE_NAME = re.compile(r"^[\w\-@+.%:/]+$")

LISTING = {
    "session": "corp",
    "accounts": [
        {"account_id": "222222222222", "account_name": "prod", "roles": ["ReadOnly", "Admin"]},
        {"account_id": "111111111111", "account_name": "dev", "roles": ["Admin", "ReadOnly"]},
    ],
}


def names(config: str, template: str = DEFAULT_TEMPLATE, taken: tuple[str, ...] = ()) -> list[str]:
    return [p.name for p in plan(LISTING, configview.parse(config), taken, template)]


def test_adds_every_role_without_a_profile_sorted_by_account_name() -> None:
    assert names("") == ["Admin-dev", "ReadOnly-dev", "Admin-prod", "ReadOnly-prod"]


def test_a_profile_with_the_same_session_account_and_role_counts() -> None:
    config = (
        "[profile mine]\nsso_session = corp\nsso_account_id = 111111111111\n"
        "sso_role_name = Admin\n"
        # Same account and role on another session, or legacy: does not count.
        "[profile other]\nsso_session = other\nsso_account_id = 222222222222\n"
        "sso_role_name = Admin\n"
    )
    assert names(config) == ["ReadOnly-dev", "Admin-prod", "ReadOnly-prod"]


def test_never_reuses_a_name() -> None:
    config = "[profile Admin-dev]\nregion = x\n[profile Admin-dev-2]\nregion = y\n"
    added = names(config, taken=("ReadOnly-dev",))
    assert added == ["Admin-dev-3", "ReadOnly-dev-2", "Admin-prod", "ReadOnly-prod"]


def test_default_is_never_generated() -> None:
    assert names("", template="default")[:2] == ["default-2", "default-3"]


def test_values_are_in_aws_cli_order() -> None:
    [first, *_] = plan(LISTING, configview.parse(""), (), DEFAULT_TEMPLATE)
    assert list(first.values().items()) == [
        ("sso_session", "corp"),
        ("sso_account_id", "111111111111"),
        ("sso_role_name", "Admin"),
    ]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("ReadOnly-dev", "ReadOnly-dev"),
        ("My Account (Prod)/Admin", "My-Account-Prod-/Admin"),
        ("  spaced  ", "spaced"),
        ("a@b+c.d%e:f/g_h", "a@b+c.d%e:f/g_h"),
        ("Ünïcode", "n-code"),
        ("!!!", ""),
    ],
)
def test_sanitize(raw: str, clean: str) -> None:
    assert sanitize(raw) == clean
    assert not clean or JS_PROFILE_NAME.match(clean)


def test_an_empty_name_falls_back_to_role_and_account() -> None:
    assert names("", template="!!!")[0] == "Admin-111111111111"


@pytest.mark.parametrize(
    ("template", "ok"),
    [
        (DEFAULT_TEMPLATE, True),
        ("{session}.{account_id}.{role}", True),
        ("{nope}", False),
        ("{role", False),
        ("{0}", False),
    ],
)
def test_check_template(template: str, ok: bool) -> None:
    assert (check_template(template) is None) is ok


def test_region_is_written_when_given() -> None:
    [first, *_] = plan(LISTING, configview.parse(""), (), DEFAULT_TEMPLATE, "eu-west-1")
    assert list(first.values().items())[-1] == ("region", "eu-west-1")
    [plain, *_] = plan(LISTING, configview.parse(""), (), DEFAULT_TEMPLATE)
    assert "region" not in plain.values()


def test_region_must_be_a_region_name() -> None:
    from ssod.client import cli

    with pytest.raises(SystemExit):
        cli.build_parser("roles").parse_args(["roles", "--write-profiles", "--region", "Ireland"])
    args = cli.build_parser("roles").parse_args(["roles", "--region", "eu-west-1"])
    assert args.region == "eu-west-1"
