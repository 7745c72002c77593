"""Measurement 6: freshness under load — the least lifetime left on anything served, and errors.

The daemon runs time-lapsed 300 times (1 hour = 12 s) against 24-second tokens and 12-second
credentials, so tokens and credentials both roll over several times during the run. Many
clients ask for three profiles at once: keep-alive ECS connections, a new ECS connection per
request (like a new SDK process each time) and IPC clients (like ``ssod credentials``). Every
answer's ``Expiration`` is compared with the wall clock when it arrived.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.fixtures import STANDARD_CONFIG, Options, running_daemon
from bench.httpclient import Connection, Target
from bench.report import Section, Table, Verdict
from bench.scaled_daemon import scaled_policy
from bench.stats import percentile
from ssod.client.ipc import IpcClient
from ssod.errors import SsodError
from ssod.wire import Op

SCALE = 300.0  # 1 hour = 12 s
TOKEN_LIFETIME = 24
CREDENTIAL_LIFETIME = 12
PROFILES = ("dev", "prod", "ops")
KEEPALIVE_CLIENTS = 24
FRESH_CONNECTION_CLIENTS = 8
IPC_CLIENTS = 4
PAUSE = 0.01

CONFIG = STANDARD_CONFIG + (
    "\n[profile ops]\nsso_session = corp\nsso_account_id = 222222222222\nsso_role_name = ReadOnly\n"
)


@dataclass
class Tally:
    """What the clients saw: seconds left on each answer, and errors by kind."""

    remaining: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, expiration: str) -> None:
        """Record one answer's remaining lifetime."""
        expires = datetime.strptime(expiration, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        left = (expires - datetime.now(UTC)).total_seconds()
        with self.lock:
            self.remaining.append(left)

    def error(self, kind: str) -> None:
        """Record one error."""
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1


async def _ecs_client(target: Target, until: float, tally: Tally, keepalive: bool) -> None:
    import json

    conn = Connection(target)
    try:
        while time.monotonic() < until:
            try:
                ((status, body),) = await conn.get()
            except (OSError, asyncio.IncompleteReadError) as err:
                tally.error(f"ecs {type(err).__name__}")
                await conn.close()
                continue
            if status == 200:
                tally.answer(json.loads(body)["Expiration"])
            else:
                tally.error(f"ecs HTTP {status}")
            if not keepalive:
                await conn.close()
            await asyncio.sleep(PAUSE)
    finally:
        await conn.close()


def _ipc_client(endpoint: str, profile: str, until: float, tally: Tally) -> None:
    with IpcClient(endpoint, timeout=10.0) as client:
        while time.monotonic() < until:
            try:
                creds = client.request(Op.CREDENTIALS, profile=profile)
                tally.answer(str(creds["Expiration"]))
            except SsodError as err:
                tally.error(f"ipc {err.code}")
            time.sleep(PAUSE)


async def _ecs_clients(targets: list[Target], until: float, tally: Tally) -> None:
    keep = [
        _ecs_client(targets[i % len(targets)], until, tally, True) for i in range(KEEPALIVE_CLIENTS)
    ]
    fresh = [
        _ecs_client(targets[i % len(targets)], until, tally, False)
        for i in range(FRESH_CONNECTION_CLIENTS)
    ]
    await asyncio.gather(*keep, *fresh)


def measure(options: Options) -> Section:
    """Run all the clients for the run's duration and summarize what they saw."""
    seconds = options.seconds(48.0, 24.0)
    command = [sys.executable, "-m", "bench.scaled_daemon", "--time-scale", f"{SCALE:g}"]
    emulator_args = [
        "--token-lifetime",
        str(TOKEN_LIFETIME),
        "--credential-lifetime",
        str(CREDENTIAL_LIFETIME),
    ]
    tally = Tally()
    with running_daemon(
        options, config=CONFIG, emulator_args=emulator_args, daemon_command=command
    ) as scene:
        daemon = scene.daemon
        token = daemon.token()
        targets = [Target.for_url(daemon.ecs_url(p), token) for p in PROFILES]
        scene.emulator.remote.reset_calls()
        until = time.monotonic() + seconds
        threads = [
            threading.Thread(
                target=_ipc_client, args=(daemon.endpoint, PROFILES[i % 3], until, tally)
            )
            for i in range(IPC_CLIENTS)
        ]
        for thread in threads:
            thread.start()
        asyncio.run(_ecs_clients(targets, until, tally))
        for thread in threads:
            thread.join()
        calls = scene.emulator.remote.calls()
    return _section(options, seconds, tally, calls)


def _section(options: Options, seconds: float, tally: Tally, calls: dict[str, int]) -> Section:
    policy = scaled_policy(SCALE)
    margin = min(policy.credential_margin.total_seconds(), CREDENTIAL_LIFETIME / 2)
    least = min(tally.remaining) if tally.remaining else float("nan")
    errors = sum(tally.errors.values())
    section = Section("freshness", "Freshness under load")
    section.commands = [
        f"python -m bench.run --only freshness{options.flag}",
        f"ssod emulator --token-lifetime {TOKEN_LIFETIME} --credential-lifetime "
        f"{CREDENTIAL_LIFETIME}; python -m bench.scaled_daemon --time-scale {SCALE:g}",
    ]
    scaled = SCALE / 60  # real seconds -> scaled minutes
    section.tables.append(
        Table(
            [
                "answers",
                "least time left",
                "p1 time left",
                "configured margin",
                "errors",
                "token refreshes",
                "GetRoleCredentials",
            ],
            [
                [
                    f"{len(tally.remaining):,}",
                    f"{least:.2f} s ({least * scaled:.1f} scaled min)",
                    f"{percentile(tally.remaining, 1):.2f} s" if tally.remaining else "-",
                    f"{margin:.2f} s ({margin * scaled:.0f} scaled min)",
                    ", ".join(f"{k}: {v}" for k, v in sorted(tally.errors.items())) or "0",
                    str(calls.get("CreateToken:refresh_token", 0)),
                    str(calls.get("GetRoleCredentials", 0)),
                ]
            ],
        )
    )
    section.verdicts += [
        Verdict(
            "nothing served with less than the configured margin left",
            f"least {least:.2f} s vs margin {margin:.2f} s",
            least >= margin,
        ),
        Verdict("no client-visible errors", str(errors), errors == 0),
    ]
    section.notes += [
        f"{seconds:g} s ({seconds * SCALE / 3600:.1f} scaled hours) with "
        f"{KEEPALIVE_CLIENTS} keep-alive ECS clients, {FRESH_CONNECTION_CLIENTS} clients "
        f"opening a new ECS connection per request and {IPC_CLIENTS} IPC clients, each pausing "
        f"{PAUSE * 1000:g} ms between requests, spread over {len(PROFILES)} profiles on one "
        "sso-session; the emulator's AWS latency applies to every refresh.",
        "Time left is measured against the whole-second Expiration the client received (the "
        "emulator issues whole seconds too), at the moment the answer arrived.",
    ]
    section.data["remaining"] = tally.remaining
    return section
