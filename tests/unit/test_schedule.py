"""The refresh schedule: margins, short lifetimes, jitter bounds, backoff and sleep caps."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from ssod.daemon import schedule
from ssod.daemon.schedule import RefreshPolicy

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NO_JITTER = RefreshPolicy(jitter=timedelta(0))


@pytest.mark.parametrize(
    ("lifetime", "expected_before_expiry"),
    [
        (timedelta(hours=8), timedelta(minutes=20)),  # the default margin
        (timedelta(hours=1), timedelta(minutes=20)),
        (timedelta(minutes=30), timedelta(minutes=15)),  # half the lifetime
        (timedelta(seconds=60), timedelta(seconds=30)),
        (timedelta(0), timedelta(0)),
    ],
)
def test_token_refresh_margin(lifetime: timedelta, expected_before_expiry: timedelta) -> None:
    at = schedule.token_refresh_at(T0 + lifetime, T0, NO_JITTER)
    assert T0 + lifetime - at == expected_before_expiry


def test_token_refresh_is_before_botocores_window_by_default() -> None:
    at = schedule.token_refresh_at(T0 + timedelta(hours=8), T0, RefreshPolicy())
    assert T0 + timedelta(hours=8) - at > schedule.BOTOCORE_TOKEN_WINDOW


def test_token_already_inside_margin_is_due_now() -> None:
    # A token obtained long ago with 5 minutes left: the refresh time is already past.
    expires = T0 + timedelta(minutes=5)
    at = schedule.token_refresh_at(expires, T0 - timedelta(hours=8), NO_JITTER)
    assert at <= T0


@pytest.mark.parametrize("seed", range(20))
def test_jitter_only_makes_refresh_earlier_and_is_bounded(seed: int) -> None:
    policy = RefreshPolicy(jitter=timedelta(seconds=30))
    expires = T0 + timedelta(hours=8)
    at = schedule.token_refresh_at(expires, T0, policy, random.Random(seed))
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
    assert schedule.servable(expires, T0, at - timedelta(seconds=1), NO_JITTER)


def test_servable_respects_the_margin() -> None:
    expires = T0 + timedelta(hours=1)
    assert schedule.servable(expires, T0, expires - timedelta(minutes=16), NO_JITTER)
    assert not schedule.servable(expires, T0, expires - timedelta(minutes=15), NO_JITTER)
    assert not schedule.servable(expires, T0, expires + timedelta(seconds=1), NO_JITTER)


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
    ("wake_in", "expected"),
    [
        (timedelta(seconds=-5), 0.0),
        (timedelta(seconds=5), 5.0),
        (timedelta(hours=3), schedule.MAX_SLEEP.total_seconds()),
    ],
)
def test_sleep_for_is_capped(wake_in: timedelta, expected: float) -> None:
    assert schedule.sleep_for(T0 + wake_in, T0) == expected
