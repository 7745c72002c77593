"""Desktop notifications: notify-send on Linux, osascript on macOS, nothing elsewhere.

Fire and forget: a notification never blocks or fails the daemon. The text names a session and
a command; it never holds a secret. Passed to the broker as a plain callable, so it can be
switched off (``--no-notify``) or replaced by a program on PATH in tests.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys

log = logging.getLogger("ssod.notify")


def _command(title: str, body: str) -> list[str] | None:
    if sys.platform == "darwin":
        osascript = shutil.which("osascript")
        if osascript is None:
            return None
        script = f"display notification {_applescript(body)} with title {_applescript(title)}"
        return [osascript, "-e", script]
    notify_send = shutil.which("notify-send")
    if notify_send is None:
        return None
    return [notify_send, "--app-name=ssod", "--urgency=normal", title, body]


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
        argv = _command(title, body)
        if argv is None:
            return
        task = asyncio.get_running_loop().create_task(self._run(argv))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, argv: list[str]) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            await asyncio.wait_for(proc.wait(), 10)
        except (OSError, TimeoutError) as err:
            log.warning("event=notification_failed error=%s", type(err).__name__)

    async def drain(self) -> None:
        """Wait for notifications still being shown (at shutdown)."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
