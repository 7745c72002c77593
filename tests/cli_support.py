"""Helpers for the command-line tests: running ``ssod`` in the background or in a terminal.

``Spawned`` runs one ``ssod`` subprocess and collects its output line by line on threads, so a
test can wait for "the URL was printed" while the command still runs (a login). ``Terminal``
runs one in a pseudo-terminal, where prompts, menus and Tab behave as they do for a person.
``fake_browser`` writes a ``BROWSER`` program that records each URL and, if asked, fetches it
the way a browser would (following the emulator's redirect to the daemon's callback).
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from harness import DaemonHarness

#: Settings that keep every launcher away: no display, no BROWSER, no SSH, not WSL.
NO_BROWSER: dict[str, str] = {
    "DISPLAY": "",
    "WAYLAND_DISPLAY": "",
    "BROWSER": "",
    "SSH_CONNECTION": "",
    "SSH_CLIENT": "",
    "SSH_TTY": "",
    "WSL_DISTRO_NAME": "",
    "WSL_INTEROP": "",
}
#: As if logged in over SSH: no browser can open here.
OVER_SSH = {**NO_BROWSER, "SSH_CONNECTION": "192.0.2.1 50000 192.0.2.2 22"}

URL_RE = re.compile(r"^\s+(http://\S+)$", re.MULTILINE)
_ESCAPES = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z~]|[()][A-Z0-9]|[=>])")


class Spawned:
    """An ``ssod`` subprocess whose stdout and stderr are collected as they arrive."""

    def __init__(self, argv: list[str], env: Mapping[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._out: list[str] = []
        self._err: list[str] = []
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self._out), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self._err), daemon=True),
        ]
        for t in self._threads:
            t.start()

    @staticmethod
    def _pump(stream: IO[str] | None, into: list[str]) -> None:
        if stream is None:
            return
        for line in stream:
            into.append(line)

    @property
    def stdout(self) -> str:
        """Everything printed to stdout so far."""
        return "".join(self._out)

    @property
    def stderr(self) -> str:
        """Everything printed to stderr so far."""
        return "".join(self._err)

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float = 20.0) -> re.Match[str]:
        """Wait until stderr matches ``pattern``; fail with what was printed if it does not."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = regex.search(self.stderr)
            if found:
                return found
            if self.proc.poll() is not None:
                for t in self._threads:
                    t.join(10)  # the pumps end at the pipes' end: all output is in
                found = regex.search(self.stderr)
                if found:
                    return found
                break
            time.sleep(0.05)
        raise AssertionError(f"{regex.pattern!r} not printed; stderr:\n{self.stderr}")

    def url(self, timeout: float = 20.0) -> str:
        """The first indented URL printed on stderr (the sign-in URL)."""
        return self.wait_for(URL_RE, timeout).group(1)

    def interrupt(self) -> None:
        """Ctrl-C."""
        self.proc.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 30.0) -> int:
        """Wait for the exit code (killing the process if it hangs)."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"ssod did not exit; stderr:\n{self.stderr}") from None
        for t in self._threads:
            t.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return code


def spawn(harness: DaemonHarness, *args: str, env: Mapping[str, str] | None = None) -> Spawned:
    """Start ``ssod ARGS`` in the harness's environment without waiting for it."""
    argv = [sys.executable, "-m", "ssod.client.cli", *args]
    return Spawned(argv, {**harness.env, **NO_BROWSER, **(env or {})})


def fake_browser(directory: Path, *, fetch: bool) -> tuple[str, Path]:
    """A BROWSER program that logs each URL (and fetches it if ``fetch``); (BROWSER, log)."""
    log = directory / "browser.log"
    program = directory / "fake-browser"
    program.write_text(
        f"#!{sys.executable}\n"
        "import sys, urllib.request\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(sys.argv[1] + '\\n')\n"
        f"if {fetch!r}:\n"
        "    urllib.request.urlopen(sys.argv[1], timeout=20).read()\n"
    )
    program.chmod(0o755)
    return str(program), log


