"""The daemon's one write to the AWS config file: the ``sso_region`` a start URL led to.

``aws sso login`` rewrites ``sso_region`` when a vanity start URL resolves to a portal in
another region (awscli/customizations/sso/login.py ``_write_sso_region``), in the
``[sso-session NAME]`` section, or for the legacy form in the profile's section; ssod does the
same after a successful login, for every legacy profile that shares the start URL (they share
one token). The text edit is ``ssod.configwriter``'s, exactly as ``ssod configure``
writes; the file is replaced atomically and the watcher reloads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ssod import configwriter
from ssod.configwriter import Update
from ssod.daemon.config.awsconfig import AwsConfig, SsoProfile


class SessionSpec(Protocol):
    """What a login's session says about where it lives in the config.

    The engine's ``SessionSpec`` fits; the config layer names only these fields so that it
    does not import the engine (``docs/architecture.md``, layers).
    """

    @property
    def name(self) -> str:
        """The sso-session name, or the legacy start URL."""
        ...

    @property
    def start_url(self) -> str:
        """The configured start URL."""
        ...

    @property
    def refreshable(self) -> bool:
        """True for the sso-session form, False for a legacy profile."""
        ...


def region_updates(config: AwsConfig, spec: SessionSpec, region: str) -> list[Update]:
    """The sections whose ``sso_region`` becomes ``region`` for a login of ``spec``."""
    values = {"sso_region": region}
    if spec.refreshable:
        return [Update(configwriter.sso_session(spec.name), values)]
    return [
        Update(configwriter.profile(profile.name), values)
        for profile in config.profiles.values()
        if isinstance(profile, SsoProfile)
        and profile.sso_session is None
        and profile.start_url == spec.start_url
    ]


def save_sso_region(path: Path, config: AwsConfig, spec: SessionSpec, region: str) -> bool:
    """Write the new region into the config file; False if there was nothing to change."""
    updates = region_updates(config, spec, region)
    text = configwriter.load(path)
    if text is None or not updates:
        return False
    configwriter.save(path, configwriter.apply(text, updates))
    return True
