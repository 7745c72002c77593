"""Closed-loop HTTP load: ``wrk`` when installed, else this module's own asyncio client.

Owns one load run: N keep-alive connections each sending its next GET as soon as the last
answer arrives, for a fixed time, then throughput, errors, latency quantiles and the load
generator's own CPU time (from ``wait4``, to show it was not the bottleneck). The generator is
a subprocess pinned to its own CPU when it can be. ``python -m bench.loadgen URL ...`` is the
fallback client; it prints the same ``BENCH_JSON`` line as bench/wrk_report.lua.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.httpclient import Connection, Target
from bench.launcher import pinned
from bench.stats import percentile

WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")
_MARKER = "BENCH_JSON "
_QUANTILES = [*range(1, 100), 99.5, 99.9, 99.99]


@dataclass(frozen=True)
class LoadRun:
    """One load run's results; latencies in seconds."""

    requests: int
    seconds: float
    errors: int
    p50: float
    p99: float
    cdf: list[tuple[float, float]]  # (quantile in %, latency in seconds)
    generator_cpu: float  # CPU seconds the load generator used

    @property
    def throughput(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds


def generator_name() -> str:
    """``wrk`` when installed, else ``asyncio`` (bench.loadgen)."""
    return "wrk" if shutil.which("wrk") else "asyncio"


def command(url: str, connections: int, seconds: float, generator: str) -> list[str]:
    """The load generator's command line (no secret in it: the token comes from a file)."""
    if generator == "wrk":
        return [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "5s",
            "-s",
            str(WRK_SCRIPT),
            url,
        ]
    return [sys.executable, "-m", "bench.loadgen", url, str(connections), f"{seconds:g}"]


def run(
    url: str,
    connections: int,
    seconds: float,
    token_file: str | None,
    *,
    cpu: int | None = None,
    generator: str | None = None,
) -> LoadRun:
    """Load ``url`` with ``connections`` connections for ``seconds``."""
    generator = generator or generator_name()
    env = dict(os.environ, BENCH_TOKEN_FILE=token_file or "")
    before = os.times()
    proc = subprocess.Popen(
        pinned(command(url, connections, seconds, generator), cpu),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = proc.communicate(timeout=seconds + 60)
    after = os.times()  # the reaped child's CPU time is now in the children's totals
    used = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    line = next((ln for ln in stdout.splitlines() if ln.startswith(_MARKER)), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"{generator} failed ({proc.returncode}): {stderr[-500:]}")
    data: dict[str, Any] = json.loads(line[len(_MARKER) :])
    lat = data["latency_us"]
    return LoadRun(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        errors=sum(int(v) for v in data["errors"].values()),
        p50=lat["p50"] / 1e6,
        p99=lat["p99"] / 1e6,
        cdf=[(float(q), us / 1e6) for q, us in data["cdf"]],
        generator_cpu=used,
    )


# -- the fallback client (python -m bench.loadgen) ---------------------------------------------


async def _worker(target: Target, until: float, latencies: list[float], errors: list[int]) -> None:
    conn = Connection(target)
    try:
        while time.perf_counter() < until:
            start = time.perf_counter()
            try:
                ((status, _body),) = await conn.get()
            except (OSError, asyncio.IncompleteReadError):
                errors[0] += 1
                await conn.close()
                continue
            latencies.append(time.perf_counter() - start)
            if status != 200:
                errors[0] += 1
    finally:
        await conn.close()


async def _load(url: str, connections: int, seconds: float) -> dict[str, Any]:
    token_file = os.environ.get("BENCH_TOKEN_FILE")
    token = Path(token_file).read_text() if token_file else None
    target = Target.for_url(url, token)
    latencies: list[float] = []
    errors = [0]
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(_worker(target, until, latencies, errors) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    us = [x * 1e6 for x in latencies] or [0.0]
    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "errors": {"status": errors[0]},
        "latency_us": {"p50": percentile(us, 50), "p99": percentile(us, 99)},
        "cdf": [[q, percentile(us, q)] for q in _QUANTILES],
    }


def main() -> None:
    """The fallback load generator's command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("connections", type=int)
    parser.add_argument("seconds", type=float)
    args = parser.parse_args()
    result = asyncio.run(_load(args.url, args.connections, args.seconds))
    print(_MARKER + json.dumps(result))


if __name__ == "__main__":
    main()
