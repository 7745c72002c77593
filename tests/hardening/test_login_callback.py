"""The PKCE login's callback server against the web pages and local users who can reach it.

While a browser login runs, the daemon listens on 127.0.0.1 for the redirect. Any web page the
user has open can send requests there, and so can other users of the machine. Requests that
do not carry the login's ``state`` (a forged code, a forged error meant to cancel the login)
must be refused without ending the wait; the real redirect must still complete the login; and
the port must be closed again once it has.
"""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from hardening.support import session
from harness import DaemonHarness
from ssod.client.ipc import IpcClient
from ssod.wire import Op


def listening_on(port: int) -> set[str]:
    """The local addresses with a listening TCP socket on ``port`` (from /proc/net/tcp*)."""
    found = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        for line in table.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                packed = bytes.fromhex(address)
                if len(packed) == 4:
                    found.add(socket.inet_ntop(socket.AF_INET, packed[::-1]))
                else:
                    found.add("ipv6:" + address)
    return found


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as page:
        return str(page.read().decode())


def test_forged_callbacks_are_refused_and_the_real_one_completes(
    ssod_daemon: DaemonHarness,
) -> None:
    ssod_daemon.start()
    events: list[dict[str, Any]] = []
    url: list[str] = []
    ready = threading.Event()

    def login() -> None:
        with IpcClient(ssod_daemon.endpoint, timeout=10.0) as client:
            for reply in client.stream(Op.LOGIN, idle_timeout=30, profile="dev"):
                event = dict(reply.result or {})
                events.append(event)
                if event.get("event") == "verification":
                    url.append(str(event["url"]))
                    ready.set()

    runner = threading.Thread(target=login)
    runner.start()
    assert ready.wait(10), events
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url[0]).query)
    callback = query["redirect_uri"][0]
    port = urllib.parse.urlsplit(callback).port
    assert callback.startswith("http://127.0.0.1:") and port
    forged = [
        {"code": "attacker-code", "state": "00000000-0000-4000-8000-000000000000"},
        {"code": "attacker-code"},
        {"error": "access_denied", "state": "wrong"},
        {"error": "access_denied"},
    ]
    for params in forged:
        page = get(f"{callback}?{urllib.parse.urlencode(params)}")
        assert "does not match the login in progress" in page, params
    assert [e["event"] for e in events] == ["verification"]
    # Bound to 127.0.0.1 only, not to every interface as the AWS CLI's callback is.
    assert listening_on(port) == {"127.0.0.1"}
    # The real browser (the emulator approves at once and redirects with the right state).
    assert "Signed in" in get(url[0])
    runner.join(15)
    assert events[-1]["event"] == "done", events
    assert session(ssod_daemon)["state"] == "ready"
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the callback port stayed open"
