"""Open a URL in the user's browser, and decide whether a browser can open here at all.

Owns the policy ``ssod login`` follows. ``BROWSER`` wins (the ``webbrowser`` convention: an
``os.pathsep``-separated list of commands, ``%s`` replaced by the URL, else the URL appended);
then ``wslview`` on WSL (aws-cli#7892), ``open`` on macOS, and ``xdg-open`` on a Linux desktop.
An SSH session, or Linux without ``DISPLAY``/``WAYLAND_DISPLAY``, has no browser: login then
uses the device code. Never uses the ``webbrowser`` module, which may start a text browser in
the very terminal the login prints to. Launch failures are reported, never raised.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: How long a launcher may take to fail before we assume it opened the page. Browsers started
#: directly (``BROWSER=firefox``) keep running, so we never wait for them to exit.
LAUNCH_GRACE = 1.0


@dataclass(frozen=True)
class BrowserPlan:
    """The commands to try in order (argv templates with ``%s``), or why there are none."""

    commands: tuple[tuple[str, ...], ...]
    reason: str = ""

    @property
    def available(self) -> bool:
        """True when at least one command can be tried."""
        return bool(self.commands)


def plan(
    environ: Mapping[str, str],
    platform: str,
    which: Callable[[str], str | None],
    *,
    wsl: bool = False,
) -> BrowserPlan:
    """Which launchers to try here (pure: the environment and a ``which`` are passed in)."""
    user = [_split(entry) for entry in environ.get("BROWSER", "").split(os.pathsep)]
    chosen = tuple(_template(argv) for argv in user if argv)
    if chosen:
        return BrowserPlan(chosen)
    if any(environ.get(name) for name in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")):
        return BrowserPlan((), "this is an SSH session")
    return _system_browser(environ, platform, which, wsl)


def _system_browser(
    environ: Mapping[str, str], platform: str, which: Callable[[str], str | None], wsl: bool
) -> BrowserPlan:
    if wsl and which("wslview"):
        return BrowserPlan((("wslview", "%s"),))
    if platform == "darwin":
        return BrowserPlan((("open", "%s"),))
    if not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return BrowserPlan((), "there is no graphical display (DISPLAY is not set)")
    if which("xdg-open"):
        return BrowserPlan((("xdg-open", "%s"),))
    hint = " (install wslu for wslview, or set BROWSER)" if wsl else " (or set BROWSER)"
    return BrowserPlan((), "xdg-open is not installed" + hint)


def _split(entry: str) -> list[str]:
    try:
        return shlex.split(entry)
    except ValueError:  # an unbalanced quote: take the words as they are
        return entry.split()


def _template(argv: list[str]) -> tuple[str, ...]:
    return tuple(argv) if any("%s" in arg for arg in argv) else (*argv, "%s")


def detect_wsl() -> bool:
    """True under Windows Subsystem for Linux."""
    if os.environ.get("WSL_DISTRO_NAME") or os.environ.get("WSL_INTEROP"):
        return True
    try:
        with open("/proc/sys/kernel/osrelease", encoding="ascii", errors="replace") as f:
            return "microsoft" in f.read().lower()
    except OSError:
        return False


def plan_here() -> BrowserPlan:
    """The plan for this process's environment."""
    wsl = sys.platform.startswith("linux") and detect_wsl()
    return plan(os.environ, sys.platform, shutil.which, wsl=wsl)


def open_url(url: str, browsers: BrowserPlan) -> str | None:
    """Open ``url`` with the first launcher that works; returns None, or why none did."""
    why = browsers.reason or "no browser"
    for template in browsers.commands:
        argv = [arg.replace("%s", url) for arg in template]
        try:
            # A new session: Ctrl-C in the terminal must not reach the browser we started.
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as err:
            why = f"{argv[0]}: {err.strerror or err}"
            continue
        try:
            code = proc.wait(LAUNCH_GRACE)
        except subprocess.TimeoutExpired:
            # Still running: a browser that stays in the foreground. Reap it when it exits.
            threading.Thread(target=proc.wait, daemon=True).start()
            return None
        if code == 0:
            return None
        why = f"{argv[0]} exited with status {code}"
    return why
