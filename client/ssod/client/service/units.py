"""The autostart files: what goes into the systemd user unit and the launchd agent, and where.

Owns the pure side of ``ssod service``: the ``ServiceSpec`` (the daemon's command line, the
environment it is given, its directories), ``render_unit`` and ``render_plist`` (template in,
file text out), the install locations and reading the templates from the package. It runs no
command and writes no file: ``ssod.client.service.control`` plans and performs the changes.

Templates are read from the source checkout when ssod runs from one (an editable install, so an
edited template is live at once), else from ``ssod.units`` in the installed wheel.
"""

from __future__ import annotations

import importlib.resources
import os
import plistlib
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ssod import paths
from ssod.errors import SsodError

#: The systemd unit name and the launchd label (reverse DNS, also the plist's file name).
UNIT_NAME = "ssod.service"
LAUNCHD_LABEL = "io.ssod.daemon"

#: Variables carried from the installing shell into the service when set: where the AWS config
#: is, how to reach AWS (endpoints, CA bundle, proxies) and ssod's own settings.
CARRIED_NAMES = frozenset(
    {
        "AWS_CONFIG_FILE",
        "AWS_CA_BUNDLE",
        "AWS_USE_FIPS_ENDPOINT",
        "AWS_USE_DUALSTACK_ENDPOINT",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
    }
)
CARRIED_PREFIXES = ("AWS_ENDPOINT_URL", "SSOD_")

#: ``SSOD_SERVICE_PLATFORM=systemd|launchd`` picks the service manager (tests run launchd's
#: plan on Linux with it); by default it follows the OS. Never carried into the service.
PLATFORM_ENV = "SSOD_SERVICE_PLATFORM"
#: Client-side switches that mean nothing to the daemon: never carried into the service either.
CLIENT_ONLY_ENV = frozenset({PLATFORM_ENV, "SSOD_NO_AUTOSTART", "SSOD_FAST_PATH"})

