"""Other AWS clients refreshing the same token file while the daemon does.

Several boto3 processes (and the AWS CLI v1 and the JS SDK v3 when tests/interop/
install_clients.sh has put them in place) call STS through the SSO profile in a loop. The
token lives 8 seconds, so every one of them is inside its own refresh window (botocore: 15
minutes, JS: 5) and refreshes it, with the emulator rotating the refresh token on each use,
while the daemon refreshes it too. Required: no client fails, the daemon never reads a torn
file or loses the live refresh token, nobody is told to log in, and afterwards the daemon is
ready and still refreshing. The AWS CLI v2 is left out: it rewrites the file in place the
same way the JS SDK does and is covered by tests/interop.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from hardening.support import TokenFileWatch, events, session, token_path, wait_until
from harness import DaemonHarness
from ssod.daemon.store.tokencache import SsoToken, parse_token, serialize_token
from ssod.wire import Op

pytestmark = pytest.mark.interop

#: Seconds the token lives, and the bursts of client processes and quiet spells between them:
#: a spell outlasts half the lifetime plus the last processes' run, so the daemon refreshes.
LIFETIME = 8
PHASES = (3.0, 5.5, 3.0, 5.5)
#: Races staged between the daemon's refresh and a slow writer that rotated the token first.
ROUNDS = 1
BOTO3_WORKERS = 2
REPO = Path(__file__).resolve().parents[2]
AWSCLI_V1 = REPO / ".interop" / "awscli-v1" / "bin" / "aws"
JS_DIR = REPO / "tests" / "interop" / "js"

BOTO3 = """\
import boto3
sts = boto3.Session(profile_name="dev").client("sts")
for _ in range(2):
    assert sts.get_caller_identity()["Account"] == "111111111111"
