"""The steps of ``ssod configure``: what to ask, what to ask the daemon, what to write and when.

Prompts and defaults copy ``aws configure sso`` (awscli/customizations/configure/sso.py,
docs/protocols.md section 5.1): an existing sso-session is reused without questions, a new one is
logged in even if a token is cached, defaults for the client region and output come from the
profile being configured (``[default]`` when none is named). The daemon only knows sessions that
are in the config, so a new sso-session is written before the login (a legacy start URL gets a
provisional profile, removed again); the profile comes last. Until that final write every exit
path puts the file back as it was (``configure.edit``). The questions about the session are
``configure.session``'s (shared with ``ssod configure sso-session``). As the CLI does, the
accounts are listed without their roles, then only the chosen account's roles are asked for
(one ListAccountRoles); both menus are in the CLI's order (``output.order``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssod import configview, configwriter
from ssod.client import browser
from ssod.client.configure import regions
from ssod.client.configure.checks import check_client_region, check_name, check_output
from ssod.client.configure.edit import ConfigEdit
from ssod.client.configure.prompt import Console, Validator
from ssod.client.configure.session import DEFAULT_SCOPES, SessionQuestions, check_daemon_config
from ssod.client.ipc import IpcClient
from ssod.client.output import order, render
from ssod.configwriter import Update
from ssod.errors import (
    BadRequest,
    ConfigError,
    LoginRequired,
    RoleAccessDenied,
    SsodError,
    UsageError,
)
from ssod.wire import Op

#: A login waits for a person: the PKCE flow allows 10 minutes, a device code about as long.
LOGIN_WAIT = 660.0
#: Listing accounts pages through ListAccounts: large organizations take a while.
ROLES_WAIT = 180.0


@dataclass
class Answers:
    """Everything the wizard settled on."""

    config_file: Path
    session: str | None = None
    start_url: str = ""
    sso_region: str = ""
    account_id: str | None = None
    role_name: str | None = None
    profile_name: str = ""


def account_label(account: Mapping[str, Any]) -> str:
    """``name, email (id)``, as the CLI's ``display_account`` shows an account."""
    shown = ", ".join(str(account[k]) for k in ("account_name", "email") if account.get(k))
    return f"{shown} ({account['account_id']})" if shown else str(account["account_id"])


