"""Measurement 5: scale — start-up, memory and idle CPU at 1, 20 and 200 profiles on 1-20 sessions.

One emulator serves a directory of 200 accounts. The sessions are logged in once, by a seed
daemon, and their token cache copied into each configuration's HOME, as after a reboot. For each
configuration the daemon is started several times (spawn to IPC ``status`` answering), then
kept running and asked once for every profile's credentials. All of them then sit idle together
while their CPU time (/proc/PID/stat) and context switches (wake-ups) are counted.
"""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.fixtures import Options
from bench.launcher import Daemon, Emulator, Workspace, cpu_ns
from bench.report import Section, Table, Verdict, fmt_ms
from bench.stats import summarize
from ssod.daemon.engine.schedule import MAX_SLEEP
from ssod.wire import Op

COMBOS = ((1, 1), (20, 1), (20, 5), (20, 20), (200, 1), (200, 5), (200, 20))
MAX_SESSIONS = max(s for _, s in COMBOS)
MAX_PROFILES = max(p for p, _ in COMBOS)


def directory() -> dict[str, object]:
    """An emulator directory with one account per profile, each assigning ReadOnly."""
    accounts = [
        {"id": f"{100000000000 + i}", "name": f"acct{i}", "roles": ["ReadOnly"]}
        for i in range(MAX_PROFILES)
    ]
    return {"users": ["user@example.com"], "accounts": accounts}


def config(profiles: int, sessions: int) -> str:
    """``profiles`` SSO profiles spread round-robin over ``sessions`` sso-sessions."""
    parts = [
        f"[sso-session s{j:02d}]\nsso_start_url = https://d-bench{j:02d}.awsapps.com/start\n"
        "sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n"
        for j in range(sessions)
    ]
    parts += [
        f"[profile p{i:03d}]\nsso_session = s{i % sessions:02d}\n"
        f"sso_account_id = {100000000000 + i}\nsso_role_name = ReadOnly\nregion = us-east-1\n"
        for i in range(profiles)
    ]
    return "\n".join(parts)


