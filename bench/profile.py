"""``python -m bench.profile {ecs,client}``: where the hot path and the client's start-up go.

``ecs`` samples the real daemon with py-spy while wrk loads ``GET /credentials/dev`` at 16
connections, then prints the functions with the most samples on the stack (inclusive) and at
the top (self), with ssod's own frames marked. ``client`` runs ``ssod credentials`` under
pyinstrument. A development tool; the ECS section of the report uses its sampling too. py-spy
comes with the bench extra (``make bench``), pyinstrument by hand (``pip install
pyinstrument``); neither is ever a runtime dependency.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

from bench import loadgen
from bench.first_credentials import ssod_executable
from bench.fixtures import CLIENT_CPU, SERVER_CPU, Options, bare_twin, running_daemon
from bench.launcher import can_pin
from ssod.wire import Op

CREDENTIALS = ("credentials", "--profile", "dev")


def _tool(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        raise SystemExit(f"{name} is not installed: .venv/bin/pip install {name}")
    return str(path)


def count_frames(lines: list[str]) -> tuple[int, Counter[str], Counter[str]]:
    """Samples in all, and per frame on the stack (inclusive) and at its top (self)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    return total, inclusive, own


def py_spy() -> str | None:
    """The py-spy program beside this interpreter (the bench extra installs it), or None."""
    path = Path(sys.executable).with_name("py-spy")
    return str(path) if path.exists() else None


def record(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """Start sampling ``pid`` with py-spy for ``seconds`` into ``out`` (raw, no line numbers)."""
    command = [_tool("py-spy"), "record", "-p", str(pid), "-d", f"{seconds:g}", "-r", "500"]
    return subprocess.Popen(
        [*command, "-f", "raw", "-o", str(out), "--nonblocking", "--nolineno"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summarize_raw(lines: list[str], top: int = 30) -> str:
    """Top inclusive and self frames of py-spy ``raw`` (collapsed stacks) output."""
    total, inclusive, own = count_frames(lines)
    out = [f"{total} samples"]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        out.append(f"\n-- top {top} {title}")
        for frame, n in counter.most_common(top):
            mark = "*" if ours(frame) else " "
            out.append(f"{mark} {n / total:6.1%}  {frame}")
    own_frames = [(f, n) for f, n in inclusive.most_common() if ours(f)]
    out.append("\n-- ssod's own frames, inclusive")
    out.extend(f"* {n / total:6.1%}  {frame}" for frame, n in own_frames[:top])
    return "\n".join(out)


def ours(frame: str) -> bool:
    """Whether a py-spy frame is ssod's own code (not its entry points)."""
    return ("(daemon/" in frame or "(client/" in frame) and not any(
        name in frame for name in ("cli.py", "fastpath.py", "cmd_daemon.py", "daemon/main.py")
    )


def profile_ecs(seconds: float, log_level: str, bare: bool, connections: int) -> None:
    """Sample the daemon (or, with ``bare``, the baseline server) under load; print a summary."""
    pin = can_pin()
    cpu = SERVER_CPU if pin else None
    with (
        running_daemon(Options(), daemon_cpu=cpu, daemon_args=["--log-level", log_level]) as scene,
        bare_twin(scene, "dev", cpu) as (bare_pid, bare_url),
    ):
        daemon = scene.daemon
        url, token_file, pid = daemon.ecs_url("dev"), daemon.token_file(), daemon.pid
        if bare:
            url, pid = bare_url, bare_pid
        out = scene.ws.root / "pyspy.txt"
        spy = record(pid, seconds, out)
        results: list[loadgen.LoadRun] = []
        load = threading.Thread(
            target=lambda: results.append(
                loadgen.run(url, connections, seconds, token_file, cpu=CLIENT_CPU if pin else None)
            )
        )
        load.start()
        spy.wait()
        load.join()
        print(f"{results[0].throughput:,.0f} requests/s while sampling")
        print(summarize_raw(out.read_text().splitlines()))


def profile_client() -> None:
    """``ssod credentials --profile dev`` under pyinstrument (its credentials are not shown)."""
    with running_daemon(Options()) as scene:
        scene.daemon.request(Op.CREDENTIALS, profile="dev")
        command = ssod_executable()
        script = command if command[0] != sys.executable else command[1:]
        report = scene.ws.root / "pyinstrument.txt"
        subprocess.run(
            [_tool("pyinstrument"), "-i", "0.0002", "-o", str(report), *script, *CREDENTIALS],
            env=scene.ws.env(scene.emulator.env),
            stdout=subprocess.DEVNULL,
            check=True,
        )
        print(report.read_text())


def main() -> None:
    """Parse the arguments and profile."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=("ecs", "client"))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--log-level", default="info", help="the daemon's (ecs only)")
    parser.add_argument("--bare", action="store_true", help="profile the baseline server")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (ecs)")
    args = parser.parse_args()
    if args.what == "ecs":
        profile_ecs(args.seconds, args.log_level, args.bare, args.connections)
    else:
        profile_client()


if __name__ == "__main__":
    main()
