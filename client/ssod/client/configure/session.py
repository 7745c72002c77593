"""``ssod configure sso-session``, and the sso-session questions both wizards ask.

Prompts, defaults and output copy ``aws configure sso-session`` (``ConfigureSSOSessionCommand``
in awscli/customizations/configure/sso_commands.py, prompts in .../configure/sso.py): the
session name is required, an existing session's values are the defaults, the scopes default to
``sso:account:access``, and the section is written with every value it had plus the answers.
Nothing is logged in. ``SessionQuestions`` is shared with ``configure.steps``: each prompt
completes on Tab as CLI v2's do (known session names, start URLs, Identity Center regions,
scopes used before), and a region is checked twice: its form here, its endpoint by the daemon,
which has botocore's endpoint data and sees ``AWS_ENDPOINT_URL_SSO_OIDC``. With no daemon
running (this wizard needs none) the region list shipped with ssod decides. A start URL on a
domain of your own is looked up by the daemon, and the region of the portal it leads to is
used without asking (CLI v2 2.35.13+, awscli/customizations/sso/resolve.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ssod import configview, configwriter
from ssod.client.configure import regions
from ssod.client.configure.checks import check_name, check_scopes, check_start_url
from ssod.client.configure.edit import ConfigEdit
from ssod.client.configure.prompt import Console, Validator
from ssod.client.ipc import IpcClient
from ssod.configwriter import Update
from ssod.errors import (
    AwsUnavailable,
    BadRequest,
    ConfigError,
    DaemonUnavailable,
    SsodError,
    UsageError,
)
from ssod.wire import Op

DEFAULT_SCOPES = "sso:account:access"
_OVERRIDES = ("AWS_ENDPOINT_URL_SSO_OIDC", "AWS_ENDPOINT_URL")


def check_daemon_config(client: IpcClient, path: Path) -> None:
    """Refuse to go on when the daemon reads another config file than this shell names."""
    daemon = client.request(Op.STATUS).get("daemon")
    theirs = daemon.get("config_file") if isinstance(daemon, dict) else None
    if isinstance(theirs, str) and os.path.realpath(theirs) != os.path.realpath(path):
        raise ConfigError(
            f"the daemon reads {theirs} but this shell's config file is {path}: run "
            "ssod configure with the daemon's AWS_CONFIG_FILE, or restart the daemon with yours"
        )


class RegionCheck:
    """Is this an IAM Identity Center region? The form first, then the daemon (or the list)."""

    def __init__(self, client: IpcClient | None) -> None:
        self._client = client

    def problem(self, region: str) -> str | None:
        """None for a region with an Identity Center endpoint, else what to tell the user."""
        wrong = regions.check_region(region)
        if wrong is not None:
            return wrong
        if self._client is not None:
            try:
                reply = self._client.request(Op.SSO_REGION, region=region)
            except BadRequest:
                pass  # a daemon older than this client: the shipped list decides
            else:
                return None if reply["identity_center"] else regions.no_endpoint(region)
        if any(os.environ.get(name) for name in _OVERRIDES):
            return None  # every region goes to the override endpoint (the emulator)
        return None if region in regions.SSO_REGIONS else regions.no_endpoint(region)


class SessionQuestions:
    """The start URL, region and scopes of one sso-session (or legacy profile), and its name."""

    def __init__(
        self,
        args: argparse.Namespace,
        console: Console,
        view: configview.ConfigView,
        client: IpcClient | None,
    ) -> None:
        self._args = args
        self._console = console
        self._view = view
        self._client = client
        self._regions = RegionCheck(client)

    def value(
        self,
        text: str,
        flag: str,
        given: str | None,
        default: str | None,
        check: Validator,
        completions: Sequence[str] = (),
    ) -> str:
        """A flag's value, else (non-interactive) the default, else the answer to a prompt."""
        if given is not None:
            return given  # checked when the arguments were parsed
        if self._args.non_interactive:
            if default:
                return default
            raise UsageError(f"{text}: pass {flag}")
        return self._console.ask(text, default, validate=check, completions=completions)

    def session_name(self, current: str | None, *, required: bool) -> str:
        """``SSO session name``: required here, ``(Recommended)`` in ``ssod configure``."""
        named = check_name("sso-session")

        def check(value: str) -> str | None:
            if not value:
                return "A value is required" if required else None
            return named(value)

        fmt = None
        if not current:
            fmt = "SSO session name: " if required else "SSO session name (Recommended): "
        return self._console.ask(
            "SSO session name",
            current,
            fmt=fmt,
            validate=check,
            completions=sorted(self._view.sessions),
        )

    def start_url(self, default: str | None) -> str:
        """``SSO start URL``, completing the ones already in the config file."""
        known = {
            values["sso_start_url"]
            for section in (self._view.profiles, self._view.sessions)
            for values in section.values()
            if values.get("sso_start_url")
        }
        return self.value(
            "SSO start URL",
            "--sso-start-url",
            self._args.sso_start_url,
            default,
            check_start_url,
            sorted(known),
        )

    def sso_region(self, default: str | None, start_url: str) -> str:
        """``SSO region``: a region name, and one with an IAM Identity Center endpoint.

        Not asked when ``start_url`` is a vanity domain that leads to a regional portal, as
        CLI v2 does (it looks the URL up; where that fails, it asks).
        """
        args = self._args
        if args.sso_region is None:
            found = self._portal_region(start_url)
            problem = self._regions.problem(found) if found is not None else None
            if found is not None and problem is None:
                return found
            if problem is not None:
                self._console.say(problem)
        if args.sso_region is None and not args.non_interactive:
            return self._console.ask(
                "SSO region",
                default,
                validate=self._regions.problem,
                completions=regions.SSO_REGIONS,
            )
        region = self.value(
            "SSO region", "--sso-region", args.sso_region, default, self._regions.problem
        )
        problem = self._regions.problem(region)
        if problem is not None:
            raise UsageError(f"--sso-region {region}: {problem}")
        return region

    def _portal_region(self, start_url: str) -> str | None:
        if self._client is None:
            return None  # no daemon to look it up; the region is asked
        try:
            reply = self._client.request(Op.START_URL, start_url=start_url)
        except BadRequest:
            return None  # a daemon older than this client
        except (ConfigError, AwsUnavailable) as err:
            self._console.say(f"Could not look up the start URL ({err.message}).")
            return None
        if not reply["looked_up"]:
            return None  # an AWS access-portal URL, used as written
        region = reply["region"]
        portal = reply["start_url"]
        if not region:
            self._console.say(f"{start_url} leads to {portal}.")
            return None
        self._console.say(f"{start_url} leads to {portal}: using its SSO region {region}.")
        return region

    def scopes(self, default: str) -> str:
        """``SSO registration scopes``, completing the default and those used before."""
        used = [DEFAULT_SCOPES]
        for values in self._view.sessions.values():
            for scope in values.get("sso_registration_scopes", "").split(","):
                if scope.strip() and scope.strip() not in used:
                    used.append(scope.strip())
        answer = self.value(
            "SSO registration scopes", "--scopes", self._args.scopes, default, check_scopes, used
        )
        return answer or default


