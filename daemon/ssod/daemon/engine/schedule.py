"""When to refresh: the only home of ssod's margins, jitter and backoff.

Pure functions of (expiry, now, policy). The broker asks them when to wake up; nothing here
sleeps or reads a clock. Defaults follow docs/protocols.md sections 4 and 10: botocore starts its
own token refresh 15 minutes before expiry and re-fetches container credentials with under 15
minutes left, so ssod refreshes tokens by 20 minutes before expiry and serves role credentials
with more than 15 minutes left.

A margin shrinks only for a lifetime ssod observed itself (the ``expiresIn`` of its own
CreateToken, the expiration of credentials it fetched): then it is at most half the lifetime, so
a refresh can never chase its own tail. A token found in the cache (written by the AWS CLI, an
SDK or an earlier ssod run) has no issue time, and its lifetime is unknown: it gets the full
margin, so one found with less than the margin left is refreshed at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

#: botocore refreshes an SSO token when fewer than this remain (BC tokens.py _REFRESH_WINDOW).
BOTOCORE_TOKEN_WINDOW = timedelta(minutes=15)

#: The longest the broker sleeps before re-checking the wall clock. Monotonic sleeps do not
#: advance while a laptop is suspended, so a wake-up re-evaluates everything at most this late.
MAX_SLEEP = timedelta(seconds=60)
#: How soon a token the cache file could not take (a full disk) is written again.
CACHE_WRITE_RETRY = timedelta(seconds=10)


@dataclass(frozen=True)
class RefreshPolicy:
    """Margins, jitter and backoff for token and credential refresh."""

    #: Refresh an SSO token no later than this before it expires.
    token_margin: timedelta = timedelta(minutes=20)
    #: Never serve role credentials with less than this left.
    credential_margin: timedelta = timedelta(minutes=15)
    #: Refresh role credentials in the background this long before they fall under the margin.
    credential_lead: timedelta = timedelta(minutes=5)
    #: Spread refreshes randomly over up to this much earlier, so many sessions don't align.
    jitter: timedelta = timedelta(seconds=30)
    #: First retry delay after a failed refresh; doubles per failure up to backoff_max.
    backoff_base: timedelta = timedelta(seconds=2)
    backoff_max: timedelta = timedelta(minutes=2)
    #: Profiles used within this window have their credentials refreshed in the background.
    recent_use: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class RefreshPlan:
    """When to refresh, and why then: ``why`` is what ``ssod status`` shows."""

    at: datetime
    margin: timedelta
    why: str


def _effective_margin(margin: timedelta, lifetime: timedelta | None) -> timedelta:
    """The margin, shrunk to half an observed lifetime too short for it; full when unknown."""
    if lifetime is None:
        return margin
    if lifetime <= timedelta(0):
        return timedelta(0)
    return min(margin, lifetime / 2)


def token_refresh_plan(
    expires_at: datetime,
    lifetime: timedelta | None,
    policy: RefreshPolicy,
    rng: random.Random | None = None,
) -> RefreshPlan:
    """When to refresh a token that expires at ``expires_at``.

    ``lifetime`` is the ``expiresIn`` ssod saw in its own CreateToken answer, or None for a
    token read from the cache (lifetime unknown). The result may lie in the past (refresh now).
    """
    margin = _effective_margin(policy.token_margin, lifetime)
    jitter = _jitter(policy.jitter, margin, rng)
    if lifetime is None:
        why = "lifetime unknown: full margin"
    elif margin < policy.token_margin:
        why = f"observed lifetime {_span(lifetime)}: margin halved to {_span(margin)}"
    else:
        why = f"observed lifetime {_span(lifetime)}: full margin"
    return RefreshPlan(at=expires_at - margin - jitter, margin=margin, why=why)


def credential_refresh_at(
    expires_at: datetime,
    issued_at: datetime | None,
    policy: RefreshPolicy,
    rng: random.Random | None = None,
) -> datetime:
    """When to fetch new role credentials in the background, before they fall under the margin.

    ``issued_at`` is when ssod received them, or None when their issue time is unknown: then
    the lifetime is unknown too, and the full margin and lead apply.
    """
    lifetime = None if issued_at is None else expires_at - issued_at
    margin = _effective_margin(policy.credential_margin, lifetime)
    lead = policy.credential_lead
    if lifetime is not None:
        lead = min(lead, (lifetime - margin) / 2)
    jitter = _jitter(policy.jitter, lead, rng)
    return expires_at - margin - lead + jitter


def serve_until(
    expires_at: datetime, issued_at: datetime | None, policy: RefreshPolicy
) -> datetime:
    """The moment credentials stop being servable (:func:`servable` is ``now`` before it)."""
    lifetime = None if issued_at is None else expires_at - issued_at
    return expires_at - _effective_margin(policy.credential_margin, lifetime)


@dataclass(frozen=True)
class ListingPolicy:
    """How every account's roles are listed (``ssod roles``): a few calls at a time, and a
    pause for the whole listing whenever the portal throttles one (TooManyRequests)."""

    #: Portal calls in flight at once.
    concurrency: int = 8
    #: Tries of one call the portal keeps throttling (each already retried once by botocore).
    attempts: int = 5
    #: The pause after a throttled call; doubles per throttled try of that call, up to the max.
    backoff_base: timedelta = timedelta(milliseconds=250)
    backoff_max: timedelta = timedelta(seconds=8)


def backoff(
    failures: int, policy: RefreshPolicy | ListingPolicy, rng: random.Random | None = None
) -> timedelta:
    """Delay before retry number ``failures`` (1-based): exponential, capped, with full jitter."""
    if failures < 1:
        return timedelta(0)
    ceiling = min(policy.backoff_max, policy.backoff_base * (1 << min(failures - 1, 30)))
    fraction = (rng or random.Random()).uniform(0.5, 1.0)  # noqa: S311 (jitter, not a secret)
    return ceiling * fraction


def sleep_for(wake_at: datetime, now: datetime) -> float:
    """Seconds to sleep until ``wake_at``, never negative and never past MAX_SLEEP."""
    delta = wake_at - now
    return max(0.0, min(delta, MAX_SLEEP).total_seconds())


def _jitter(limit: timedelta, room: timedelta, rng: random.Random | None) -> timedelta:
    """A random amount up to ``limit`` but at most a tenth of ``room``."""
    bound = min(limit, room / 10)
    if bound <= timedelta(0):
        return timedelta(0)
    return bound * (rng or random.Random()).random()  # noqa: S311 (jitter, not a secret)


def _span(delta: timedelta) -> str:
    """A duration as ``8h``, ``20m``, ``1h30m`` or ``45s`` (whole seconds)."""
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = ((hours, "h"), (minutes, "m"), (secs, "s"))
    return "".join(f"{value}{unit}" for value, unit in parts if value) or "0s"
