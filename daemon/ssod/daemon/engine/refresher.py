"""The background refresh of served role credentials: one task per recently used profile.

A profile's credentials are fetched again shortly before they fall under the margin
(``schedule.credential_refresh_at``), with backoff after failures, for as long as the profile
was used within ``policy.recent_use``; then its task ends and the next request starts it again.
Every wait goes through the injected ``Clock``. The refresher owns every task it starts: a
retired profile gets none, and ``close`` stops them all.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from ssod.daemon.aws.credentials import RoleCredentials
from ssod.daemon.engine import schedule
from ssod.daemon.engine.model import Clock
from ssod.daemon.engine.schedule import RefreshPolicy
from ssod.daemon.engine.served import ServedProfile
from ssod.errors import LoginRequired, SsodError

log = logging.getLogger("ssod.broker")

#: Fetches a profile's credentials through the broker's single flight.
Fetch = Callable[[ServedProfile], Awaitable[RoleCredentials]]


class CredentialRefresher:
    """Keeps recently used profiles' credentials fresh in the background."""

    def __init__(
        self, fetch: Fetch, clock: Clock, policy: RefreshPolicy, rng: random.Random
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._policy = policy
        self._rng = rng
        self._tasks: set[asyncio.Task[None]] = set()

    def ensure(self, served: ServedProfile) -> None:
        """Start ``served``'s refresh task unless it runs or the profile is retired."""
        if served.retired or (served.refresher is not None and not served.refresher.done()):
            return
        task = asyncio.create_task(self._loop(served), name=f"refresh {served.profile.name}")
        served.refresher = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stop(self, served: ServedProfile) -> None:
        """Stop ``served``'s refresh task, if any."""
        if served.refresher is not None:
            served.refresher.cancel()
            served.refresher = None

    async def close(self) -> None:
        """Stop every refresh task this refresher started, and wait until they have ended."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self, served: ServedProfile) -> None:
        """Fetch new credentials before the old fall under the margin, while the profile is used."""
        failures = 0
        retry_at = None  # after a failure: when to try again (backoff), instead of the schedule
        while True:
            creds, issued = served.creds, served.issued_at
            if creds is None or served.retired:
                return
            due = retry_at or schedule.credential_refresh_at(
                creds.expiration, issued, self._policy, self._rng
            )
            now = self._clock.now()
            if due > now:
                await self._clock.sleep(schedule.sleep_for(due, now))
                continue
            last_used = served.last_used
            if last_used is None or now - last_used > self._policy.recent_use:
                log.info("event=refresh_idle_profile_stopped profile=%s", served.profile.name)
                served.refresher = None
                return
            try:
                await self._fetch(served)
                failures, retry_at = 0, None
            except LoginRequired:
                served.refresher = None
                return
            except SsodError as err:
                failures += 1
                retry_at = self._clock.now() + schedule.backoff(failures, self._policy, self._rng)
                log.warning(
                    "event=background_refresh_failed profile=%s failures=%d error=%r",
                    served.profile.name,
                    failures,
                    err.message,
                )
            if served.creds is creds and not failures:
                return  # nothing new to schedule from; the next request will restart us
