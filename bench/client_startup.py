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
    "ssod-env": "ssod env --profile dev",
    "ssod-full": "SSOD_FAST_PATH=0 ssod credentials --profile dev (the full client)",
    "ssod-env-full": "SSOD_FAST_PATH=0 ssod env --profile dev (the full client)",
    "ssod-before": "ssod credentials --profile dev, the baseline revision's client",
    "ssod-env-before": "ssod env --profile dev, the baseline revision's client",
    "python": "python -c pass",
    "aws": "aws configure export-credentials --profile dev (CLI v2, cache warm)",
}


#: The same, short enough for the plot's axis.
SHORT = {
    "ssod": "ssod credentials",
    "ssod-env": "ssod env",
    "ssod-full": "ssod credentials (full client)",
    "ssod-env-full": "ssod env (full client)",
    "ssod-before": "ssod credentials (baseline)",
    "ssod-env-before": "ssod env (baseline)",
    "python": "python -c pass",
    "aws": "aws configure export-credentials",
}
#: The issue-14 target: the fast path within this much of the bare interpreter.
WITHIN = 0.015


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
    """Time the commands round after round."""
    reps = options.reps(20, 10)
    have_cli = awscli.available()
    baseline = options.baseline
    names = [
        n
        for n in NAMES
        if (have_cli or n != "aws") and (baseline is not None or not n.endswith("-before"))
    ]
    wall: dict[str, list[float]] = defaultdict(list)
    with running_daemon(options) as scene:
        ws, daemon = scene.ws, scene.daemon
        daemon.request(Op.CREDENTIALS, profile="dev")
        env = ws.env(scene.emulator.env)
        full = {**env, "SSOD_FAST_PATH": "0"}
        ssod = ssod_executable()
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            "ssod": ([*ssod, "credentials", "--profile", "dev"], env),
            "ssod-env": ([*ssod, "env", "--profile", "dev"], env),
            "ssod-full": ([*ssod, "credentials", "--profile", "dev"], full),
            "ssod-env-full": ([*ssod, "env", "--profile", "dev"], full),
            "python": ([sys.executable, "-c", "pass"], env),
        }
        if baseline is not None:
            old = {**env, **baseline.env()}
            commands["ssod-before"] = (
                baseline.client_command("credentials", "--profile", "dev"),
                old,
            )
            commands["ssod-env-before"] = (baseline.client_command("env", "--profile", "dev"), old)
        if have_cli:
            data_dir = awscli.data_path(ws.root, scene.emulator.remote.url)
            commands["aws"] = (awscli.export_credentials("dev", data_dir), env)
        for rep in range(reps + 2):  # two warm-up rounds (page cache, .pyc, the CLI's cache)
            for name in names[rep % len(names) :] + names[: rep % len(names)]:
                took, _ = awscli.timed(*commands[name])
                if rep >= 2:
                    wall[name].append(took)
        ssod_args = commands["ssod"][0]
        script = ssod_args[1:] if ssod_args[0] == sys.executable else ssod_args
        imports = import_profile(script, env)
        imports_full = import_profile(script, full)
    return _section(options, reps, names, wall, imports, imports_full)


