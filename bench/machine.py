"""The machine a benchmark ran on: kernel, CPU model, cores, memory, Python and tool versions.

Read-only: it runs ``--version`` style commands and reads /proc, nothing else.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

#: Debian's AWS CLI v2 (2.9.19 in bookworm): the comparison users would reach for.
AWS_CLI_V2 = "/usr/bin/aws"


def _first_line(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not available"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "not available"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory() -> str:
    """Total memory from /proc/meminfo."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def loadavg() -> tuple[float, float, float]:
    """The 1-, 5- and 15-minute load averages."""
    return os.getloadavg()


def aws_cli_v2_version() -> str | None:
    """The Debian AWS CLI v2's version line, or None when it is not installed."""
    if not Path(AWS_CLI_V2).exists():
        return None
    line = _first_line([AWS_CLI_V2, "--version"])
    return line if line.startswith("aws-cli/2.") else None


def describe() -> list[tuple[str, str]]:
    """(name, value) pairs describing this machine and the tools measured."""
    import aiohttp
    import botocore

    wrk = shutil.which("wrk")
    return [
        ("uname -a", _first_line(["uname", "-a"])),
        ("CPU", cpu_model()),
        ("cores", str(os.cpu_count())),
        ("memory", memory()),
        ("Python", sys.version.split()[0] + f" ({sys.executable})"),
        ("aiohttp", aiohttp.__version__),
        ("botocore (boto3's)", botocore.__version__),
        ("AWS CLI v2", aws_cli_v2_version() or "not installed"),
        ("wrk", _first_line([wrk, "-v"]) if wrk else "not installed"),
        ("taskset", "yes" if shutil.which("taskset") else "no"),
    ]
