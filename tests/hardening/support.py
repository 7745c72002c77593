"""Helpers for the system-level hardening tests: watchers that run beside a real daemon.

Each watcher is a background thread that checks one invariant for as long as a test runs and
keeps what it saw: ``EcsWatch`` polls the ECS endpoint and flags any answer that is neither
credentials with more than the margin left nor a clean ``{code, message}`` 503;
``TokenFileWatch`` parses every read of a token file and counts torn ones; ``AwsSwitch`` is a
TCP proxy in front of the emulator that can refuse connections (AWS down) and come back on the
same port with the emulator's state intact. Nothing here asserts; the tests do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import stat
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from harness import DaemonHarness
from ssod.daemon.store.tokencache import SsoToken, parse_token, token_cache_key
from ssod.errors import TokenCacheError
from ssod.wire import Op

T = TypeVar("T")

#: The token file of the standard config's sso-session ``corp``, and its start URL.
CORP_KEY = token_cache_key("corp")
START_URL = "https://d-1234567890.awsapps.com/start"
#: Codes a 503 may carry: retry later, or log in.
CLEAN_503_CODES = frozenset({"aws_unavailable", "login_required"})
_FIELD = re.compile(r"(\w+)=('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\S+)")


def parse_z(text: str) -> datetime:
    """An ``Expiration`` as ssod serves it (``YYYY-MM-DDTHH:MM:SSZ``)."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def ecs_get(
    endpoint: dict[str, Any], profile: str, *, token: str | None = None, timeout: float = 5.0
) -> tuple[int, dict[str, Any]]:
    """GET the daemon's ECS URL for ``profile`` (``token=""``: no Authorization at all)."""
    url = endpoint["url"] + endpoint["credentials_path"].replace("PROFILE", profile)
    given = endpoint["token"] if token is None else token
    request = urllib.request.Request(url, headers={"Authorization": given} if given else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_until(
    check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05
) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def session(harness: DaemonHarness, name: str = "corp") -> dict[str, Any]:
    """The status entry of one session."""
    for entry in harness.request(Op.STATUS)["sessions"]:
        if entry["name"] == name:
            return dict(entry)
    raise AssertionError(f"no session {name} in status")


def events(log: str, event: str) -> list[dict[str, str]]:
    """The ``key=value`` fields of every daemon log line for ``event``."""
    found = []
    for line in log.splitlines():
        if f"event={event} " in line or line.endswith(f"event={event}"):
            found.append({k: v.strip("'\"") for k, v in _FIELD.findall(line)})
    return found


def other_tool_login(harness: DaemonHarness) -> SsoToken:
    """A token for ``corp`` from a device flow run by another tool (boto3), not by the daemon."""
    import boto3

    oidc = boto3.client("sso-oidc", region_name="us-east-1", endpoint_url=harness.emulator.url)
    reg = oidc.register_client(
        clientName="other-tool", clientType="public", scopes=["sso:account:access"]
    )
    auth = oidc.start_device_authorization(
        clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=START_URL
    )
    harness.emulator.approve(auth["userCode"])
    grant = oidc.create_token(
        clientId=reg["clientId"],
        clientSecret=reg["clientSecret"],
        grantType="urn:ietf:params:oauth:grant-type:device_code",
        deviceCode=auth["deviceCode"],
    )
    now = datetime.now(UTC)
    return SsoToken(
        start_url=START_URL,
        region="us-east-1",
        access_token=grant["accessToken"],
        expires_at=now + timedelta(seconds=grant["expiresIn"]),
        client_id=reg["clientId"],
        client_secret=reg["clientSecret"],
        registration_expires_at=datetime.fromtimestamp(reg["clientSecretExpiresAt"], UTC),
        refresh_token=grant.get("refreshToken"),
    )


def token_path(harness: DaemonHarness, key: str = CORP_KEY) -> Path:
    """The token file of a session key in the harness's cache."""
    return harness.cache_dir / f"{key}.json"


def fake_notify_send(directory: Path, *, linger: float = 0.0) -> tuple[Path, Path]:
    """A ``notify-send`` that records its arguments; returns (bin dir for PATH, record file).

    ``linger`` keeps the process alive that long after recording, so a test sampling every
    process's argv can see it even on a loaded machine.
    """
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    record = directory / "notifications.jsonl"
    script = bin_dir / "notify-send"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, time\n"
        f"with open({str(record)!r}, 'a') as f:\n"
        "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"time.sleep({linger!r})\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bin_dir, record


def notifications(record: Path) -> list[list[str]]:
    """What the fake notify-send was called with, in order."""
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line]


