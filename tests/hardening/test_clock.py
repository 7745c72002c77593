"""Suspend and resume: the daemon frozen for longer than its token and credentials live.

A test cannot move the system clock, so a laptop's suspend is modelled with SIGSTOP and SIGCONT:
while the daemon is stopped, wall time runs on past the token's and the role credentials'
expiry, and on SIGCONT every timer the daemon had set is overdue at once, as after a resume.
What this does not model: on Linux a real suspend also stops CLOCK_MONOTONIC, so asyncio's
sleeps would wake late rather than early; ssod bounds every sleep (schedule.MAX_SLEEP) and
compares expiry times with the wall clock, which is what this test exercises. A clock set
backwards (NTP, a user) cannot be simulated here at all; it only makes ssod refresh earlier
than needed, because every decision compares wall-clock expiry times.
"""

from __future__ import annotations

import os
import signal
import time

from hardening.support import EcsWatch, events, session, wait_until
from harness import DaemonHarness
from ssod.wire import Op

MARGIN = 3.0
SLEEP = 10.0  # seconds frozen: longer than the 4 s token and the 8 s credentials


def test_suspend_longer_than_every_lifetime(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.emulator.settings(token_lifetime=4, credential_lifetime=8, approve_delay=0)
    ssod_daemon.start("--credential-margin", str(MARGIN))
    ssod_daemon.login(use_device_code=True)
    endpoint = ssod_daemon.request(Op.ENDPOINT)
    assert ssod_daemon.proc is not None
    pid = ssod_daemon.proc.pid
    with EcsWatch(endpoint, margin=MARGIN) as watch:
        wait_until(lambda: watch.statuses["200"] >= 3, 5, "credentials before the suspend")
        refreshes = len(events(ssod_daemon.log(), "token_refreshed"))
        watch.pause()  # the clients sleep with the laptop
        os.kill(pid, signal.SIGSTOP)
        time.sleep(SLEEP)
        os.kill(pid, signal.SIGCONT)
        woke = time.monotonic()
        watch.resume()
        # Served again after the wake (a generous deadline: this polls, it does not time).
        wait_until(
            lambda: next((t for t, what in watch.timeline if t >= woke and what == "200"), None),
            15,
            "credentials after the wake",
        )
        wait_until(
            lambda: len(events(ssod_daemon.log(), "token_refreshed")) > refreshes,
            5,
            "a token refresh after the wake",
        )
        wait_until(lambda: watch.between(woke, time.monotonic())["200"] >= 5, 5, "more 200s")
    assert not watch.violations, watch.violations
    assert watch.statuses["503 login_required"] == 0, watch.statuses
    assert session(ssod_daemon)["state"] == "ready"
    assert not events(ssod_daemon.log(), "login_required")
