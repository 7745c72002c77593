"""The emulator's directory: the users, accounts and the roles each account assigns.

Owns the built-in default directory and loading a directory from a JSON file. Pure: no I/O
beyond reading the one file it is given, no aiohttp. Every user is assigned every account's roles.

File format::

    {"users": ["user@example.com"],
     "accounts": [{"id": "111111111111", "name": "dev", "email": "dev@example.com",
                   "roles": ["ReadOnly", "Admin"]}],
     "external_ids": {"arn:aws:iam::222222222222:role/Deploy": "s3cret"},
     "clusters": ["demo"]}

``clusters`` names the EKS clusters (DescribeCluster; each gets a Kubernetes API stub).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_CLUSTER = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")


class DirectoryError(ValueError):
    """The directory file is not valid."""


@dataclass(frozen=True)
class Account:
    """One AWS account assigned to the users, with its permission-set role names."""

    account_id: str
    name: str
    email: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Directory:
    """Users and account assignments; ``external_ids`` maps role ARNs to a required ExternalId."""

    users: tuple[str, ...]
    accounts: tuple[Account, ...]
    external_ids: dict[str, str] = field(default_factory=dict)
    clusters: tuple[str, ...] = ("demo",)

    @property
    def default_user(self) -> str:
        """The user who approves logins unless told otherwise."""
        return self.users[0]

    def account(self, account_id: str) -> Account | None:
        """The account with this id, or None."""
        return next((a for a in self.accounts if a.account_id == account_id), None)


def default_directory() -> Directory:
    """Two accounts (dev, prod), two roles each, one user, one EKS cluster (demo)."""
    roles = ("ReadOnly", "Admin")
    return Directory(
        users=("user@example.com",),
        accounts=(
            Account("111111111111", "dev", "aws-dev@example.com", roles),
            Account("222222222222", "prod", "aws-prod@example.com", roles),
        ),
    )


def parse_directory(raw: Any) -> Directory:
    """Build a Directory from decoded JSON; raises DirectoryError with the reason."""
    if not isinstance(raw, dict):
        raise DirectoryError("directory must be a JSON object")
    users = raw.get("users", ["user@example.com"])
    if not isinstance(users, list) or not users or not all(isinstance(u, str) for u in users):
        raise DirectoryError("'users' must be a non-empty list of strings")
    accounts = []
    for item in raw.get("accounts", []):
        if not isinstance(item, dict):
            raise DirectoryError("each account must be an object")
        account_id = str(item.get("id", ""))
        if not _ACCOUNT_ID.match(account_id):
            raise DirectoryError(f"account id {account_id!r} is not 12 digits")
        roles = item.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise DirectoryError(f"account {account_id}: 'roles' must be a list of strings")
        name = str(item.get("name", account_id))
        email = str(item.get("email", f"aws-{name}@example.com"))
        accounts.append(Account(account_id, name, email, tuple(roles)))
    if not accounts:
        raise DirectoryError("'accounts' must list at least one account")
    external_ids = raw.get("external_ids", {})
    if not isinstance(external_ids, dict):
        raise DirectoryError("'external_ids' must map role ARNs to strings")
    clusters = raw.get("clusters", ["demo"])
    if not isinstance(clusters, list) or not all(
        isinstance(c, str) and _CLUSTER.match(c) for c in clusters
    ):
        raise DirectoryError("'clusters' must be a list of EKS cluster names")
    return Directory(
        tuple(users),
        tuple(accounts),
        {str(k): str(v) for k, v in external_ids.items()},
        tuple(clusters),
    )


def load_directory(path: Path) -> Directory:
    """Read and parse a directory JSON file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DirectoryError(f"cannot read {path}: {err}") from err
    return parse_directory(raw)