def switches(pid: int) -> int:
    """Voluntary plus involuntary context switches of all of ``pid``'s threads."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                total += int(line.split()[1])
    return total


def _serve_all(daemon: Daemon, profiles: int) -> None:
    def one(i: int) -> None:
        daemon.request(Op.CREDENTIALS, profile=f"p{i:03d}", timeout=30.0)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(one, range(profiles)))


def measure(options: Options) -> Section:
    """Start, serve, then idle every configuration."""
    starts = options.reps(5, 2)
    idle = options.seconds(60.0, 10.0)
    seed_ws = Workspace.create()
    (seed_ws.root / "directory.json").write_text(json.dumps(directory()))
    emulator = Emulator(
        seed_ws, options.latency, args=["--data", str(seed_ws.root / "directory.json")]
    )
    daemons: dict[tuple[int, int], Daemon] = {}
    startup: dict[tuple[int, int], list[float]] = {}
    rss: dict[tuple[int, int], tuple[int, int]] = {}
    try:
        emulator.start()
        seed_ws.write_config(config(1, MAX_SESSIONS))
        seed = Daemon(seed_ws, emulator)
        seed.start()
        with ThreadPoolExecutor(max_workers=MAX_SESSIONS) as pool:
            list(pool.map(seed.log_in, [f"s{j:02d}" for j in range(MAX_SESSIONS)]))
        seed.stop()
        for profiles, sessions in COMBOS:
            ws = Workspace.create()
            ws.write_config(config(profiles, sessions))
            shutil.copytree(seed_ws.sso_cache, ws.sso_cache)
            daemon = Daemon(ws, emulator)
            daemons[profiles, sessions] = daemon
            times = []
            for rep in range(starts):
                times.append(daemon.start())
                if rep < starts - 1:
                    daemon.stop()
            startup[profiles, sessions] = times
            at_ready = daemon.rss_kib()
            _serve_all(daemon, profiles)
            rss[profiles, sessions] = (at_ready, daemon.rss_kib())
        time.sleep(1.0)  # let the last fetches' callbacks and log writes settle
        before = {k: (cpu_ns(d.pid), switches(d.pid)) for k, d in daemons.items()}
        began = time.monotonic()
        time.sleep(idle)
        window = time.monotonic() - began
        after = {k: (cpu_ns(d.pid), switches(d.pid)) for k, d in daemons.items()}
    finally:
        for daemon in daemons.values():
            daemon.stop()
            daemon.ws.remove()
        emulator.stop()
        seed_ws.remove()
    cpu = {k: (after[k][0] - before[k][0]) / 1e9 for k in daemons}
    wakes = {k: after[k][1] - before[k][1] for k in daemons}
    return _section(options, starts, window, startup, rss, cpu, wakes)


def _section(
    options: Options,
    starts: int,
    window: float,
    startup: dict[tuple[int, int], list[float]],
    rss: dict[tuple[int, int], tuple[int, int]],
    cpu: dict[tuple[int, int], float],
    wakes: dict[tuple[int, int], int],
) -> Section:
    section = Section("scale", "Scale: profiles and sessions")
    section.commands = [
        f"python -m bench.run --only scale{options.flag}",
        "ssod daemon (spawn → IPC status answers); VmRSS from /proc/PID/status; run time and "
        "context switches of every thread from /proc/PID/task/*/{schedstat,status}",
    ]
    rows = []
    for key in COMBOS:
        s = summarize(startup[key])
        ready, served = rss[key]
        rows.append(
            [
                str(key[0]),
                str(key[1]),
                f"{fmt_ms(s.median, 0)} / {fmt_ms(s.maximum, 0)}",
                f"{ready / 1024:.1f} MiB",
                f"{served / 1024:.1f} MiB",
                f"{cpu[key] * 1000:.1f} ms ({cpu[key] / window:.4%})",
                f"{wakes[key] / window * 60:.0f}",
            ]
        )
    section.tables.append(
        Table(
            [
                "profiles",
                "sessions",
                "start-up to ready p50 / max",
                "RSS at ready",
                "RSS serving all",
                f"CPU idle over {window:.0f} s",
                "wake-ups / min",
            ],
            rows,
        )
    )
    small, large = rss[1, 1][1], rss[200, 1][1]
    per_profile = (large - small) / 199
    growth = large / small
    busiest = max(cpu, key=lambda k: cpu[k])
    section.verdicts += [
        Verdict(
            "memory growing well under linearly with profiles",
            f"{small / 1024:.1f} MiB at 1 profile, {large / 1024:.1f} MiB at 200 "
            f"({growth:.2f}x for 200x the profiles; {per_profile:.0f} KiB per profile)",
            growth < 2.0,
        ),
        Verdict(
            "no polling: idle CPU indistinguishable from zero",
            f"at most {cpu[busiest] * 1000:.1f} ms of CPU in {window:.0f} s "
            f"({cpu[busiest] / window:.4%}, at {busiest[0]} profiles / {busiest[1]} sessions)",
            cpu[busiest] / window < 0.001,
        ),
    ]
    loops = 200 + 20  # the busiest configuration: a refresher per used profile, a loop per session
    if window >= MAX_SLEEP.total_seconds():
        per_wake = cpu[200, 20] / (loops * window / 60)
        guard = (
            f"{wakes[200, 20] / window * 60:.0f} context switches and "
            f"{cpu[200, 20] / window * 60 * 1000:.1f} ms CPU per minute at 200 profiles / 20 "
            f"sessions: about {per_wake * 1e6:.0f} µs per loop wake-up"
        )
    else:
        guard = f"not measured: the {window:.0f}-s idle window is shorter than MAX_SLEEP"
    section.verdicts.append(
        Verdict("what the 60-s suspend guard (schedule.MAX_SLEEP) costs", guard, None)
    )
    section.notes += [
        f"Start-up: {starts} starts per configuration, the daemon loading the copied token "
        "cache (no login). Memory is VmRSS right after `status` first answers and after every "
        "profile's credentials were fetched once (concurrently, 16 at a time).",
        f"All seven daemons idle side by side for the same {window:.0f} s after serving. Every "
        "used profile's background refresher and every session's refresh loop sleeps until "
        f"its next deadline but at most MAX_SLEEP = {MAX_SLEEP.total_seconds():.0f} s, the "
        "guard against monotonic sleeps that stop during suspend; a session's wake also "
        "re-reads its token cache file on a worker thread. The wake-ups column (context "
        "switches of all threads, per minute) and the CPU column (run time of all threads from "
        "/proc/PID/task/*/schedstat, nanosecond resolution) show that cost.",
    ]
    return section
