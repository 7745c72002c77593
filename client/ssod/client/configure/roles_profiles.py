"""``ssod roles --write-profiles``: add a profile for every account and role not yet configured.

A role counts as configured when some profile has the same ``sso_session``, ``sso_account_id``
and ``sso_role_name``. New names come from a template (placeholders ``{account_id}``,
``{account_name}``, ``{role}``, ``{session}``), reduced to the characters every SDK accepts in
a profile name (the JS SDK's ``[\\w-@+.%:/]``), and never reuse a name the config or credentials
file already has: ``-2``, ``-3``... are appended instead. Never changes an existing section;
all new sections go in one atomic write through ``configwriter``. Planning is pure.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from ssod.client.ipc import IpcClient
    from ssod.configview import ConfigView

DEFAULT_TEMPLATE = "{role}-{account_name}"
PLACEHOLDERS = ("account_id", "account_name", "role", "session")
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-@+.%:/]+")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--write-profiles`` and ``--profile-template`` (the ``ssod roles`` hook)."""
    parser.add_argument(
        "--write-profiles",
        action="store_true",
        help="add a profile to the config file for each account and role that has none",
    )
    parser.add_argument(
        "--profile-template",
        metavar="TEMPLATE",
        default=DEFAULT_TEMPLATE,
        type=_template,
        help="names of new profiles; placeholders {account_id}, {account_name}, {role}, "
        f"{{session}} (default {DEFAULT_TEMPLATE})",
    )
    parser.add_argument(
        "--region",
        metavar="REGION",
        type=_region,
        help="the client region of the new profiles (their `region`; default: none)",
    )


def _region(value: str) -> str:
    from ssod.client.configure.regions import check_region

    problem = check_region(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def _template(value: str) -> str:
    problem = check_template(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


class NewProfile(NamedTuple):
    """One profile to add."""

    name: str
    account_id: str
    account_name: str
    role: str
    session: str
    region: str | None = None

    def values(self) -> dict[str, str]:
        """The section's keys, in the order ``aws configure sso`` writes them."""
        values = {
            "sso_session": self.session,
            "sso_account_id": self.account_id,
            "sso_role_name": self.role,
        }
        if self.region:
            values["region"] = self.region
        return values


def check_template(template: str) -> str | None:
    """None if ``template`` is usable; otherwise what is wrong with it."""
    import string  # here: registering ``ssod roles`` must stay cheap

    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return f"bad template {template!r}: {exc}"
    unknown = [f for f in fields if f not in PLACEHOLDERS]
    if unknown:
        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        return f"unknown placeholder {{{unknown[0]}}} in {template!r} (use {known})"
    return None


def sanitize(name: str) -> str:
    """``name`` with every run of characters an SDK would refuse replaced by one ``-``."""
    return _UNSAFE.sub("-", name).strip("-")


def plan(
    listing: Mapping[str, Any],
    view: ConfigView,
    taken: Iterable[str],
    template: str,
    region: str | None = None,
) -> list[NewProfile]:
    """The profiles to add for the session's accounts and roles (in the menus' order)."""
    session = str(listing.get("session"))
    have = {
        (p.get("sso_account_id"), p.get("sso_role_name"))
        for p in view.profiles.values()
        if p.get("sso_session") == session
    }
    used = set(view.profiles) | set(taken) | {"default"}
    from ssod.client.output import order

    accounts = order.accounts(a for a in listing.get("accounts") or [] if isinstance(a, dict))
    added = []
    for account in accounts:
        account_id, account_name = str(account["account_id"]), str(account.get("account_name"))
        for role in order.roles(str(r) for r in account.get("roles") or []):
            if (account_id, role) in have:
                continue
            fields = {"account_id": account_id, "account_name": account_name}
            base = sanitize(template.format(**fields, role=role, session=session))
            base = base or sanitize(f"{role}-{account_id}")
            name, n = base, 1
            while name in used:
                n += 1
                name = f"{base}-{n}"
            used.add(name)
            added.append(NewProfile(name, account_id, account_name, role, session, region))
    return added


def run(client: IpcClient, listing: Mapping[str, Any], args: argparse.Namespace) -> int:
    """Add the missing profiles to the config file and say which (``--json``: as JSON)."""
    import json
    import os
    from pathlib import Path

    from ssod import configview, configwriter, paths
    from ssod.errors import ConfigError, UsageError
    from ssod.wire import Op

    path = paths.aws_config_file()
    daemon = client.request(Op.STATUS).get("daemon")
    theirs = daemon.get("config_file") if isinstance(daemon, dict) else None
    if isinstance(theirs, str) and os.path.realpath(theirs) != os.path.realpath(path):
        raise ConfigError(f"the daemon reads {theirs}, but this shell's config file is {path}")
    text = configwriter.load(path)
    view = configview.parse(text, str(path))
    session = str(listing.get("session"))
    if session not in view.sessions:
        raise UsageError(
            f"{session} is not an [sso-session] in {path}: --write-profiles writes sso-session "
            "profiles only (`ssod configure` creates a session)"
        )
    credentials = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    creds_path = os.path.expanduser(os.path.expandvars(credentials))
    taken = configview.credential_profiles(configwriter.load(Path(creds_path)))
    added = plan(listing, view, taken, args.profile_template, getattr(args, "region", None))
    if added:
        updates = [configwriter.Update(configwriter.profile(p.name), p.values()) for p in added]
        configwriter.save(path, configwriter.apply(text, updates))
        client.request(Op.RELOAD)
    if args.json:
        rows = [{"profile": p.name, **p.values()} for p in added]
        print(json.dumps({"config_file": str(path), "added": rows}, indent=2))
    elif not added:
        print(f"Every account and role of sso-session {session} has a profile: nothing to add.")
    else:
        print(f"Added {len(added)} profiles to {path}:")
        width = max(len(p.name) for p in added)
        for p in added:
            print(f"  {p.name:<{width}}  {p.account_name} ({p.account_id}) {p.role}")
    return 0
