"""Load generators for test_load.py, run as separate processes so they don't share a GIL.

``python load_clients.py ecs URL TOKEN_FILE PROFILES SECONDS MARGIN CLIENTS`` runs CLIENTS
concurrent keep-alive HTTP clients against the ECS endpoint; ``python load_clients.py ipc
ENDPOINT PROFILES SECONDS MARGIN CLIENTS`` runs CLIENTS threads asking over IPC for
credentials and status. Each prints one JSON summary: answers by kind, the least time left on
any credentials served, the slowest answer and the first few problems. It judges each answer
the way test_load.py's rules say but asserts nothing itself.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class Tally:
    """What the clients of one process saw."""

    def __init__(self, margin: float) -> None:
        self.margin = margin
        self.answers: Counter[str] = Counter()
        self.problems: list[str] = []
        self.least_left = float("inf")
        self.slowest = 0.0
        self._lock = threading.Lock()

    def credentials(self, expiration: str, took: float) -> None:
        """Credentials were served: they must have more than the margin left."""
        left = (
            datetime.strptime(expiration, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            - datetime.now(UTC)
        ).total_seconds()
        with self._lock:
            self.answers["200"] += 1
            self.least_left = min(self.least_left, left)
            self.slowest = max(self.slowest, took)
            if left <= self.margin - 1.0:  # Expiration is truncated to whole seconds
                self.problem(f"credentials with {left:.1f}s left")

    def other(self, kind: str, took: float, detail: str = "") -> None:
        """Any other answer, or none."""
        with self._lock:
            self.answers[kind] += 1
            self.slowest = max(self.slowest, took)
            if detail:
                self.problem(f"{kind}: {detail}")

    def problem(self, text: str) -> None:
        if len(self.problems) < 10:
            self.problems.append(text)

    def summary(self) -> dict[str, Any]:
        return {
            "answers": dict(self.answers),
            "least_left": self.least_left,
            "slowest": self.slowest,
            "problems": self.problems,
        }


async def ecs_load(
    url: str, token: str, profiles: list[str], seconds: float, tally: Tally, clients: int
) -> None:
    import aiohttp

    deadline = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=5)

    async def client(number: int) -> None:
        # One connection per client, kept alive, as an SDK process holds one.
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            turn = number
            while time.monotonic() < deadline:
                profile = profiles[turn % len(profiles)]
                turn += 1
                started = time.monotonic()
                try:
                    async with http.get(
                        f"{url}/credentials/{profile}", headers={"Authorization": token}
                    ) as resp:
                        body = await resp.json(content_type=None)
                        took = time.monotonic() - started
                        if resp.status == 200:
                            tally.credentials(body["Expiration"], took)
                        else:
                            kind = f"{resp.status} {body.get('code')}"
                            tally.other(kind, took, str(body.get("message", ""))[:200])
                except (aiohttp.ClientError, TimeoutError, ValueError) as err:
                    tally.other("no answer", time.monotonic() - started, repr(err)[:200])

    await asyncio.gather(*(client(n) for n in range(clients)))


def ipc_load(
    endpoint: str, profiles: list[str], seconds: float, tally: Tally, clients: int
) -> None:
    from ssod.client.ipc import IpcClient
    from ssod.errors import SsodError
    from ssod.wire import Op

    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        with IpcClient(endpoint, timeout=5.0) as ipc:
            turn = number
            while time.monotonic() < deadline:
                turn += 1
                started = time.monotonic()
                try:
                    if turn % 4 == 0:
                        ipc.request(Op.STATUS)
                        tally.other("status", time.monotonic() - started)
                    else:
                        profile = profiles[turn % len(profiles)]
                        creds = ipc.request(Op.CREDENTIALS, profile=profile)
                        tally.credentials(str(creds["Expiration"]), time.monotonic() - started)
                except SsodError as err:
                    tally.other(f"error {err.code}", time.monotonic() - started, err.message)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main(argv: list[str]) -> int:
    """Run one load generator and print its summary."""
    kind = argv[0]
    if kind == "ecs":
        url, token_file, profiles, seconds, margin, clients = argv[1:7]
        tally = Tally(float(margin))
        token = Path(token_file).read_text()
        asyncio.run(ecs_load(url, token, profiles.split(","), float(seconds), tally, int(clients)))
    else:
        endpoint, profiles, seconds, margin, clients = argv[1:6]
        tally = Tally(float(margin))
        ipc_load(endpoint, profiles.split(","), float(seconds), tally, int(clients))
    print(json.dumps(tally.summary()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
