"""Sustained load on the real daemon while everything underneath it changes.

64 keep-alive HTTP clients hammer the ECS endpoint and 8 IPC clients ask for credentials and
status, each group in its own process, for ``SSOD_SOAK_SECONDS`` (default 20; the issue's
minute is ``SSOD_SOAK_SECONDS=60``). Meanwhile the token is refreshed every few seconds, role
credentials expire and are fetched again, and the config file is rewritten every second (one
profile's region flips, so its credentials are dropped and fetched anew under load). Required:
every answer is credentials with more than the margin left (no 503 of any kind), and the
daemon's resident memory stays flat.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from hardening.support import events, session
from harness import STANDARD_CONFIG, DaemonHarness
from ssod.emulator.testing.launcher import rss_kib
from ssod.wire import Op

SOAK_SECONDS = float(os.environ.get("SSOD_SOAK_SECONDS", "20"))
ECS_CLIENTS = 64
IPC_CLIENTS = 8
MARGIN = 3.0
#: Allowed growth of the daemon's RSS from the warmed-up baseline to the end.
RSS_GROWTH_KIB = 20 * 1024
LOAD = Path(__file__).with_name("load_clients.py")


def edit_config_until(harness: DaemonHarness, stop: threading.Event) -> int:
    """Rewrite the config every second, flipping prod's region; returns how many edits."""
    edits = 0
    while not stop.wait(1.0):
        edits += 1
        region = "eu-west-2" if edits % 2 else "eu-west-1"
        harness.write_config(
            STANDARD_CONFIG.replace("region = eu-west-1", f"region = {region}")
            + f"\n# edit {edits}\n"
        )
    return edits


def load(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """Start one load generator process; it prints its summary when done."""
    return subprocess.Popen(
        [sys.executable, str(LOAD), *args], env=env, stdout=subprocess.PIPE, text=True
    )


def test_soak(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.emulator.settings(token_lifetime=6, credential_lifetime=10, approve_delay=0)
    ssod_daemon.start("--credential-margin", str(MARGIN))
    ssod_daemon.login(use_device_code=True)
    endpoint = ssod_daemon.request(Op.ENDPOINT)
    profiles = "dev,prod,chained"
    env = {**ssod_daemon.env, "PYTHONPATH": os.pathsep.join(sys.path)}
    common = [profiles, str(SOAK_SECONDS), str(MARGIN)]
    ecs = load(env, "ecs", endpoint["url"], endpoint["token_file"], *common, str(ECS_CLIENTS))
    ipc = load(env, "ipc", ssod_daemon.endpoint, *common, str(IPC_CLIENTS))
    assert ssod_daemon.proc is not None
    pid = ssod_daemon.proc.pid
    stop = threading.Event()
    edits: list[int] = []
    editor = threading.Thread(target=lambda: edits.append(edit_config_until(ssod_daemon, stop)))
    editor.start()
    try:
        time.sleep(min(3.0, SOAK_SECONDS / 4))  # warm-up: connections, caches, first fetches
        rss_start = rss_kib(pid)
        ecs_out, _ = ecs.communicate(timeout=SOAK_SECONDS + 60)
        ipc_out, _ = ipc.communicate(timeout=60)
        rss_end = rss_kib(pid)
    finally:
        stop.set()
        editor.join()
        for proc in (ecs, ipc):
            if proc.poll() is None:
                proc.kill()
    ecs_seen, ipc_seen = json.loads(ecs_out), json.loads(ipc_out)
    summary = {"ecs": ecs_seen, "ipc": ipc_seen, "rss_kib": (rss_start, rss_end)}
    print(json.dumps(summary))  # shown with -s, and in the report on failure
    log = ssod_daemon.log()
    assert ecs_seen["problems"] == [] and ipc_seen["problems"] == [], summary
    assert set(ecs_seen["answers"]) == {"200"}, summary
    assert set(ipc_seen["answers"]) == {"200", "status"}, summary
    assert ecs_seen["answers"]["200"] > 50 * SOAK_SECONDS, summary
    assert ipc_seen["answers"]["200"] > 20 * SOAK_SECONDS, summary
    assert ecs_seen["least_left"] > MARGIN - 1.0 and ipc_seen["least_left"] > MARGIN - 1.0
    # Everything really did change underneath.
    assert len(events(log, "token_refreshed")) >= SOAK_SECONDS / 4, "too few token refreshes"
    assert len(events(log, "credentials_fetched")) >= SOAK_SECONDS / 3, "too few fetches"
    assert edits and edits[0] >= SOAK_SECONDS / 2
    assert len(events(log, "config_applied")) >= SOAK_SECONDS / 3
    assert rss_end - rss_start < RSS_GROWTH_KIB, summary
    assert session(ssod_daemon)["state"] == "ready"