def opened(log: Path) -> list[str]:
    """The URLs the fake browser was given."""
    return log.read_text().splitlines() if log.exists() else []


def wait_until(
    predicate: Callable[[], object], timeout: float = 15.0, what: str = "condition"
) -> None:
    """Poll ``predicate()`` until it is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


_FETCH = (
    "import boto3\n"
    "c = boto3.Session().get_credentials()\n"
    "print(c.get_frozen_credentials().access_key if c else 'none')\n"
)


def boto3_key(harness: DaemonHarness, profile: str, token: str) -> subprocess.CompletedProcess[str]:
    """A boto3 process fetching ``profile`` from the endpoint with ``token`` (one attempt)."""
    from ssod.wire import Op

    url = harness.request(Op.ENDPOINT)["url"] + f"/credentials/{profile}"
    env = {
        **harness.env,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": url,
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": token,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "1",
    }
    return subprocess.run(
        [sys.executable, "-c", _FETCH], env=env, capture_output=True, text=True, timeout=60
    )


def refused(out: subprocess.CompletedProcess[str]) -> bool:
    """Did ``boto3_key`` get no credentials?"""
    return out.returncode != 0 or out.stdout.strip() == "none"


def path_with(directory: Path) -> str:
    """PATH with ``directory`` first."""
    return f"{directory}{os.pathsep}{os.environ.get('PATH', '')}"


class Terminal:
    """``ssod`` in a pseudo-terminal: wait for text, type answers, read everything it printed."""

    def __init__(
        self,
        args: list[str],
        env: Mapping[str, str],
        *,
        program: list[str] | None = None,
        columns: int = 100,
    ) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
        command = program if program is not None else [sys.executable, "-m", "ssod.client.cli"]
        self.proc = subprocess.Popen(
            [*command, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=dict(env),
            start_new_session=True,
        )
        os.close(slave)
        self._fd = master
        self.output = ""
        self._seen = 0

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self._fd], [], [], wait)
        if not ready:
            return True
        try:
            data = os.read(self._fd, 65536)
        except OSError:  # EIO: the other end is closed
            return False
        self.output += data.decode("utf-8", errors="replace")
        return bool(data)

    def expect(self, text: str, timeout: float = 30.0) -> None:
        """Wait until ``text`` is printed after the last thing expected."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.output.find(text, self._seen)
            if found >= 0:
                self._seen = found + len(text)
                return
            if time.monotonic() > deadline or not self._read(0.1):
                raise AssertionError(f"{text!r} not printed; the terminal shows:\n{self.output}")

    def send(self, keys: str) -> None:
        """Type ``keys``."""
        os.write(self._fd, keys.encode())

    def answer(self, prompt: str, reply: str) -> None:
        """Wait for ``prompt`` and answer it."""
        self.expect(prompt)
        self.send(reply + "\r")

    def screen(self) -> list[str]:
        """The lines as a person sees them: escapes dropped, each line as its last redraw."""
        text = _ESCAPES.sub("", self.output).replace("\x07", "")
        return [line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n")]

    def ctrl_c_at_prompt(self, grace: float = 2.0) -> None:
        """Ctrl-C while ``input()`` waits at a readline prompt (the pty is not the controlling
        terminal, so the signal is sent, not typed).

        CPython's readline loop runs ``PyErr_CheckSignals`` only when its ``select`` is
        interrupted (Modules/readline.c ``readline_until_enter_or_signal``): a SIGINT that lands
        after the prompt is printed but before ``select`` starts is noted and then waits for the
        next key or signal. A person's Ctrl-C never comes that fast; a test's can, so if the
        first one is still pending after ``grace`` seconds, a second one (as a person would
        press) interrupts the ``select``.
        """
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 30.0) -> int:
        """Read to the end and return the exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.1):
            if self.proc.poll() is not None and not select.select([self._fd], [], [], 0.2)[0]:
                break
        try:
            return self.proc.wait(max(0.1, deadline - time.monotonic()))
        finally:
            os.close(self._fd)
