"""Measurement 3: ``ssod credentials`` start-up against a bare interpreter and the AWS CLI.

Three commands, each printing (or not) a profile's credentials, timed from outside as whole
processes in rotating order: ``ssod credentials --profile dev`` (the console script a
credential_process runs), ``python -c pass`` (the floor any Python program pays) and Debian's
``aws configure export-credentials --profile dev`` with its role-credentials cache warm (its
best case). ``-X importtime`` then shows where ssod's own start-up goes.
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict

from bench import awscli
from bench.first_credentials import ssod_executable
from bench.fixtures import Options, running_daemon
from bench.report import Section, Table, Verdict, fmt_ms, fmt_ratio
from bench.stats import ratio, summarize
from ssod.wire import Op

NAMES = {
    "ssod": "ssod credentials --profile dev",
    "python": "python -c pass",
    "aws": "aws configure export-credentials --profile dev (CLI v2, cache warm)",
}


#: The same, short enough for the plot's axis.
SHORT = {
    "ssod": "ssod credentials",
    "python": "python -c pass",
    "aws": "aws configure export-credentials",
}


def import_profile(args: list[str], env: dict[str, str], top: int = 6) -> list[tuple[str, int]]:
    """The ``top`` top-level imports of ``python ARGS`` by cumulative time (µs), -X importtime."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = []
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[0].startswith("import time:"):
            continue
        name = parts[2][1:]  # one space of padding; more means a nested import
        if name.startswith(" ") or not parts[1].strip().isdigit():
            continue
        rows.append((name.strip(), int(parts[1])))
    return sorted(rows, key=lambda row: -row[1])[:top]


def measure(options: Options) -> Section:
    """Time the three commands round after round."""
    reps = options.reps(20, 10)
    have_cli = awscli.available()
    names = [n for n in NAMES if have_cli or n != "aws"]
    wall: dict[str, list[float]] = defaultdict(list)
    with running_daemon(options) as scene:
        ws, daemon = scene.ws, scene.daemon
        daemon.request(Op.CREDENTIALS, profile="dev")
        env = ws.env(scene.emulator.env)
        commands = {
            "ssod": [*ssod_executable(), "credentials", "--profile", "dev"],
            "python": [sys.executable, "-c", "pass"],
        }
        if have_cli:
            data_dir = awscli.data_path(ws.root, scene.emulator.remote.url)
            commands["aws"] = awscli.export_credentials("dev", data_dir)
        for rep in range(reps + 2):  # two warm-up rounds (page cache, .pyc, the CLI's cache)
            for name in names[rep % len(names) :] + names[: rep % len(names)]:
                took, _ = awscli.timed(commands[name], env)
                if rep >= 2:
                    wall[name].append(took)
        ssod_args = commands["ssod"]
        imports = import_profile(
            ssod_args[1:] if ssod_args[0] == sys.executable else ssod_args, env
        )
    return _section(options, reps, names, wall, imports)


def _section(
    options: Options,
    reps: int,
    names: list[str],
    wall: dict[str, list[float]],
    imports: list[tuple[str, int]],
) -> Section:
    section = Section("startup", "Client start-up: ssod credentials")
    section.commands = [
        f"python -m bench.run --only startup{options.flag}",
        *(f"{NAMES[n]}   (timed as a whole process)" for n in names),
        "python -X importtime $(which ssod) credentials --profile dev",
    ]
    s = {n: summarize(v) for n, v in wall.items()}
    section.tables.append(
        Table(
            ["command", "p50", "p99", "min"],
            [
                [f"`{NAMES[n]}`", fmt_ms(s[n].median), fmt_ms(s[n].p99), fmt_ms(s[n].minimum)]
                for n in names
            ],
        )
    )
    over = s["ssod"].median - s["python"].median
    section.verdicts.append(
        Verdict(
            "within 100 ms of the bare interpreter",
            f"+{fmt_ms(over)} ({fmt_ms(s['ssod'].median)} vs {fmt_ms(s['python'].median)})",
            over <= 0.100,
        )
    )
    if "aws" in s:
        faster = ratio(s["aws"].median, s["ssod"].median)
        section.verdicts.append(
            Verdict(
                "≥ 8x faster than aws configure export-credentials",
                f"{fmt_ratio(faster)} ({fmt_ms(s['ssod'].median)} vs {fmt_ms(s['aws'].median)}; "
                f"8x would need {fmt_ms(s['aws'].median / 8)})",
                faster >= 8,
            )
        )
    section.tables.append(
        Table(
            ["top-level import in `ssod credentials`", "cumulative"],
            [[f"`{name}`", f"{us / 1000:.1f} ms"] for name, us in imports],
        )
    )
    section.notes += [
        f"{reps} rounds (plus two warm-up rounds, dropped), each command once per round in "
        "rotating order, timed from spawn to exit with perf_counter; stdout captured.",
        "The daemon already holds the credentials, so `ssod credentials` is start-up, one IPC "
        "round trip and printing. The AWS CLI reads its ~/.aws/cli/cache and makes no AWS "
        "call either: this is its fastest path.",
        "What limits it (`python -m bench.profile client`, pyinstrument, and the import table): "
        "importing pyzmq, argparse and every command module, and building the parser for all "
        "commands, are most of what ssod adds to the interpreter; the IPC round trip itself "
        "takes about 2 ms.",
    ]
    section.data["wall"] = {SHORT[n]: wall[n] for n in names}
    return section