def _section(
    options: Options,
    reps: int,
    names: list[str],
    wall: dict[str, list[float]],
    imports: list[tuple[str, int]],
    imports_full: list[tuple[str, int]],
) -> Section:
    section = Section("startup", "Client start-up: ssod credentials and ssod env")
    section.commands = [
        f"python -m bench.run --only startup{options.flag}",
        *(f"{NAMES[n]}   (timed as a whole process)" for n in names),
        "python -X importtime $(which ssod) credentials --profile dev   (with and without "
        "SSOD_FAST_PATH=0)",
    ]
    s = {n: summarize(v) for n, v in wall.items()}
    section.tables.append(
        Table(
            ["command", "p50", "p99", "min", "p50 over python -c pass"],
            [
                [
                    f"`{NAMES[n]}`",
                    fmt_ms(s[n].median),
                    fmt_ms(s[n].p99),
                    fmt_ms(s[n].minimum),
                    "" if n == "python" else _plus(s[n].median - s["python"].median),
                ]
                for n in names
            ],
        )
    )
    if "ssod-before" in s:
        section.notes.append(
            f"Before/after in this run: `ssod credentials` {fmt_ms(s['ssod-before'].median)} → "
            f"{fmt_ms(s['ssod'].median)}, `ssod env` {fmt_ms(s['ssod-env-before'].median)} → "
            f"{fmt_ms(s['ssod-env'].median)} ({options.baseline.label if options.baseline else ''}"
            " is that revision's console script and client code, against this daemon)."
        )
    floor = s["python"].median
    for name, what in (("ssod", "ssod credentials"), ("ssod-env", "ssod env")):
        over = s[name].median - floor
        section.verdicts.append(
            Verdict(
                f"{what} within {WITHIN * 1000:.0f} ms of the bare interpreter",
                f"{_plus(over)} ({fmt_ms(s[name].median)} vs {fmt_ms(floor)}; the full "
                f"client: {_plus(s[name + '-full'].median - floor)})",
                over <= WITHIN,
            )
        )
    if "aws" in s:
        faster = ratio(s["aws"].median, s["ssod"].median)
        section.verdicts.append(
            Verdict(
                "≥ 15x faster than aws configure export-credentials",
                f"{fmt_ratio(faster)} ({fmt_ms(s['ssod'].median)} vs {fmt_ms(s['aws'].median)}; "
                f"15x would need {fmt_ms(s['aws'].median / 15)})",
                faster >= 15,
            )
        )
    section.tables.append(
        Table(
            ["top-level import in `ssod credentials`", "fast path", "full client"],
            _import_rows(imports, imports_full),
        )
    )
    section.notes += [
        f"{reps} rounds (plus two warm-up rounds, dropped), each command once per round in "
        "rotating order, timed from spawn to exit with perf_counter; stdout captured.",
        "The daemon already holds the credentials, so `ssod credentials` is start-up, one "
        "round trip to the daemon and printing. The AWS CLI reads its ~/.aws/cli/cache and "
        "makes no AWS call either: this is its fastest path.",
        "The fast path (the console script, `ssod.client.fastpath`) parses exactly the "
        "`credentials` and `env` argument shapes by hand and asks the daemon's fast socket "
        "(`<runtime dir>/fast`, `ssod.fastwire`), which answers with the rendered output; it "
        "imports `os`, `sys`, `_socket` and `ssod.fastwire` only. The full client (argparse, "
        "pyzmq, json, the ZeroMQ socket) is what every other command line runs, and what these "
        "two ran before; `SSOD_FAST_PATH=0` forces it, so both are timed side by side here.",
        "What is left (the import table, `python -X importtime`): the interpreter and `site` "
        "(the virtual environment's .pth files, setuptools' `_distutils_hack` among them) are "
        "the floor both pay; above it the fast path pays the `ssod` namespace package lookup "
        "over two sys.path entries, its two small modules, one connect and one round trip to "
        "the daemon (which renders in well under a millisecond).",
    ]
    section.data["wall"] = {SHORT[n]: wall[n] for n in names}
    return section


def _plus(seconds: float) -> str:
    return ("+" if seconds >= 0 else "-") + fmt_ms(abs(seconds))


def _import_rows(fast: list[tuple[str, int]], full: list[tuple[str, int]]) -> list[list[str]]:
    names = list(dict.fromkeys([n for n, _ in fast] + [n for n, _ in full]))
    a, b = dict(fast), dict(full)
    return [
        [
            f"`{n}`",
            f"{a[n] / 1000:.1f} ms" if n in a else "-",
            f"{b[n] / 1000:.1f} ms" if n in b else "-",
        ]
        for n in names
    ]
