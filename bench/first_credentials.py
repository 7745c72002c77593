"""Measurement 2: time to credentials in a new boto3 process, four ways side by side.

(a) an SSO profile resolved by botocore itself (token from the cache, GetRoleCredentials
against the emulator with its latency), (b) ssod's ECS endpoint, (c) ``credential_process =
ssod credentials``, (d) ``credential_process = aws configure export-credentials`` (Debian's CLI
v2). Each child times ``import boto3`` and the credential resolution after it separately, and
the wall time of the whole process is taken from outside. Rounds rotate the order.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections import defaultdict
from pathlib import Path

from bench import awscli
from bench.fixtures import STANDARD_CONFIG, Options, bare_twin, running_daemon
from bench.report import Section, Table, Verdict, fmt_ms, fmt_ratio
from bench.stats import Summary, ratio, summarize
from ssod.wire import Op

#: The child: import boto3, then resolve one profile's credentials, timing both.
CHILD = """\
import json, sys, time
t0 = time.perf_counter()
import boto3
t1 = time.perf_counter()
creds = boto3.Session(profile_name=sys.argv[1] or None).get_credentials()
key = creds.get_frozen_credentials().access_key
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "creds": t2 - t1, "ok": key.startswith("ASIA")}))
"""

VARIANTS = {
    "a": "(a) SSO profile, botocore calls GetRoleCredentials",
    "b": "(b) ssod ECS endpoint",
    "b-bare": "(b) same URL shape, served by the bare aiohttp server (control)",
    "c": "(c) credential_process = ssod credentials",
    "d": "(d) credential_process = aws configure export-credentials",
    "d-cold": "(d) same, AWS CLI cache emptied first",
    "floor": "floor: static keys in environment variables (no credential source at all)",
}
#: The same, short enough for the plot's axis.
SHORT = {
    "a": "(a) SSO profile, botocore",
    "b": "(b) ssod ECS endpoint",
    "b-bare": "(b) bare aiohttp server",
    "c": "(c) credential_process: ssod",
    "d": "(d) credential_process: aws CLI v2",
    "d-cold": "(d) same, CLI cache cold",
    "floor": "floor: static keys in env",
}
#: Made-up static keys for the floor variant: botocore's own cost with nothing to fetch.
_FLOOR_KEYS = {"AWS_ACCESS_KEY_ID": "ASIAFLOOREXAMPLE", "AWS_SECRET_ACCESS_KEY": "floor-example"}


def ssod_executable() -> list[str]:
    """The ``ssod`` console script next to this interpreter (else ``python -m``)."""
    script = Path(sys.executable).with_name("ssod")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "ssod.client.cli"]


def config(data_dir: Path | None) -> str:
    """The standard config plus one profile per credential_process variant."""
    extra = (
        "\n[profile via-process]\n"
        f"credential_process = {' '.join(ssod_executable())} credentials --profile dev\n"
    )
    if data_dir is not None:
        extra += (
            "\n[profile via-awscli]\n"
            f"credential_process = {' '.join(awscli.export_credentials('dev', data_dir))}\n"
        )
    return STANDARD_CONFIG + extra


def measure(options: Options) -> Section:
    """Spawn the children round after round and summarize."""
    reps = options.reps(10, 5)
    have_cli = awscli.available()
    variants = [v for v in VARIANTS if have_cli or not v.startswith("d")]
    wall: dict[str, list[float]] = defaultdict(list)
    inner: dict[str, list[float]] = defaultdict(list)
    calls: dict[str, list[int]] = defaultdict(list)
    with running_daemon(options) as scene, bare_twin(scene, "dev") as (_, bare_url):
        ws, daemon = scene.ws, scene.daemon
        data_dir = awscli.data_path(ws.root, scene.emulator.remote.url) if have_cli else None
        ws.write_config(config(data_dir))
        daemon.request(Op.RELOAD)
        daemon.request(Op.CREDENTIALS, profile="dev")
        base = ws.env({**scene.emulator.env, "AWS_EC2_METADATA_DISABLED": "true"})
        container = {
            **base,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": daemon.ecs_url("dev"),
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": daemon.token_file(),
        }
        envs = {"a": base, "b": container, "c": base, "d": base, "d-cold": base}
        envs["b-bare"] = {**container, "AWS_CONTAINER_CREDENTIALS_FULL_URI": bare_url}
        envs["floor"] = {**base, **_FLOOR_KEYS}
        profiles = {"a": "dev", "b": "", "c": "via-process", "d": "via-awscli", "floor": ""}
        profiles["b-bare"] = ""
        profiles["d-cold"] = "via-awscli"
        python = [sys.executable, "-c"]
        for rep in range(reps + 1):  # round 0 warms caches and is dropped
            order = variants[rep % len(variants) :] + variants[: rep % len(variants)]
            for variant in order:
                if variant == "d-cold":
                    awscli.clear_cli_cache(ws.home)
                scene.emulator.remote.reset_calls()
                took, out = awscli.timed([*python, CHILD, profiles[variant]], envs[variant])
                result = json.loads(out)
                if not result["ok"]:
                    raise RuntimeError(f"variant {variant} got no credentials")
                if rep:
                    wall[variant].append(took)
                    inner[variant].append(result["creds"])
                    inner["import"].append(result["import"])
                    calls[variant].append(
                        scene.emulator.remote.calls().get("GetRoleCredentials", 0)
                    )
            if rep:
                wall["pass"].append(awscli.timed([*python, "pass"], base)[0])
                wall["import"].append(awscli.timed([*python, "import boto3"], base)[0])
    return _section(options, reps, variants, wall, inner, calls, have_cli)


def _section(
    options: Options,
    reps: int,
    variants: list[str],
    wall: dict[str, list[float]],
    inner: dict[str, list[float]],
    calls: dict[str, list[int]],
    have_cli: bool,
) -> Section:
    section = Section("first-credentials", "Time to credentials in a new boto3 process")
    section.commands = [
        f"python -m bench.run --only first-credentials{options.flag}",
        "python -c CHILD PROFILE   (CHILD: import boto3; boto3.Session(profile_name=PROFILE)"
        ".get_credentials().get_frozen_credentials(), timing the import and the rest)",
        "python -c 'import boto3' and python -c pass   (import cost, measured from outside)",
    ]
    w = {k: summarize(v) for k, v in wall.items()}
    s = {k: summarize(v) for k, v in inner.items()}
    rows = [
        [
            VARIANTS[v],
            f"{fmt_ms(w[v].median)} / {fmt_ms(w[v].p99)}",
            f"{fmt_ms(s[v].median)} / {fmt_ms(s[v].p99)}",
            f"{summarize([float(c) for c in calls[v]]).median:g}",
        ]
        for v in variants
    ]
    imp = s["import"]
    rows.append(["`import boto3` inside the children", "", f"{fmt_ms(imp.median)}", ""])
    rows.append(
        [
            "`python -c 'import boto3'` / `python -c pass`",
            f"{fmt_ms(w['import'].median)} / {fmt_ms(w['pass'].median)}",
            "",
            "",
        ]
    )
    section.tables.append(
        Table(
            [
                "how the process gets credentials",
                "whole process p50 / p99",
                "after import boto3 p50 / p99",
                "GetRoleCredentials calls per process",
            ],
            rows,
        )
    )
    pairs = [("b", "a"), ("b", "b-bare"), ("c", "a")] + (
        [("c", "d"), ("c", "d-cold")] if have_cli else []
    )
    ratio_rows = [
        [
            f"{x}/{y}",
            fmt_ratio(ratio(w[x].median, w[y].median)),
            fmt_ratio(ratio(s[x].median, s[y].median)),
            fmt_ratio(ratio(s[y].median, s[x].median)),
        ]
        for x, y in pairs
    ]
    section.tables.append(
        Table(
            [
                "ratio",
                "whole process (with import)",
                "after import boto3",
                "speed-up after import (y/x)",
            ],
            ratio_rows,
        )
    )
    speedup = ratio(s["a"].median, s["b"].median)
    section.verdicts.append(
        Verdict(
            "(b) ECS endpoint ≥ 10x faster than (a) SSO profile, boto3 import taken out",
            f"{fmt_ratio(speedup)} ({fmt_ms(s['b'].median)} vs {fmt_ms(s['a'].median)})",
            speedup >= 10,
        )
    )
    floor = s["floor"].median
    beyond = ratio(s["a"].median - floor, s["b"].median - floor)
    section.verdicts.append(
        Verdict(
            "(b) vs (a) beyond botocore's fixed cost (the floor taken out too)",
            f"{fmt_ratio(beyond)} ({fmt_ms(s['b'].median - floor)} vs "
            f"{fmt_ms(s['a'].median - floor)} above the {fmt_ms(floor)} floor)",
            None,
        )
    )
    section.notes += _notes(reps, options, w, s, have_cli)
    section.data["wall"] = {SHORT.get(k, k): v for k, v in wall.items()}
    section.data["inner"] = {SHORT[k]: inner[k] for k in variants}
    return section


def _notes(
    reps: int, options: Options, w: dict[str, Summary], s: dict[str, Summary], have_cli: bool
) -> list[str]:
    notes = [
        f"{reps} rounds (plus one warm-up round, dropped), each running every variant once in "
        f"rotating order; the emulator adds {options.latency * 1000:g} ms to every AWS call.",
        "'After import boto3' is timed inside the child with perf_counter around "
        "`boto3.Session(...).get_credentials().get_frozen_credentials()`: the import of boto3 "
        f"(median {fmt_ms(s['import'].median)} inside the children; `python -c 'import boto3'` "
        f"takes {fmt_ms(w['import'].median - w['pass'].median)} more than `python -c pass`) is "
        "the same in every variant, so it is taken out this way.",
        "(a) makes one GetRoleCredentials call per process: botocore keeps SSO role credentials "
        "in memory only. (c) and (b) make none: the daemon already holds them.",
        "What remains in (b) is mostly botocore's own work: the floor row (static keys in "
        "environment variables, so nothing to fetch) is what `boto3.Session()` and the "
        f"provider chain cost by themselves ({fmt_ms(s['floor'].median)}); above it, (b) adds "
        "the container provider's HTTP session and one GET that ssod answers in well under a "
        "millisecond (measurement 1). The control row serves the same bytes from the bare "
        f"aiohttp server: {fmt_ms(s['b-bare'].median)} against ssod's {fmt_ms(s['b'].median)}.",
    ]
    if have_cli:
        notes.append(
            "(d) runs Debian's AWS CLI v2 2.9.19 as the credential process. Its SSO endpoint is "
            "pointed at the emulator with AWS_DATA_PATH (see bench/awscli.py). Warm: its "
            "~/.aws/cli/cache holds the role credentials from an earlier run, which is the "
            "usual case; cold: the cache is emptied before each run, so it calls "
            "GetRoleCredentials."
        )
    else:
        notes.append("(d) skipped: Debian's AWS CLI v2 (/usr/bin/aws) is not installed.")
    if shutil.which("taskset"):
        notes.append("Nothing is pinned here: each child may use both cores, as in life.")
    return notes
