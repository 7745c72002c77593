"""Desktop notifications: D-Bus or notify-send on Linux, osascript on macOS, nothing elsewhere.

On Linux a notification goes straight to the session bus's ``org.freedesktop.Notifications``
(the freedesktop.org Desktop Notifications protocol) through ``gdbus``, which every GLib desktop
has, when a session bus is known; if that is missing or fails, ``notify-send`` is tried. No
D-Bus library is needed. Fire and forget: a notification never blocks or fails the daemon. The
text names a session and a command; it never holds a secret. Passed to the broker as a plain
callable, so it can be switched off (``--no-notify``) or replaced by a program on PATH in tests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import stat
import sys
from collections.abc import Callable, Mapping

log = logging.getLogger("ssod.notify")

#: The application name notification servers show and filter on.
APP_NAME = "ssod"
#: The Notifications service, its object and its method (Desktop Notifications spec 1.2).
BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
NOTIFY_METHOD = "org.freedesktop.Notifications.Notify"

Which = Callable[[str], str | None]


def gvariant_string(text: str) -> str:
    """``text`` as a GVariant text-format string literal (what ``gdbus call`` parses)."""
    out = ["'"]
    for char in text:
        if char in "\\'":
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append("'")
    return "".join(out)


def session_bus_known(env: Mapping[str, str]) -> bool:
    """Whether a D-Bus session bus can be found: its address, or ``$XDG_RUNTIME_DIR/bus``."""
    if env.get("DBUS_SESSION_BUS_ADDRESS"):
        return True
    runtime = env.get("XDG_RUNTIME_DIR")
    if not runtime:
        return False
    try:
        return stat.S_ISSOCK(os.stat(os.path.join(runtime, "bus")).st_mode)
    except OSError:
        return False


def dbus_command(gdbus: str, title: str, body: str) -> list[str]:
    """``gdbus call`` of Notify(app, replaces_id, icon, summary, body, actions, hints, timeout)."""
    return [
        gdbus,
        "call",
        "--session",
        "--dest",
        BUS_NAME,
        "--object-path",
        OBJECT_PATH,
        "--method",
        NOTIFY_METHOD,
        gvariant_string(APP_NAME),
        "uint32 0",
        "''",
        gvariant_string(title),
        gvariant_string(body),
        "@as []",
        "{'urgency': <byte 1>}",
        "int32 -1",
    ]


def commands(
    title: str, body: str, *, platform: str, which: Which, env: Mapping[str, str]
) -> list[list[str]]:
    """The programs that may show this notification, to try in order (none: nothing to do)."""
    if platform == "darwin":
        osascript = which("osascript")
        if osascript is None:
            return []
        script = f"display notification {_applescript(body)} with title {_applescript(title)}"
        return [[osascript, "-e", script]]
    found = []
    gdbus = which("gdbus")
    if gdbus is not None and session_bus_known(env):
        found.append(dbus_command(gdbus, title, body))
    notify_send = which("notify-send")
    if notify_send is not None:
        found.append([notify_send, f"--app-name={APP_NAME}", "--urgency=normal", title, body])
    return found


def _applescript(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class DesktopNotifier:
    """Shows a desktop notification per call, if enabled and a notifier exists."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, title: str, body: str) -> None:
        log.info("event=notification title=%r", title)
        if not self.enabled:
            return
        argvs = commands(title, body, platform=sys.platform, which=shutil.which, env=os.environ)
        if not argvs:
            return
        task = asyncio.get_running_loop().create_task(self._show(argvs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _show(self, argvs: list[list[str]]) -> None:
        """Try each way in turn until one says it showed the notification."""
        for argv in argvs:
            via = os.path.basename(argv[0])
            try:
                proc = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
            except OSError as err:
                log.warning("event=notification_failed via=%s error=%s", via, type(err).__name__)
                continue
            try:
                code = await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                log.warning("event=notification_failed via=%s error=TimeoutError", via)
                continue
            if code == 0:
                log.debug("event=notification_shown via=%s", via)
                return
            log.warning("event=notification_failed via=%s status=%d", via, code)

    async def drain(self) -> None:
        """Wait for notifications still being shown (at shutdown)."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
