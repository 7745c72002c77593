"""The account and role menus' order: the AWS CLI v2's keys (aws/aws-cli#10149), table-driven.

Each row is a portal answer in the service's order and the order ``aws configure sso`` shows
(``get_account_sorting_key`` and ``roleName.lower()`` in awscli/customizations/configure/
sso_commands.py, stable ``sorted``). The same order shows in ``ssod roles`` and is the order
``--write-profiles`` adds profiles in.
"""

from __future__ import annotations

from typing import Any

import pytest

from ssod.client.configure import roles_profiles
from ssod.client.output import order, render
from ssod.configview import parse


def acct(account_id: str, name: str = "", email: str = "") -> dict[str, Any]:
    return {"account_id": account_id, "account_name": name, "email": email, "roles": ["R"]}


@pytest.mark.parametrize(
    ("service", "shown"),
    [
        # by name, case-insensitively (the old key put "admin" after "ViewOnly")
        ([acct("1", "prod"), acct("2", "Dev"), acct("3", "audit")], ["3", "2", "1"]),
        # no name: the email takes its place, in the same ranking as names
        ([acct("1", "m-name"), acct("2", "", "B@x"), acct("3", "a-name")], ["3", "2", "1"]),
        # neither name nor email: by id, after every named one
        ([acct("9"), acct("2", "zeta"), acct("1"), acct("3", "", "z@x")], ["3", "2", "1", "9"]),
        # names equal but for case keep the service's order (a stable sort)
        ([acct("2", "Main"), acct("1", "main"), acct("3", "MAIN")], ["2", "1", "3"]),
        # not the id: two accounts of one name keep the service's order, whatever their ids
        ([acct("9", "x"), acct("1", "x")], ["9", "1"]),
        # the tutorial's directory, listed by the service Sub first
        ([acct("2", "Sub-Account"), acct("1", "Main-Account")], ["1", "2"]),
    ],
)
def test_account_menu_order(service: list[dict[str, Any]], shown: list[str]) -> None:
    assert [a["account_id"] for a in order.accounts(service)] == shown


@pytest.mark.parametrize(
    ("service", "shown"),
    [
        (["ViewOnly", "admin", "Billing"], ["admin", "Billing", "ViewOnly"]),
        (["ReadOnly", "AdministratorAccess"], ["AdministratorAccess", "ReadOnly"]),
        (["b", "B", "a", "A"], ["a", "A", "b", "B"]),  # equal but for case: service order
        (["B", "b"], ["B", "b"]),
        (["Role_2", "role-1", "ROLE.3"], ["role-1", "ROLE.3", "Role_2"]),  # lower(), not casefold
        ([], []),
    ],
)
def test_role_menu_order(service: list[str], shown: list[str]) -> None:
    assert order.roles(service) == shown


def test_roles_table_and_new_profiles_use_the_menu_order() -> None:
    listing = {
        "session": "corp",
        "start_url": "https://d-1.awsapps.com/start",
        "region": "us-east-1",
        "accounts": [
            {"account_id": "2", "account_name": "beta", "email": "", "roles": ["b", "A"]},
            {"account_id": "1", "account_name": "Alpha", "email": "", "roles": ["Z", "a"]},
        ],
    }
    rows = render.roles_text(listing).splitlines()[3:]
    assert [row.split()[:3] for row in rows] == [
        ["1", "Alpha", "a"],
        ["1", "Alpha", "Z"],
        ["2", "beta", "A"],
        ["2", "beta", "b"],
    ]
    view = parse("[sso-session corp]\nsso_start_url = https://d-1.awsapps.com/start\n", "c")
    added = roles_profiles.plan(listing, view, (), "{account_id}-{role}")
    assert [p.name for p in added] == ["1-a", "1-Z", "2-A", "2-b"]
