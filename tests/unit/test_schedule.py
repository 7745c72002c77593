"""The refresh schedule: margins, short lifetimes, jitter bounds, backoff and sleep caps."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from ssod.daemon.engine import schedule
from ssod.daemon.engine.schedule import RefreshPolicy

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NO_JITTER = RefreshPolicy(jitter=timedelta(0))


UNKNOWN = None  # a token read from the cache: ssod did not see its CreateToken answer


@pytest.mark.parametrize(
    ("lifetime", "left", "expected_before_expiry", "why"),
    [
        # Observed lifetimes (ssod's own CreateToken): the margin shrinks only for short ones.
        (timedelta(hours=8), timedelta(hours=8), timedelta(minutes=20), "full margin"),
        (timedelta(hours=1), timedelta(hours=1), timedelta(minutes=20), "full margin"),
        (timedelta(minutes=30), timedelta(minutes=30), timedelta(minutes=15), "halved to 15m"),
        (timedelta(minutes=12), timedelta(minutes=12), timedelta(minutes=6), "halved to 6m"),
        (timedelta(seconds=60), timedelta(seconds=60), timedelta(seconds=30), "halved to 30s"),
        (timedelta(0), timedelta(0), timedelta(0), "halved to 0s"),
        # Adopted tokens (the AWS CLI, an SDK, an earlier ssod run): lifetime unknown, full
        # margin, however little is left (issue 11: a 12-minute CLI token waited 6 minutes).
        (UNKNOWN, timedelta(hours=8), timedelta(minutes=20), "lifetime unknown: full margin"),
        (UNKNOWN, timedelta(minutes=30), timedelta(minutes=20), "lifetime unknown: full margin"),
        (UNKNOWN, timedelta(minutes=12), timedelta(minutes=20), "lifetime unknown: full margin"),
        (UNKNOWN, timedelta(seconds=60), timedelta(minutes=20), "lifetime unknown: full margin"),
    ],
)
def test_token_refresh_margin(
    lifetime: timedelta | None, left: timedelta, expected_before_expiry: timedelta, why: str
) -> None:
    plan = schedule.token_refresh_plan(T0 + left, lifetime, NO_JITTER)
    assert T0 + left - plan.at == expected_before_expiry
    assert plan.margin == expected_before_expiry
    assert why in plan.why


@pytest.mark.parametrize(
    ("lifetime", "left", "due_now"),
    [
        (UNKNOWN, timedelta(minutes=12), True),  # CLI token inside botocore's window: at once
        (UNKNOWN, timedelta(minutes=19), True),
        (UNKNOWN, timedelta(minutes=21), False),
        (UNKNOWN, timedelta(minutes=40), False),  # half-spent 1-hour token after a restart
        (timedelta(minutes=12), timedelta(minutes=12), False),  # ssod's own 12-minute token
        (timedelta(minutes=12), timedelta(minutes=5), True),
        (timedelta(hours=1), timedelta(minutes=12), True),
    ],
)
def test_refresh_is_due_at_once_under_the_margin(
    lifetime: timedelta | None, left: timedelta, due_now: bool
) -> None:
    for seed in range(10):  # jitter only ever makes a refresh earlier
        policy = RefreshPolicy()
        plan = schedule.token_refresh_plan(T0 + left, lifetime, policy, random.Random(seed))
        assert (plan.at <= T0) is due_now


def test_observed_short_lifetime_refreshes_once_per_lifetime() -> None:
    # A refresh of a token ssod obtained lands half-way through its life, never at once: the
    # next token (same lifetime) is refreshed half-way again, so refreshes never chase each other.
    lifetime = timedelta(seconds=10)
    now, refreshes = T0, 0
    while now < T0 + timedelta(seconds=100):
        plan = schedule.token_refresh_plan(now + lifetime, lifetime, RefreshPolicy())
        assert plan.at > now
        now, refreshes = plan.at, refreshes + 1
    assert 20 <= refreshes <= 23  # 100 s / (5 s less at most 0.5 s jitter)


def test_token_refresh_is_before_botocores_window_by_default() -> None:
    for lifetime in (timedelta(hours=8), UNKNOWN):
        plan = schedule.token_refresh_plan(T0 + timedelta(hours=8), lifetime, RefreshPolicy())
        assert T0 + timedelta(hours=8) - plan.at > schedule.BOTOCORE_TOKEN_WINDOW


def test_token_already_inside_margin_is_due_now() -> None:
    # A token with 5 minutes left, of a lifetime ssod saw (8 hours): the refresh time is past.
    expires = T0 + timedelta(minutes=5)
    at = schedule.token_refresh_plan(expires, timedelta(hours=8), NO_JITTER).at
    assert at <= T0


@pytest.mark.parametrize("seed", range(20))
def test_jitter_only_makes_refresh_earlier_and_is_bounded(seed: int) -> None:
    policy = RefreshPolicy(jitter=timedelta(seconds=30))
    expires = T0 + timedelta(hours=8)
    at = schedule.token_refresh_plan(expires, timedelta(hours=8), policy, random.Random(seed)).at
    assert expires - timedelta(minutes=20, seconds=30) <= at <= expires - timedelta(minutes=20)


@pytest.mark.parametrize(
    ("lifetime", "margin", "lead"),
    [
        (timedelta(hours=1), timedelta(minutes=15), timedelta(minutes=5)),
        (timedelta(hours=12), timedelta(minutes=15), timedelta(minutes=5)),
        (timedelta(minutes=20), timedelta(minutes=10), timedelta(minutes=5)),
        (timedelta(seconds=40), timedelta(seconds=20), timedelta(seconds=10)),
    ],
)
def test_credential_refresh_happens_before_the_margin(
    lifetime: timedelta, margin: timedelta, lead: timedelta
) -> None:
    expires = T0 + lifetime
    at = schedule.credential_refresh_at(expires, T0, NO_JITTER)
    assert expires - at == margin + lead
    # At the refresh time the old credentials are still servable.
    assert at - timedelta(seconds=1) < schedule.serve_until(expires, T0, NO_JITTER)


@pytest.mark.parametrize(
    ("left", "servable_now", "refresh_due_now"),
    [
        # Role credentials whose issue time is unknown: full margin (15 min) and lead (5 min).
        (timedelta(hours=1), True, False),
        (timedelta(minutes=21), True, False),
        (timedelta(minutes=19), True, True),
        (timedelta(minutes=16), True, True),
        (timedelta(minutes=14), False, True),
    ],
)
def test_credentials_of_unknown_issue_time_get_the_full_margin(
    left: timedelta, servable_now: bool, refresh_due_now: bool
) -> None:
    expires = T0 + left
    assert (schedule.serve_until(expires, None, NO_JITTER) > T0) is servable_now
    assert (schedule.credential_refresh_at(expires, None, NO_JITTER) <= T0) is refresh_due_now


def test_serving_stops_at_the_margin() -> None:
    expires = T0 + timedelta(hours=1)
    until = schedule.serve_until(expires, T0, NO_JITTER)
    assert expires - timedelta(minutes=16) < until
    assert not expires - timedelta(minutes=15) < until


@pytest.mark.parametrize(
    ("failures", "low", "high"),
    [
        (0, 0.0, 0.0),
        (1, 1.0, 2.0),
        (2, 2.0, 4.0),
        (3, 4.0, 8.0),
        (10, 60.0, 120.0),
        (1000, 60.0, 120.0),
    ],
)
def test_backoff_is_exponential_and_capped(failures: int, low: float, high: float) -> None:
    for seed in range(10):
        delay = schedule.backoff(failures, RefreshPolicy(), random.Random(seed)).total_seconds()
        assert low <= delay <= high


@pytest.mark.parametrize(
    ("failures", "low", "high"),
    [(1, 0.125, 0.25), (2, 0.25, 0.5), (4, 1.0, 2.0), (6, 4.0, 8.0), (50, 4.0, 8.0)],
)
def test_listing_pauses_after_throttling_are_short_and_capped(
    failures: int, low: float, high: float
) -> None:
    policy = schedule.ListingPolicy()
    for seed in range(10):
        delay = schedule.backoff(failures, policy, random.Random(seed)).total_seconds()
        assert low <= delay <= high
    # every try the policy allows, paused for at worst: a listing gives up within seconds
    worst = sum(
        min(policy.backoff_max, policy.backoff_base * 2 ** (n - 1)).total_seconds()
        for n in range(1, policy.attempts)
    )
    assert worst <= 5.0


@pytest.mark.parametrize(
    ("wake_in", "expected"),
    [
        (timedelta(seconds=-5), 0.0),
        (timedelta(seconds=5), 5.0),
        (timedelta(hours=3), schedule.MAX_SLEEP.total_seconds()),
    ],
)
def test_sleep_for_is_capped(wake_in: timedelta, expected: float) -> None:
    assert schedule.sleep_for(T0 + wake_in, T0) == expected
