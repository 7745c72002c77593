"""``python -m bench.run [--quick] [--only NAME]``: run the benchmarks, write docs/performance.md.

Owns the order of the measurements, the command line and writing the report and plots. Each
measurement lives in its own module and returns a ``Section``; a measurement that fails is
reported as failed (with its error) and the others still run. ``--only`` runs a subset and
prints its tables without touching docs/ unless ``--write`` is given.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import (
    accounts_menu,
    aws_calls,
    client_startup,
    ecs_load,
    eks,
    first_credentials,
    freshness,
    machine,
    plot,
    scale,
)
from bench.baseline import Baseline, extracted
from bench.fixtures import Options
from bench.report import Section, markdown_table, render
from ssod.emulator.testing.launcher import default_sigint_for_children

MEASUREMENTS: dict[str, Callable[[Options], Section]] = {
    "ecs": ecs_load.measure,
    "first-credentials": first_credentials.measure,
    "startup": client_startup.measure,
    "aws-calls": aws_calls.measure,
    "scale": scale.measure,
    "freshness": freshness.measure,
    "eks": eks.measure,
    "accounts-menu": accounts_menu.measure,
}

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _failed(name: str, err: BaseException) -> Section:
    section = Section(name, f"{name} (failed)")
    section.notes.append(f"The measurement failed: `{type(err).__name__}: {err}`")
    return section


def _print(section: Section) -> None:
    print(f"\n== {section.title}", flush=True)
    for table in section.tables:
        print("\n".join(markdown_table(table)))
    for verdict in section.verdicts:
        mark = {True: "met", False: "MISSED", None: "info"}[verdict.met]
        print(f"  [{mark}] {verdict.target}: {verdict.measured}")
    sys.stdout.flush()


def _wait_quiet(limit: float) -> None:
    """Wait up to ``limit`` seconds for other work on the machine to calm down."""
    deadline = time.monotonic() + limit
    while machine.loadavg()[0] >= 0.5 and time.monotonic() < deadline:
        time.sleep(5)
    load = machine.loadavg()[0]
    if load >= 0.5:
        print(f"warning: load average {load:.2f}: other work will add noise", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected measurements; returns 1 if any of them failed to run."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (about 3 minutes)")
    parser.add_argument(
        "--only", action="append", choices=sorted(MEASUREMENTS), help="run only this (repeatable)"
    )
    parser.add_argument(
        "--latency", type=float, default=0.06, help="seconds per emulated AWS call (0.06)"
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also measure this git revision's daemon and client, side by side (ecs, startup)",
    )
    parser.add_argument(
        "--write", action="store_true", help="write docs/ even with --only (default: only all)"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long for the 1-minute load average to fall under 0.5",
    )
    args = parser.parse_args(argv)
    default_sigint_for_children()  # `make bench &` too: the daemons it starts stop on Ctrl-C
    with extracted(args.baseline) as baseline:
        return _run(args, argv, baseline)


def _run(args: argparse.Namespace, argv: Sequence[str] | None, baseline: Baseline | None) -> int:
    _wait_quiet(args.wait_quiet)
    load_before = machine.loadavg()
    options = Options(quick=args.quick, latency=args.latency, baseline=baseline)
    names = args.only or list(MEASUREMENTS)
    started = time.monotonic()
    sections: list[Section] = []
    failed = False
    for name in names:
        print(f"-- {name} ...", flush=True)
        begun = time.monotonic()
        try:
            section = MEASUREMENTS[name](options)
        except Exception as err:  # one broken measurement must not lose the others' figures
            traceback.print_exc()
            section, failed = _failed(name, err), True
        print(f"-- {name}: {time.monotonic() - begun:.0f} s", flush=True)
        _print(section)
        sections.append(section)
    took = time.monotonic() - started
    if args.only is None or args.write:
        invocation = "python -m bench.run" + " ".join(["", *(argv or sys.argv[1:])]).rstrip()
        plot.draw(sections, DOCS)
        described = [
            *machine.describe(),
            ("load average (1, 5, 15 min) before", " ".join(f"{x:.2f}" for x in load_before)),
            ("load average after", " ".join(f"{x:.2f}" for x in machine.loadavg())),
        ]
        text = render(sections, described, invocation, took)
        (DOCS / "performance.md").write_text(text)
        print(f"\nwrote {DOCS / 'performance.md'} in {took:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
