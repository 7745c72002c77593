"""One served profile's state: its credentials in memory and their refresh bookkeeping.

Created and mutated by the broker (the credential cache) and its refresher only; read by the
status projection. Role credentials live here, in memory, and nowhere else.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from ssod.daemon.aws.credentials import RoleCredentials
from ssod.daemon.config.awsconfig import ChainedProfile, SsoProfile

Profile = SsoProfile | ChainedProfile


@dataclass
class ServedProfile:
    """One profile's served credentials and their refresh bookkeeping."""

    profile: Profile
    session_key: str
    creds: RoleCredentials | None = None
    issued_at: datetime | None = None
    last_used: datetime | None = None
    last_error: str | None = None
    last_error_code: str | None = None
    fetches: int = 0
    inflight: asyncio.Task[RoleCredentials] | None = None
    refresher: asyncio.Task[None] | None = None
    #: ``(creds, issued_at, schedule.serve_until(...))`` for the creds last asked about: the
    #: ECS hot path compares one datetime instead of redoing the margin arithmetic.
    servable_until: tuple[RoleCredentials, datetime | None, datetime] | None = None
    #: No longer served (a reload removed or changed the profile, or the broker closed): a fetch
    #: still in flight for it answers its waiters, but nothing is refreshed for it any more.
    retired: bool = False
    #: Bumped whenever the credentials are dropped (a logout, a reload, shutdown): a fetch that
    #: began before still answers its waiters, but what it got is not kept or refreshed.
    epoch: int = 0
