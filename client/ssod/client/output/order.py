"""The order of the account and role menus: exactly the keys the AWS CLI v2 sorts them by.

Since aws/aws-cli#10149 (April 2026), ``aws configure sso`` sorts
(https://github.com/aws/aws-cli/blob/v2/awscli/customizations/configure/sso_commands.py):

- accounts by ``get_account_sorting_key``: the lower-cased account name, else the email, else
  the id, with the accounts that have only an id last (key ``(only_id, value.lower())``);
- roles by ``roleName.lower()``.

Both are Python's stable ``sorted``, so names equal but for case keep the service's order.
The portal always returns a name and an email; ssod's listing carries a missing one as ``""``,
which counts as missing here. Every place ssod shows accounts or roles (the wizard's menus,
``ssod roles``, ``--write-profiles``) orders them with these keys. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

A = TypeVar("A", bound=Mapping[str, Any])


def account_key(account: Mapping[str, Any]) -> tuple[bool, str]:
    """The CLI's ``get_account_sorting_key`` over ssod's account keys."""
    name, email = account.get("account_name"), account.get("email")
    only_id = not name and not email
    for value in (name, email, account.get("account_id")):
        if value:
            return only_id, str(value).lower()
    return only_id, ""


def accounts(listed: Iterable[A]) -> list[A]:
    """``listed`` in the CLI's account-menu order."""
    return sorted(listed, key=account_key)


def roles(names: Iterable[str]) -> list[str]:
    """Role names in the CLI's role-menu order."""
    return sorted(names, key=str.lower)
