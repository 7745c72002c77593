"""Interop fixtures and the end-of-run summary: AWS call counts per client, and the time taken.

Owns ``record_workload`` (tests hand it a ``WorkloadRow``) and the terminal summary hook, which
prints the rows and how long the interop tests took whatever ``-s`` says. Rows live in the
pytest config's stash, not in module state. Starting clients and daemons is the tests' job.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from interop.workload import WorkloadRow

_ROWS = pytest.StashKey[list[WorkloadRow]]()


@pytest.fixture
def record_workload(pytestconfig: pytest.Config) -> Callable[[WorkloadRow], None]:
    """Add a row to the summary printed at the end of the run."""
    return pytestconfig.stash.setdefault(_ROWS, []).append


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """Print the workload rows and the interop tests' total time."""
    reports = [
        r
        for category in terminalreporter.stats.values()
        for r in category
        if isinstance(r, pytest.TestReport) and "interop" in r.keywords
    ]
    if not reports:
        return
    tests = {r.nodeid for r in reports}
    seconds = sum(r.duration for r in reports)
    terminalreporter.write_sep("-", "ssod interop")
    for row in config.stash.get(_ROWS, []):
        terminalreporter.write_line(row.line())
    terminalreporter.write_line(f"interop: {len(tests)} tests took {seconds:.1f}s")