"""
JS = """\
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
const { fromSSO } = require("@aws-sdk/credential-providers");
const sts = new STSClient({ region: "us-east-1", credentials: fromSSO({ profile: "dev" }) });
sts.send(new GetCallerIdentityCommand({})).then(
  (r) => { if (r.Account !== "111111111111") process.exit(2); },
  (e) => { console.error(`${e.name}: ${e.message}`); process.exit(1); },
);
"""


@dataclass
class Worker:
    """Runs one kind of client process again and again until told to stop."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path | None = None
    runs: int = 0
    failures: list[str] = field(default_factory=list)

    def loop(self, go: threading.Event, stop: threading.Event) -> None:
        while not stop.is_set():
            if not go.wait(0.1):
                continue
            out = subprocess.run(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            self.runs += 1
            if out.returncode != 0:
                self.failures.append(out.stderr[-300:])


def workers(harness: DaemonHarness) -> list[Worker]:
    """The client processes available here."""
    env = {
        **harness.env,
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED": "true",
    }
    found = [Worker(f"boto3-{n}", [sys.executable, "-c", BOTO3], env) for n in range(BOTO3_WORKERS)]
    if AWSCLI_V1.exists():
        argv = [str(AWSCLI_V1), "sts", "get-caller-identity", "--profile", "dev"]
        found.append(Worker("awscli-v1", argv, env))
    node = shutil.which("node")
    if node and (JS_DIR / "node_modules" / "@aws-sdk" / "client-sts").exists():
        found.append(Worker("js-sdk", [node, "-e", JS], env, cwd=JS_DIR))
    return found


def test_clients_refreshing_the_same_token_file(ssod_daemon: DaemonHarness) -> None:
    emulator = ssod_daemon.emulator
    emulator.settings(token_lifetime=LIFETIME, approve_delay=0)
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    clients = workers(ssod_daemon)
    path = token_path(ssod_daemon)
    emulator.reset_calls()
    states: Counter[str] = Counter()
    go, stop = threading.Event(), threading.Event()
    threads = [threading.Thread(target=w.loop, args=(go, stop)) for w in clients]
    with TokenFileWatch(path) as reader:
        for thread in threads:
            thread.start()
        # Bursts of client processes (each refreshes the token once), then quiet spells long
        # enough for the daemon's own refresh to fall due: both keep rotating the same token.
        for phase, seconds in enumerate(PHASES):
            go.set() if phase % 2 == 0 else go.clear()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                states[session(ssod_daemon)["state"]] += 1
                time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join(90)
    log = ssod_daemon.log()
    refreshes = emulator.calls().get("CreateToken:refresh_token", 0)
    ours = len(events(log, "token_refreshed"))
    writes_in_place = any(w.name == "js-sdk" for w in clients)
    report = {w.name: (w.runs, w.failures[:2]) for w in clients}
    assert all(
        not [f for f in w.failures if not (writes_in_place and torn_by_another_writer(f))]
        for w in clients
    ), report
    assert all(w.runs >= 2 for w in clients), report
    assert refreshes - ours >= 2 * len(clients) and ours >= 2, (refreshes, ours)
    assert set(states) == {"ready"}, states
    assert not events(log, "login_required")
    if not any(w.name == "js-sdk" for w in clients):
        # botocore and the daemon replace the file atomically; the JS SDK writes in place, and
        # a reader racing it may see half a file (the daemon reads again after 50 ms).
        assert reader.torn == [], len(reader.torn)
        assert not events(log, "cache_unreadable")
    assert_live_refresh_token(ssod_daemon)


def torn_by_another_writer(failure: str) -> bool:
    """A botocore process that read the token file while the JS SDK was rewriting it in place.

    botocore's JSONFileCache turns a half-written file into a KeyError, and the JS SDK writes
    the file in place, not atomically (docs/protocols.md section 3): a race between two other tools
    that ssod, which always replaces the file atomically, can neither cause nor prevent.
    """
    return "self._cache[cache_key]" in failure and "KeyError" in failure


def assert_live_refresh_token(harness: DaemonHarness) -> None:
    """The refresh token on disk is the live one, and the daemon still refreshes with it."""
    path = token_path(harness)
    on_disk = parse_token(path.read_bytes(), path=str(path))
    record = harness.emulator.state.refresh_tokens.get(on_disk.refresh_token or "")
    assert record is not None and not record.revoked, "the live refresh token was lost"
    before = len(events(harness.log(), "token_refreshed"))
    wait_until(lambda: len(events(harness.log(), "token_refreshed")) > before, 10, "a refresh")
    assert session(harness)["state"] == "ready"
    assert harness.request(Op.CREDENTIALS, profile="prod")["AccountId"] == "222222222222"


def test_a_slow_writer_that_rotated_the_refresh_token_first(ssod_daemon: DaemonHarness) -> None:
    """Another tool wins the race to rotate the refresh token but writes the file late.

    The daemon's own refresh is refused (its refresh token was just rotated away); the file
    still holds the old token when it looks, and the new one lands 150 ms later. That is no
    reason to ask for a login: the daemon waits briefly for the winner's write and adopts it.
    """
    emulator = ssod_daemon.emulator
    emulator.settings(token_lifetime=LIFETIME, approve_delay=0)
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    path = token_path(ssod_daemon)
    oidc = boto3.client("sso-oidc", region_name="us-east-1", endpoint_url=emulator.url)
    for _ in range(ROUNDS):
        current = parse_token(path.read_bytes(), path=str(path))
        # Just before the daemon's refresh falls due (status shows it in whole seconds).
        due = datetime.strptime(session(ssod_daemon)["next_refresh"], "%Y-%m-%dT%H:%M:%SZ")
        time.sleep(max(0.0, due.replace(tzinfo=UTC).timestamp() - time.time() - 0.5))
        before = emulator.state.calls["CreateToken:refresh_token"]
        newer = refreshed_elsewhere(oidc, current)  # rotates the refresh token away
        wait_until(
            lambda b=before: emulator.state.calls["CreateToken:refresh_token"] > b + 1,  # type: ignore[misc]
            3,
            "the daemon's own refresh",
            interval=0.001,
        )
        time.sleep(0.15)
        path.write_bytes(serialize_token(newer))  # in place, as the AWS CLI v2 writes
        wait_until(
            lambda: events(ssod_daemon.log(), "refresh_token_rotated_elsewhere"),
            3,
            "the daemon to adopt the other tool's token",
        )
    assert not events(ssod_daemon.log(), "login_required")
    assert_live_refresh_token(ssod_daemon)


def refreshed_elsewhere(oidc: Any, token: SsoToken) -> SsoToken:
    """What another tool's refresh of ``token`` produces (the refresh token rotates)."""
    grant = oidc.create_token(
        clientId=token.client_id,
        clientSecret=token.client_secret,
        grantType="refresh_token",
        refreshToken=token.refresh_token,
    )
    return replace(
        token,
        access_token=grant["accessToken"],
        expires_at=datetime.now(UTC) + timedelta(seconds=grant["expiresIn"]),
        refresh_token=grant["refreshToken"],
    )