#: Never written into a unit: ssod gets credentials from IAM Identity Center, not from these.
REFUSED_NAMES = frozenset(
    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"}
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class ServiceSpec:
    """What the service runs and with what: absolute paths only, resolved at install time."""

    program: tuple[str, ...]
    environment: tuple[tuple[str, str], ...]
    home: Path
    runtime_dir: Path
    state_dir: Path
    xdg_runtime_dir: Path | None = None


def daemon_program(executable: str | None = None) -> tuple[str, ...]:
    """The command that starts ssod, minus ``daemon``: the ``ssod`` script beside Python if any."""
    # Not resolved: a pipx or venv interpreter is a symlink whose location selects the venv.
    python = Path(os.path.abspath(executable or sys.executable))
    script = python.parent / "ssod"
    if script.is_file() and os.access(script, os.X_OK):
        return (str(script),)
    return (str(python), "-m", "ssod.client.cli")


def carried_environment(
    environ: Mapping[str, str], extra: Sequence[str] = ()
) -> tuple[tuple[str, str], ...]:
    """The variables the service gets: the carried ones that are set, plus ``--env`` entries."""
    chosen: dict[str, str] = {
        name: value
        for name, value in environ.items()
        if (name in CARRIED_NAMES or name.startswith(CARRIED_PREFIXES))
        and name not in CLIENT_ONLY_ENV
    }
    for entry in extra:
        name, sep, value = entry.partition("=")
        if not _NAME.match(name):
            raise SsodError(f"--env {entry!r}: not a variable name (use NAME or NAME=VALUE)")
        if name in REFUSED_NAMES:
            raise SsodError(f"--env {name}: ssod does not take static AWS credentials or profiles")
        if not sep:
            if name not in environ:
                raise SsodError(f"--env {name}: {name} is not set in this shell")
            value = environ[name]
        chosen[name] = value
    for name, value in chosen.items():
        if "\n" in value or "\r" in value or "\0" in value:
            raise SsodError(f"{name} contains a line break; it cannot go into a service file")
    return tuple(sorted(chosen.items()))


def build_spec(environ: Mapping[str, str], extra_env: Sequence[str] = ()) -> ServiceSpec:
    """The spec for this machine: this interpreter, this user's directories, this environment."""
    xdg = environ.get("XDG_RUNTIME_DIR")
    return ServiceSpec(
        program=daemon_program(),
        environment=carried_environment(environ, extra_env),
        home=paths.home(),
        runtime_dir=paths.runtime_dir(),
        state_dir=paths.state_dir(),
        xdg_runtime_dir=Path(xdg) if xdg else None,
    )


# -- systemd ---------------------------------------------------------------------------------


def unit_path(environ: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME/systemd/user/ssod.service``, or under ``~/.config``."""
    config = environ.get("XDG_CONFIG_HOME") or str(paths.home() / ".config")
    return Path(config) / "systemd" / "user" / UNIT_NAME


def unit_runtime_dir_is_default(spec: ServiceSpec) -> bool:
    """Whether the runtime directory is ``%t/ssod``, which ``RuntimeDirectory=ssod`` creates."""
    return spec.xdg_runtime_dir is not None and spec.runtime_dir == spec.xdg_runtime_dir / "ssod"


def unit_path_word(path: Path, spec: ServiceSpec) -> str:
    """``path`` for a unit file: under ``%h`` or ``%t`` when it is, ``%`` escaped otherwise."""
    for root, specifier in ((spec.xdg_runtime_dir, "%t"), (spec.home, "%h")):
        if root is not None and path.is_relative_to(root):
            rest = path.relative_to(root).as_posix()
            return specifier if rest == "." else f"{specifier}/{_percent(rest)}"
    return _percent(str(path))


def render_unit(template: str, spec: ServiceSpec) -> str:
    """The user unit for ``spec``: the template with its placeholders filled in."""
    exec_start = " ".join(_unit_word(_percent(word), dollars=True) for word in spec.program)
    # The service must use the directories the client saw at install time, whatever the user
    # manager's own environment says: they are pinned below, not carried.
    env = [
        _unit_word(_percent(f"{name}={value}"))
        for name, value in spec.environment
        if name not in ("SSOD_RUNTIME_DIR", "SSOD_STATE_DIR")
    ]
    env.append(_unit_word(f"SSOD_STATE_DIR={unit_path_word(spec.state_dir, spec)}"))
    writable = [spec.home / ".aws", spec.state_dir]
    if not unit_runtime_dir_is_default(spec):
        env.append(_unit_word(f"SSOD_RUNTIME_DIR={unit_path_word(spec.runtime_dir, spec)}"))
        writable.append(spec.runtime_dir)
    # "-": a missing directory must not fail the unit with 226/NAMESPACE; install creates them.
    rw = [f"ReadWritePaths={_unit_word('-' + unit_path_word(p, spec))}" for p in writable]
    return _fill(
        template,
        {
            "@SSOD@": exec_start,
            "@ENVIRONMENT@": "\n".join(f"Environment={word}" for word in env),
            "@READ_WRITE_PATHS@": "\n".join(rw),
        },
    )


def _percent(text: str) -> str:
    """Escape systemd's ``%`` specifiers."""
    return text.replace("%", "%%")


def _unit_word(text: str, *, dollars: bool = False) -> str:
    """One unit-file word (``%`` already escaped): double-quoted with C escapes when needed."""
    if dollars:
        text = text.replace("$", "$$")  # ExecStart= expands $VAR; nothing else here does
    if not re.search(r"[\s\"'\\;]", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- launchd ---------------------------------------------------------------------------------


def plist_path(home: Path) -> Path:
    """``~/Library/LaunchAgents/io.ssod.daemon.plist``."""
    return home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"


def launchd_log_file(home: Path) -> Path:
    """Where the agent's stdout and stderr go: ``~/Library/Logs/ssod/ssod.log``."""
    return home / "Library" / "Logs" / "ssod" / "ssod.log"


def render_plist(template: bytes, spec: ServiceSpec) -> bytes:
    """The LaunchAgent plist for ``spec``: the template with its placeholders filled in."""
    plist = plistlib.loads(template)
    if plist.get("Label") != LAUNCHD_LABEL:
        raise SsodError(f"the launchd template's Label is not {LAUNCHD_LABEL}")
    args: list[str] = []
    for arg in plist["ProgramArguments"]:
        args.extend(spec.program if arg == "@SSOD@" else [arg])
    plist["ProgramArguments"] = args
    env = dict(spec.environment)
    env["SSOD_RUNTIME_DIR"] = str(spec.runtime_dir)
    env["SSOD_STATE_DIR"] = str(spec.state_dir)
    plist["EnvironmentVariables"] = dict(sorted(env.items()))
    log_file = str(launchd_log_file(spec.home))
    for key in ("StandardOutPath", "StandardErrorPath"):
        plist[key] = plist[key].replace("@LOG_FILE@", log_file)
    return plistlib.dumps(plist, sort_keys=False)


# -- templates -------------------------------------------------------------------------------


def _fill(template: str, values: Mapping[str, str]) -> str:
    """Replace each placeholder; a placeholder alone on a line with nothing drops the line."""
    out: list[str] = []
    for line in template.splitlines(keepends=True):
        stripped = line.strip()
        if stripped in values and not values[stripped]:
            continue
        for key, value in values.items():
            line = line.replace(key, value)  # noqa: PLW2901 - each placeholder in turn
        out.append(line)
    return "".join(out)


def read_template(relative: str) -> bytes:
    """A template from ``systemd/`` or ``launchd/``: the checkout's copy, else the wheel's."""
    checkout = Path(__file__).resolve().parents[3]
    candidate = checkout / relative
    if (checkout / "pyproject.toml").is_file() and candidate.is_file():
        return candidate.read_bytes()
    try:
        return importlib.resources.files("ssod.units").joinpath(relative).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        raise SsodError(
            f"the service template {relative} is missing from this ssod installation; "
            "reinstall ssod (pipx reinstall ssod)"
        ) from None


def unit_template() -> str:
    """The systemd unit template."""
    return read_template(f"systemd/{UNIT_NAME}").decode()


def plist_template() -> bytes:
    """The launchd agent template."""
    return read_template(f"launchd/{LAUNCHD_LABEL}.plist")
