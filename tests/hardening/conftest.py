"""The hardening suite's pytest glue: a failing test shows the tail of its daemon's log."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from harness import DaemonHarness

#: Enough of the log to see the last refreshes and errors without flooding the report.
LOG_TAIL_LINES = 80


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the daemon log's tail to the report of a failed test that ran a daemon."""
    report = yield
    funcargs = getattr(item, "funcargs", {})
    harness = funcargs.get("ssod_daemon")
    if report.failed and isinstance(harness, DaemonHarness):
        # Per-request access-log lines would drown the refreshes and errors.
        noise = ("event=ecs_request", "request op=status ")
        lines = [line for line in harness.log().splitlines() if not any(n in line for n in noise)]
        tail = "\n".join(lines[-LOG_TAIL_LINES:])
        report.sections.append(("daemon log (tail)", tail))
    return report
