"""``kill -9`` of the real daemon at random moments while it refreshes a token every second.

A reader thread parses every read of the token file in a tight loop the whole time: each read
must be a whole, valid token (the one before a refresh or the one after, never half of each),
because the daemon writes a temp file and renames it. After each kill a new daemon starts on
the same cache and serves credentials without a login, though the token it finds may have
expired while no daemon ran.

The emulator does not rotate refresh tokens here: a kill after AWS answered a refresh but
before the new token reached the disk loses a rotated refresh token, which no client can
prevent (the AWS CLI and the SDKs have the same window). Rotation under concurrent writers is
covered by test_shared_cache.py.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from hardening.support import TokenFileWatch, events, token_path, wait_until
from harness import DaemonHarness
from ssod import atomicfile
from ssod.atomicfile import TEMP_PREFIX, TEMP_SUFFIX
from ssod.wire import Op

ROUNDS = 12
LIFETIME = 2  # seconds: the daemon refreshes about once a second
IN_FLIGHT = 0.1  # seconds each refresh waits for AWS


def kill_9(harness: DaemonHarness) -> None:
    """SIGKILL the daemon and reap it; nothing of its shutdown runs."""
    assert harness.proc is not None
    os.kill(harness.proc.pid, signal.SIGKILL)
    harness.proc.wait(10)
    harness.stop()  # only closes the log and forgets the process


def test_kill_9_during_refreshes_never_tears_the_cache(ssod_daemon: DaemonHarness) -> None:
    seed = random.randrange(1 << 32)
    rng = random.Random(seed)
    emulator = ssod_daemon.emulator
    emulator.settings(token_lifetime=LIFETIME, refresh_rotation=False, approve_delay=0)
    # Each refresh spends a tenth of a second at AWS, so a kill can land while it is in flight,
    # as the answer arrives, or while the new token is being written.
    emulator.set_faults({"operation": "CreateToken", "kind": "latency", "seconds": IN_FLIGHT})
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    path = token_path(ssod_daemon)
    with TokenFileWatch(path) as reader:
        for _ in range(ROUNDS):
            started = emulator.state.calls["CreateToken"]
            wait_until(
                lambda: emulator.state.calls["CreateToken"] > started,  # noqa: B023
                LIFETIME + 1,
                "a refresh to start",
                interval=0.002,
            )
            time.sleep(rng.uniform(0.0, IN_FLIGHT + 0.03))
            kill_9(ssod_daemon)
            ssod_daemon.start()
            # No login: the restarted daemon refreshes whatever token it finds, expired or not.
            creds = ssod_daemon.request(Op.CREDENTIALS, profile="dev")
            assert creds["AccountId"] == "111111111111", f"seed {seed}"
    assert reader.torn == [], f"seed {seed}: torn reads {len(reader.torn)}"
    assert reader.missing == 0, f"seed {seed}"
    assert reader.reads > 1000, reader.reads
    assert len(reader.access_tokens) > ROUNDS // 2, f"{len(reader.access_tokens)} tokens seen"
    assert not events(ssod_daemon.log(), "login_required"), f"seed {seed}"
    # A kill between creating and renaming a temp file leaves it behind; it is hidden and never
    # named like a token file (`aws sso logout` json-loads those); the daemon sweeps stale ones.
    for entry in path.parent.iterdir():
        if entry.name.startswith(TEMP_PREFIX):
            assert entry.name.endswith(TEMP_SUFFIX), entry.name
        elif not entry.name.startswith("."):
            assert entry.suffix == ".json", entry.name
            assert isinstance(json.loads(entry.read_bytes()), dict), entry.name


# -- atomicfile under kill -9 --------------------------------------------------------------

#: A child that rewrites one file with ``atomicfile.write`` forever, alternating two contents
#: of different sizes; it says "w" on stdout just before each write.
_WRITER = """
import sys
from ssod import atomicfile
path, contents = sys.argv[1], [b"A" * (3 << 20), b"B" * (5 << 20)]
atomicfile.write(path, contents[0])
i = 0
while True:
    i += 1
    sys.stdout.write("w\\n")
    sys.stdout.flush()
    atomicfile.write(path, contents[i % 2])
"""
KILL_ROUNDS = 20


def test_kill_9_mid_write_leaves_old_or_new_never_torn(tmp_path: Path) -> None:
    seed = random.randrange(1 << 32)
    rng = random.Random(seed)
    folder = tmp_path / "atomic"
    folder.mkdir()
    target = folder / "file"
    whole = {b"A" * (3 << 20), b"B" * (5 << 20)}
    left_temp = 0
    for _ in range(KILL_ROUNDS):
        with subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE
        ) as child:
            assert child.stdout is not None
            # The kill follows the child's "about to write" line: it lands inside a write
            # (of megabytes, fsynced) unless this process is slower than a whole write.
            for _ in range(rng.randint(1, 4)):
                assert child.stdout.readline() == b"w\n", f"seed {seed}"
            child.kill()
            child.wait()
        assert target.read_bytes() in whole, f"seed {seed}: torn file"
        temps = [p for p in folder.iterdir() if p != target]
        assert all(atomicfile.is_temp_name(p.name) for p in temps), temps
        left_temp += bool(temps)
        for p in temps:
            p.unlink()
    # Proof that kills did land mid-write: a killed write leaves its temp file behind.
    assert left_temp > 0, f"seed {seed}: no kill landed inside a write"
