"""Installing, removing and inspecting the ssod service: plans of steps, then doing them.

Owns the steps of ``ssod service install|uninstall|status`` for systemd (Linux) and launchd
(macOS): a plan is a list of writes, directory creations, removals and commands, so ``--dry-run``
prints exactly what a real run does. Planning may ask the service manager read-only questions
(``is-active``, ``launchctl print``); only ``apply`` changes anything. Every command goes
through a ``Runner``, so tests put fake ``systemctl``/``launchctl`` first on PATH.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from ssod import atomicfile, paths
from ssod.client.service import units as service
from ssod.client.service.units import ServiceSpec
from ssod.errors import SsodError
from ssod.privatedir import make_private_dirs

SYSTEMCTL = ("systemctl", "--user")
_MANAGER_UP = {"running", "degraded", "starting", "initializing", "maintenance", "stopping"}

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class Write:
    """Write ``content`` to ``path`` atomically, mode 0600 (it may carry proxy settings)."""

    path: Path
    content: bytes


@dataclass(frozen=True)
class MakeDirs:
    """Create these directories, mode 0700."""

    paths: tuple[Path, ...]


@dataclass(frozen=True)
class Remove:
    """Remove ``path``."""

    path: Path


@dataclass(frozen=True)
class Run:
    """Run a command; a non-zero exit stops the plan."""

    argv: tuple[str, ...]


Step = Write | MakeDirs | Remove | Run


def run_command(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with its output captured; a missing program is an ``SsodError``."""
    try:
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError:
        raise SsodError(f"{argv[0]} is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise SsodError(f"`{shlex.join(argv)}` did not finish within 120 s") from None


def query(runner: Runner, argv: Sequence[str]) -> subprocess.CompletedProcess[str] | None:
    """Ask a read-only question; ``None`` when the program is missing."""
    try:
        return runner(argv)
    except SsodError:
        return None


class Backend(Protocol):
    """One service manager: where its file goes and the steps to install, remove and inspect."""

    name: str
    path: Path

    def render(self, spec: ServiceSpec) -> bytes: ...
    def unavailable(self, runner: Runner) -> str | None: ...
    def unsupported(self, spec: ServiceSpec) -> str | None: ...
    def install_plan(self, spec: ServiceSpec, runner: Runner) -> list[Step]: ...
    def uninstall_plan(self, runner: Runner) -> list[Step]: ...
    def status(self, runner: Runner) -> tuple[list[str], bool]: ...


def missing(*dirs: Path) -> tuple[Path, ...]:
    """Those of ``dirs`` that do not exist yet."""
    return tuple(d for d in dirs if not d.is_dir())


class Systemd:
    """A systemd user unit, driven with ``systemctl --user``."""

    name = "systemd"

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.path = service.unit_path(environ)

    def render(self, spec: ServiceSpec) -> bytes:
        """The unit file."""
        return service.render_unit(service.unit_template(), spec).encode()

    def unavailable(self, runner: Runner) -> str | None:
        """Why ``systemctl --user`` cannot be used here, or ``None``."""
        result = query(runner, [*SYSTEMCTL, "is-system-running"])
        if result is None:
            return "systemctl is not installed"
        state = result.stdout.strip()
        if state in _MANAGER_UP:
            return None
        errors = result.stderr.strip().splitlines()
        return f"no systemd user manager is reachable ({state or (errors or ['no answer'])[-1]})"

    def unsupported(self, spec: ServiceSpec) -> str | None:
        """Why this spec cannot work as a unit, or ``None``."""
        for tmp in (Path("/tmp"), Path("/var/tmp")):  # noqa: S108 - the dirs PrivateTmp hides
            if spec.runtime_dir.is_relative_to(tmp):
                return (
                    f"the runtime directory {spec.runtime_dir} is under {tmp}, which the service "
                    "cannot share (PrivateTmp=yes): set XDG_RUNTIME_DIR (a login session does) "
                    "or point SSOD_RUNTIME_DIR outside it"
                )
        return None

    def install_plan(self, spec: ServiceSpec, runner: Runner) -> list[Step]:
        """Write the unit, create the directories it may write, reload, enable and start."""
        dirs = [spec.home / ".aws", spec.state_dir]
        if not service.unit_runtime_dir_is_default(spec):
            dirs.append(spec.runtime_dir)
        steps: list[Step] = [Write(self.path, self.render(spec))]
        if todo := missing(*dirs):
            steps.append(MakeDirs(todo))
        steps += [
            Run((*SYSTEMCTL, "daemon-reload")),
            Run((*SYSTEMCTL, "enable", "--now", service.UNIT_NAME)),
        ]
        active = query(runner, [*SYSTEMCTL, "is-active", service.UNIT_NAME])
        if active is not None and active.returncode == 0:
            steps.append(Run((*SYSTEMCTL, "restart", service.UNIT_NAME)))  # pick up the new unit
        return steps

    def uninstall_plan(self, runner: Runner) -> list[Step]:
        """Stop and disable the unit, remove its file, reload."""
        if not self.path.exists():
            return []
        return [
            Run((*SYSTEMCTL, "disable", "--now", service.UNIT_NAME)),
            Remove(self.path),
            Run((*SYSTEMCTL, "daemon-reload")),
        ]

    def status(self, runner: Runner) -> tuple[list[str], bool]:
        """Whether the unit is installed, enabled and active."""
        if not self.path.exists():
            return [f"unit file: {self.path} (not installed)"], False
        lines = [f"unit file: {self.path}"]
        why = self.unavailable(runner)
        if why is not None:
            return [*lines, f"manager:   {why}"], False
        answers = {}
        for verb in ("is-enabled", "is-active"):
            result = runner([*SYSTEMCTL, verb, service.UNIT_NAME])
            answers[verb] = result.stdout.strip() or result.stderr.strip() or "unknown"
        lines += [f"enabled:   {answers['is-enabled']}", f"active:    {answers['is-active']}"]
        return lines, answers["is-active"] == "active"


class Launchd:
    """A launchd user agent in the ``gui/UID`` domain, driven with ``launchctl``."""

    name = "launchd"

    def __init__(self, home: Path, uid: int) -> None:
        self.home = home
        self.path = service.plist_path(home)
        self.domain = f"gui/{uid}"
        self.target = f"{self.domain}/{service.LAUNCHD_LABEL}"

    def render(self, spec: ServiceSpec) -> bytes:
        """The agent's plist."""
        return service.render_plist(service.plist_template(), spec)

    def unavailable(self, runner: Runner) -> str | None:
        """launchd is always there on macOS; a missing ``launchctl`` shows when it runs."""
        return None

    def unsupported(self, spec: ServiceSpec) -> str | None:
        """Any spec works for an agent: it runs unsandboxed."""
        return None

    def loaded(self, runner: Runner) -> subprocess.CompletedProcess[str] | None:
        """``launchctl print`` of the agent when launchd has it loaded, else ``None``."""
        result = query(runner, ["launchctl", "print", self.target])
        return result if result is not None and result.returncode == 0 else None

    def install_plan(self, spec: ServiceSpec, runner: Runner) -> list[Step]:
        """Write the plist, create the log directory, (re)load the agent."""
        steps: list[Step] = [Write(self.path, self.render(spec))]
        if todo := missing(service.launchd_log_file(self.home).parent):
            steps.append(MakeDirs(todo))
        if self.loaded(runner) is not None:
            steps.append(Run(("launchctl", "bootout", self.target)))
        steps.append(Run(("launchctl", "bootstrap", self.domain, str(self.path))))
        return steps

    def uninstall_plan(self, runner: Runner) -> list[Step]:
        """Unload the agent if loaded, remove its plist."""
        if not self.path.exists():
            return []
        steps: list[Step] = []
        if self.loaded(runner) is not None:
            steps.append(Run(("launchctl", "bootout", self.target)))
        return [*steps, Remove(self.path)]

    def status(self, runner: Runner) -> tuple[list[str], bool]:
        """Whether the plist is installed and the agent loaded and running."""
        if not self.path.exists():
            return [f"plist:  {self.path} (not installed)"], False
        lines = [f"plist:  {self.path}"]
        printed = self.loaded(runner)
        if printed is None:
            return [*lines, "loaded: no"], False
        fields = dict(
            line.strip().split(" = ", 1) for line in printed.stdout.splitlines() if " = " in line
        )
        state = fields.get("state", "unknown")
        pid = f" (pid {fields['pid']})" if "pid" in fields else ""
        return [*lines, "loaded: yes", f"state:  {state}{pid}"], state == "running"


def backend_for(environ: Mapping[str, str], platform: str = sys.platform) -> Backend:
    """The service manager of this OS, or the one ``SSOD_SERVICE_PLATFORM`` names."""
    choice = environ.get(service.PLATFORM_ENV) or {"darwin": "launchd", "linux": "systemd"}.get(
        platform
    )
    if choice == "systemd":
        return Systemd(environ)
    if choice == "launchd":
        return Launchd(paths.home(), os.getuid())
    raise SsodError(
        f"ssod service supports systemd (Linux) and launchd (macOS), not {choice or platform}"
    )


def describe(steps: Sequence[Step]) -> str:
    """The dry-run text: each file verbatim after ``# would write PATH``, then shell commands."""
    out: list[str] = []
    in_commands = False
    for step in steps:
        if isinstance(step, Write):
            text = step.content.decode()
            out.append(
                f"# would write {step.path}\n{text}{'' if text.endswith(chr(10)) else chr(10)}"
            )
            in_commands = False
            continue
        if not in_commands:
            out.append("# would run\n")
            in_commands = True
        out.append(shell_line(step) + "\n")
    return "".join(out)


def shell_line(step: MakeDirs | Remove | Run) -> str:
    """The shell command equivalent to a step."""
    if isinstance(step, MakeDirs):
        return shlex.join(["mkdir", "-p", "-m", "700", *map(str, step.paths)])
    if isinstance(step, Remove):
        return shlex.join(["rm", "-f", str(step.path)])
    return shlex.join(step.argv)


def apply(steps: Sequence[Step], runner: Runner, out: TextIO) -> None:
    """Do each step in order, saying what was done; stop at the first failing command."""
    for step in steps:
        if isinstance(step, Write):
            write_private(step.path, step.content)
            print(f"wrote {step.path}", file=out)
        elif isinstance(step, MakeDirs):
            for path in step.paths:
                make_private_dirs(path)
                print(f"created {path}", file=out)
        elif isinstance(step, Remove):
            step.path.unlink(missing_ok=True)
            print(f"removed {step.path}", file=out)
        else:
            print(f"$ {shlex.join(step.argv)}", file=out)
            result = runner(step.argv)
            if result.returncode != 0:
                detail = (result.stderr or result.stdout).strip()
                raise SsodError(
                    f"`{shlex.join(step.argv)}` failed (exit {result.returncode})"
                    + (f":\n{detail}" if detail else "")
                )


def write_private(path: Path, content: bytes) -> None:
    """Write ``path`` atomically with mode 0600 (``atomicfile``), creating its directory."""
    make_private_dirs(path.parent)
    atomicfile.write(path, content)