class SessionWizard:
    """One run of ``ssod configure sso-session`` on one config file."""

    def __init__(self, args: argparse.Namespace, console: Console, path: Path) -> None:
        self._args = args
        self._console = console
        self._path = path

    def run(self) -> str:
        """Ask, write the ``[sso-session NAME]`` section, and return NAME."""
        client = _daemon(self._path)
        try:
            edit = ConfigEdit(self._path)
            view = configview.parse(edit.original, str(self._path))
            ask = SessionQuestions(self._args, self._console, view, client)
            name = self._args.sso_session
            if name is None:
                if self._args.non_interactive:
                    raise UsageError("--non-interactive needs --sso-session NAME")
                name = ask.session_name(None, required=True)
            # The CLI writes the session's values back; a multi-line one would not survive that.
            existing = _single_line(view.sessions.get(name, {}))
            values = dict(existing)
            values["sso_start_url"] = ask.start_url(existing.get("sso_start_url"))
            values["sso_region"] = ask.sso_region(
                existing.get("sso_region"), values["sso_start_url"]
            )
            values["sso_registration_scopes"] = ask.scopes(
                existing.get("sso_registration_scopes") or DEFAULT_SCOPES
            )
            edit.commit([Update(configwriter.sso_session(name), values)])
            if client is not None:
                with contextlib.suppress(SsodError):
                    client.request(Op.RELOAD)
        finally:
            if client is not None:
                client.close()
        return str(name)


def _single_line(values: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in values.items() if "\n" not in v}


def _daemon(path: Path) -> IpcClient | None:
    """The daemon, if one runs (and reads this config file); this wizard works without one."""
    from ssod.client.common import connect

    client = connect()
    try:
        check_daemon_config(client, path)
    except DaemonUnavailable:
        client.close()
        return None
    except BaseException:
        client.close()
        raise
    return client