@dataclass
class EcsWatch:
    """Polls the ECS endpoint in a thread; keeps every answer that breaks the serving rules.

    A 200 must carry an Expiration more than ``margin`` seconds ahead (less one second: ssod
    truncates Expiration to whole seconds); anything else must be a 503 with a clean code.
    """

    endpoint: dict[str, Any]
    profile: str = "dev"
    margin: float = 0.0
    interval: float = 0.05
    statuses: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    #: (monotonic time, "200" or "503 <code>") of every clean answer.
    timeline: list[tuple[float, str]] = field(default_factory=list)
    worst_remaining: float = float("inf")
    slowest: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _running: threading.Event = field(default_factory=threading.Event)
    _busy: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def pause(self) -> None:
        """Stop polling once the request in flight (if any) has its answer."""
        self._running.clear()
        with self._busy:
            pass

    def resume(self) -> None:
        """Poll again."""
        self._running.set()

    def __enter__(self) -> EcsWatch:
        self._running.set()
        self._thread = threading.Thread(target=self._run, name="ecs-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def check_once(self) -> None:
        """One request, judged."""
        started = time.monotonic()
        try:
            status, body = ecs_get(self.endpoint, self.profile, timeout=5.0)
        except (OSError, ValueError) as err:
            self.violations.append(f"no clean answer: {type(err).__name__}: {err}")
            return
        self.slowest = max(self.slowest, time.monotonic() - started)
        if status == 200:
            remaining = (parse_z(body["Expiration"]) - datetime.now(UTC)).total_seconds()
            self.worst_remaining = min(self.worst_remaining, remaining)
            self.statuses["200"] += 1
            self.timeline.append((started, "200"))
            if remaining <= self.margin - 1.0:
                self.violations.append(f"served credentials with {remaining:.1f}s left")
        elif status == 503 and body.get("code") in CLEAN_503_CODES and body.get("message"):
            self.statuses[f"503 {body['code']}"] += 1
            self.timeline.append((started, f"503 {body['code']}"))
        else:
            self.violations.append(f"unexpected answer {status}: {body}")

    def between(self, start: float, end: float) -> Counter[str]:
        """The answers to requests sent between two monotonic times."""
        return Counter(what for at, what in self.timeline if start <= at <= end)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._running.wait(0.1):
                with self._busy:
                    if self._running.is_set():
                        self.check_once()
            self._stop.wait(self.interval)


@dataclass
class TokenFileWatch:
    """Reads a token file in a tight loop; every read must parse as a whole token."""

    path: Path
    reads: int = 0
    missing: int = 0
    torn: list[str] = field(default_factory=list)
    access_tokens: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> TokenFileWatch:
        self._thread = threading.Thread(target=self._run, name="token-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        # A short pause per read leaves the GIL to the emulator, which runs in this process.
        while not self._stop.wait(0.0005):
            try:
                data = self.path.read_bytes()
            except FileNotFoundError:
                self.missing += 1
                continue
            self.reads += 1
            try:
                token = parse_token(data, path=str(self.path))
            except TokenCacheError:
                self.torn.append(data[:80].decode(errors="replace"))
                continue
            self.access_tokens.add(token.access_token)


class AwsSwitch:
    """A TCP proxy to the emulator: ``down()`` refuses connections, ``up()`` serves again.

    The daemon is pointed at the proxy, so an outage is a real refused connection while the
    emulator (and every token it issued) lives on behind it.
    """

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.removeprefix("http://").rpartition(":")
        self._upstream = (host, int(port))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self._thread.start()
        self.up()

    @property
    def url(self) -> str:
        """The proxy's URL, to use in place of the emulator's."""
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        """Accept connections again, on the same port."""
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def down(self) -> None:
        """Refuse new connections and reset every open one."""
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)

    def close(self) -> None:
        """Stop the proxy and its thread."""
        self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, reuse_address=True
            )
            self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError, RuntimeError):
        writer.close()


@contextlib.contextmanager
def aws_switch(harness: DaemonHarness) -> Iterator[AwsSwitch]:
    """Put an ``AwsSwitch`` between the (not yet started) daemon and the emulator."""
    switch = AwsSwitch(harness.emulator.url)
    harness.env.update(
        {
            "AWS_ENDPOINT_URL_SSO_OIDC": switch.url,
            "AWS_ENDPOINT_URL_SSO": switch.url,
            "AWS_ENDPOINT_URL_STS": switch.url,
        }
    )
    try:
        yield switch
    finally:
        switch.close()


def process_cmdlines() -> Iterator[tuple[int, bytes]]:
    """(pid, raw argv) of every process we can see."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                yield int(entry.name), Path(entry.path, "cmdline").read_bytes()