class Steps:
    """One run of the wizard against one daemon and one config file."""

    def __init__(
        self, args: argparse.Namespace, console: Console, client: IpcClient, path: Path
    ) -> None:
        self._args = args
        self._console = console
        self._client = client
        self._path = path
        self.answers = Answers(config_file=path)
        self._edit: ConfigEdit | None = None
        self._existing: Mapping[str, str] = {}
        self._session_values: dict[str, str] = {}
        self._settings: dict[str, str] = {}
        self._ask: SessionQuestions | None = None

    def run(self) -> Answers:
        """Ask, log in, choose, and write the profile; returns what was written."""
        check_daemon_config(self._client, self._path)
        self._edit = edit = ConfigEdit(self._path)
        view = configview.parse(edit.original, str(self._path))
        self._ask = SessionQuestions(self._args, self._console, view, self._client)
        self._existing = view.profiles.get(self._args.profile or "default", {})
        try:
            target, fresh = self._session(view)
            listing = self._listing(target, fresh)
            self._pick(listing, target)
            self._profile_settings()
            edit.commit(self._updates())
        except BaseException:
            self._rollback(edit)
            raise
        with contextlib.suppress(SsodError):
            self._client.request(Op.RELOAD)
        return self.answers

    # -- the daemon --------------------------------------------------------------------

    def _reload(self) -> None:
        reply = self._client.request(Op.RELOAD)
        if reply.get("config_error"):
            raise ConfigError(f"the daemon cannot use the config file: {reply['config_error']}")

    def _listing(self, target: Mapping[str, str], fresh: bool) -> Mapping[str, Any]:
        if not fresh:
            try:
                return self._accounts(target)
            except LoginRequired:
                pass
        self._login(target)
        return self._accounts(target)

    def _accounts(self, target: Mapping[str, str]) -> Mapping[str, Any]:
        """The accounts, without their roles (one ListAccounts, as the CLI asks)."""
        try:
            return self._ask_roles(target, accounts_only=True)
        except BadRequest:
            return self._ask_roles(target)  # a daemon older than this client: everything

    def _roles_of(self, target: Mapping[str, str], account: Mapping[str, Any]) -> list[str]:
        """The chosen account's roles (one ListAccountRoles, as the CLI asks)."""
        if "roles" in account:  # an older daemon listed them all already
            listed = account["roles"]
        else:
            reply = self._ask_roles(target, account_id=str(account["account_id"]))
            found = [a for a in reply.get("accounts") or [] if isinstance(a, dict)]
            listed = found[0].get("roles") if found else []
        return [str(r) for r in listed or []]

    def _ask_roles(self, target: Mapping[str, str], **args: str | bool) -> Mapping[str, Any]:
        saved, self._client.timeout = self._client.timeout, ROLES_WAIT
        try:
            return self._client.request(Op.ROLES, **target, **args)
        finally:
            self._client.timeout = saved

    def _login(self, target: Mapping[str, str]) -> None:
        plan = browser.plan_here()
        device = bool(self._args.use_device_code) or self.answers.session is None
        if not plan.available and not device:
            self._console.say(f"No browser can open here: {plan.reason}. Using a device code.")
            device = True
        try:
            for reply in self._client.stream(
                Op.LOGIN, idle_timeout=LOGIN_WAIT, use_device_code=device, **target
            ):
                event = reply.result or {}
                if event.get("event") == "verification":
                    self._show(event, plan)
                elif event.get("event") == "done":
                    self._region_updated(event.get("region_updated"), target)
                    self._console.say(render.login_done_text(event))
        except KeyboardInterrupt:
            with contextlib.suppress(SsodError):
                self._client.request(Op.CANCEL_LOGIN, **target)
            raise

    def _region_updated(self, region: object, target: Mapping[str, str]) -> None:
        # The start URL led to a portal in another region and the daemon wrote it to the file
        # (as `aws sso login` does): the final write must keep it, not put the old one back.
        if not isinstance(region, str) or not region:
            return
        self.answers.sso_region = region
        if "sso_session" in target:
            self._session_values["sso_region"] = region
            section = configwriter.sso_session(target["sso_session"])
        else:
            section = configwriter.profile(target["profile"])
        assert self._edit is not None
        self._edit.followed(Update(section, {"sso_region": region}))

    def _show(self, event: Mapping[str, Any], plan: browser.BrowserPlan) -> None:
        # Only the run that started the flow opens a tab; one joining a running flow does not.
        first = event.get("first") is not False
        opening = first and plan.available and not self._args.no_browser
        session = self.answers.session
        text = render.verification_text(
            event,
            opening=opening,
            joined=not first,
            retry="ssod configure",
            session=f"sso-session {session}" if session else self.answers.start_url,
        )
        self._console.say(text)
        why = browser.open_url(str(event.get("url") or ""), plan) if opening else None
        if why:
            self._console.say(f"Could not open a browser ({why}): open the URL above yourself.")

    # -- the session ---------------------------------------------------------------------

    @property
    def ask(self) -> SessionQuestions:
        """The session questions (set once the config file has been read)."""
        assert self._ask is not None
        return self._ask

    def _session(self, view: configview.ConfigView) -> tuple[dict[str, str], bool]:
        args = self._args
        if args.legacy:
            name = None
        elif args.sso_session is not None:
            name = args.sso_session
        elif args.non_interactive:
            raise UsageError("--non-interactive needs --sso-session NAME (or --legacy)")
        else:
            name = self.ask.session_name(self._existing.get("sso_session"), required=False)
        if not name:
            self._console.say(
                "WARNING: Configuring using legacy format (e.g. without an SSO session).\n"
                'Consider running "ssod configure" again and providing a session name.'
            )
            return self._legacy(view)
        self.answers.session = name
        known = view.sessions.get(name)
        return self._known_session(name, known) if known is not None else self._new_session(name)

    def _known_session(self, name: str, values: Mapping[str, str]) -> tuple[dict[str, str], bool]:
        start, region = values.get("sso_start_url"), values.get("sso_region")
        if not start or not region:
            raise ConfigError(
                f"[sso-session {name}] in {self._path} needs sso_start_url and sso_region: "
                "fix it, or choose another session name"
            )
        args = self._args
        for key, flag, given in (
            ("sso_start_url", "--sso-start-url", args.sso_start_url),
            ("sso_region", "--sso-region", args.sso_region),
            ("sso_registration_scopes", "--scopes", args.scopes),
        ):
            have = values.get(key, "")
            if given is not None and given.strip() != have:
                raise UsageError(
                    f"the sso-session {name} already has {key} = {have}: drop {flag}, "
                    "or name a new session"
                )
        self.answers.start_url, self.answers.sso_region = start, region
        # The CLI writes the session's values back; a multi-line one would not survive that.
        self._session_values = {k: v for k, v in values.items() if "\n" not in v}
        self._console.say(f"Using the existing sso-session {name} ({start}).")
        return {"sso_session": name}, False

    def _start_url_and_region(self) -> tuple[str, str]:
        have = self._existing
        url = self.ask.start_url(have.get("sso_start_url"))
        region = self.ask.sso_region(have.get("sso_region"), url)
        self.answers.start_url, self.answers.sso_region = url, region
        return url, region

    def _new_session(self, name: str) -> tuple[dict[str, str], bool]:
        url, region = self._start_url_and_region()
        scopes = self.ask.scopes(DEFAULT_SCOPES)
        self._session_values = {
            "sso_start_url": url,
            "sso_region": region,
            "sso_registration_scopes": scopes,
        }
        self._write_early(Update(configwriter.sso_session(name), self._session_values))
        return {"sso_session": name}, True

    def _legacy(self, view: configview.ConfigView) -> tuple[dict[str, str], bool]:
        url, region = self._start_url_and_region()
        for name, values in view.profiles.items():
            complete = all(values.get(k) for k in ("sso_account_id", "sso_role_name"))
            if complete and values.get("sso_start_url") == url and "sso_session" not in values:
                return {"profile": name}, False  # the daemon already knows this start URL
        # A placeholder account and role: the daemon only logs in sessions the config names.
        provisional = configwriter.profile(f"ssod-configure-{os.getpid()}")
        values = {"sso_start_url": url, "sso_region": region}
        values |= {"sso_account_id": "000000000000", "sso_role_name": "ssod-configure"}
        self._write_early(Update(provisional, values), provisional=True)
        return {"profile": provisional.name}, False

    def _write_early(self, update: Update, *, provisional: bool = False) -> None:
        assert self._edit is not None
        self._edit.write_early(update, provisional=provisional)
        self._reload()

    # -- account, role, profile ------------------------------------------------------------

    def _choose(
        self, kind: str, flag: str, given: str | None, keys: list[str], labels: list[str]
    ) -> str:
        if given is not None:
            if given not in keys:
                raise UsageError(f"{flag} {given}: not one of yours ({', '.join(keys)})")
            return given
        if len(keys) == 1:
            self._console.say(f"The only {kind} available to you is: {keys[0]}")
            return keys[0]
        if self._args.non_interactive:
            raise UsageError(f"{len(keys)} {kind}s are available: pass {flag} ({', '.join(keys)})")
        self._console.say(f"There are {len(keys)} {kind}s available to you.")
        return keys[self._console.choose(labels)]

    def _pick(self, listing: Mapping[str, Any], target: Mapping[str, str]) -> None:
        raw = listing.get("accounts")
        accounts = [a for a in raw if isinstance(a, dict)] if isinstance(raw, list) else []
        if not accounts:
            raise RoleAccessDenied("no AWS accounts are available to you")
        accounts = order.accounts(accounts)
        ids = [str(a["account_id"]) for a in accounts]
        labels = [account_label(a) for a in accounts]
        account_id = self._choose("AWS account", "--account-id", self._args.account_id, ids, labels)
        self._console.say(f"Using the account ID {account_id}")
        chosen = next(a for a in accounts if str(a["account_id"]) == account_id)
        roles = order.roles(self._roles_of(target, chosen))
        if not roles:
            raise RoleAccessDenied(f"no roles are available for the account {account_id}")
        role = self._choose("role", "--role-name", self._args.role_name, roles, roles)
        self._console.say(f'Using the role name "{role}"')
        self.answers.account_id, self.answers.role_name = account_id, role

    def _setting(
        self,
        key: str,
        text: str,
        given: str | None,
        check: Validator,
        completions: Sequence[str],
    ) -> None:
        current = self._existing.get(key)
        if given is not None:
            value = given.strip()
        elif self._args.non_interactive:
            value = current or ""
        else:
            # The current value stays even if ssod would refuse it: Enter changes nothing.
            value = self._console.ask(
                text,
                current,
                validate=lambda v: None if v == current else check(v),
                completions=completions,
            )
        if value:
            self._settings[key] = value

    def _profile_settings(self) -> None:
        self._setting(
            "region",
            "Default client Region",
            self._args.region,
            check_client_region,
            regions.REGIONS,
        )
        text = "CLI default output format (json if not specified)"
        self._setting("output", text, self._args.output, check_output, regions.OUTPUT_FORMATS)
        default = f"{self.answers.role_name}-{self.answers.account_id}"
        name = self._args.profile
        if name is None:
            name = self.ask.value("Profile name", "--profile", None, default, check_name("profile"))
        self.answers.profile_name = name

    def _updates(self) -> list[Update]:
        ans = self.answers
        if ans.session:
            values = {"sso_session": ans.session}
        else:
            values = {"sso_start_url": ans.start_url, "sso_region": ans.sso_region}
        values |= {"sso_account_id": ans.account_id or "", "sso_role_name": ans.role_name or ""}
        updates = [Update(configwriter.profile(ans.profile_name), values | self._settings)]
        if ans.session:
            updates.append(Update(configwriter.sso_session(ans.session), self._session_values))
        return updates

    def _rollback(self, edit: ConfigEdit) -> None:
        try:
            edit.rollback()
        except (SsodError, OSError) as err:
            self._console.say(f"ssod: could not restore {self._path}: {err}")
        with contextlib.suppress(SsodError):
            self._client.request(Op.RELOAD)
