"""What ``ssod env`` prints, from the daemon's ``endpoint`` and ``status`` replies (pure).

Owns the lines and the notes of ``ssod env``: the endpoint's variables quoted for the shell
(``shell.env_text``), the profile's region, and a note for each variable that would win over
the endpoint in botocore's credential chain. The command (``ssod.client.commands.env``) and
the daemon's fast socket (``ssod.daemon.serve.fastipc``) both render with it, so both paths
print the same bytes; that is why it lives here and not in the command module.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, NamedTuple

#: How to use the output in each shell (``{args}``: ``--profile NAME`` when one was given).
USAGE = {
    "sh": 'eval "$(ssod env{args})"',
    "fish": "ssod env{args} --shell fish | source",
    "powershell": "ssod env{args} --shell powershell | Invoke-Expression",
}
#: Shells that take sh's syntax (``--shell bash`` and ``--shell zsh`` print what ``sh`` does).
AS_SH = ("bash", "zsh")
#: The choices of ``--shell``.
SHELL_CHOICES = (*USAGE, *AS_SH)


def usage_line(shell_name: str, profile: str | None) -> str:
    """How to use ``ssod env`` in this shell, keeping ``--profile`` when one was given."""
    from ssod.client.output.shell import quote

    syntax = "sh" if shell_name in AS_SH else shell_name
    plain = profile is not None and profile.replace("-", "").replace("_", "").isalnum()
    word = profile if plain else quote(profile or "", "sh")
    args = f" --profile {word}" if profile else ""
    return USAGE.get(syntax, USAGE["sh"]).format(args=args)


def render(
    endpoint: Mapping[str, Any],
    status: Mapping[str, Any],
    profile_arg: str | None,
    shell_name: str,
    environ: Mapping[str, str],
    stdout_tty: bool,
) -> tuple[str, list[str]]:
    """What ``ssod env`` prints to stdout, and the lines it prints to stderr, from two replies.

    The daemon's fast socket renders with this too (``ssod.client.fastpath``), so both paths
    print the same bytes. Raises ``ProfileNotFound`` for a profile the daemon does not serve.
    """
    from ssod.client import common
    from ssod.client.output import shell

    profile = profile_arg or common.default_profile(environ)
    served = served_from(endpoint, status, profile, named=bool(profile_arg))
    notes = precedence_notes(environ, served.names)
    lines = [f"Use: {usage_line(shell_name, profile_arg)}", *notes]
    out = shell.env_text(served.endpoint, profile, shell_name, lines, region=served.region)
    # eval swallows stdout: say it where the person can see it
    errs = [f"Note: {note}" for note in notes] if notes and not stdout_tty else []
    return out, errs


class Served(NamedTuple):
    """What the daemon says about serving one profile: its endpoint and the profile's region."""

    endpoint: Mapping[str, Any]
    region: str | None
    #: Every profile the daemon serves.
    names: frozenset[str]


def served_from(
    endpoint: Mapping[str, Any], status: Mapping[str, Any], profile: str, *, named: bool
) -> Served:
    """``lookup`` from the daemon's ``endpoint`` and ``status`` replies (pure)."""
    from ssod.client import common
    from ssod.errors import ProfileNotFound

    profiles = {str(p.get("name")): p for p in common.dicts(status.get("profiles"))}
    if profile not in profiles:
        if (broken := common.config_error(status)) is not None:
            raise broken
        daemon = status.get("daemon")
        where = daemon.get("config_file") if isinstance(daemon, dict) else None
        how = "" if named else "; name one with --profile NAME"
        raise ProfileNotFound(f"no SSO profile named {profile!r} in {where or 'the config'}{how}")
    region = profiles[profile].get("region")
    return Served(endpoint, str(region or "") or None, frozenset(profiles))


def precedence_notes(environ: Mapping[str, str], served: Collection[str]) -> list[str]:
    """What in this environment would win over the container endpoint in botocore's chain.

    botocore tries, in order: environment keys, the profile's assume-role, web identity, SSO,
    credentials file, credential_process and config keys, and only then the container
    endpoint (``credentials.py`` ``create_credential_resolver``). It prefers the relative
    container URI over the full one.
    """
    notes = []
    if environ.get("AWS_ACCESS_KEY_ID"):
        notes.append(
            "AWS_ACCESS_KEY_ID is set and wins over the endpoint: unset AWS_ACCESS_KEY_ID "
            "AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN to use ssod"
        )
    variable = next((v for v in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE") if environ.get(v)), None)
    active = environ[variable] if variable else "default"
    if active in served:
        where = f"{variable}={active} is set and that profile" if variable else "[default]"
        fix = f"unset {variable} to use the endpoint" if variable else "they work too"
        notes.append(
            f"{where} has SSO settings of its own, which SDKs use before the endpoint "
            f"(from the token cache ssod keeps fresh); {fix}"
        )
    if environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        notes.append(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is set; botocore and the Java SDK prefer it: "
            "unset it to use ssod"
        )
    return notes
