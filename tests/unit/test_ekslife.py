"""``ekslife``: the EKS token lifetime rules, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ssod.daemon.engine import ekslife

T0 = datetime(2026, 12, 5, 18, 0, 0, 400000, tzinfo=UTC)
M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("credentials_left", "end_after"),
    [
        (60 * M, 14 * M),  # plenty: the CLI's 14 minutes
        (16 * M, 14 * M),
        (15 * M, 14 * M),  # exactly: 14 minutes either way
        (10 * M, 9 * M),  # short: a minute before the credentials
        (90 * timedelta(seconds=1), timedelta(seconds=30)),
    ],
)
def test_token_end(credentials_left: timedelta, end_after: timedelta) -> None:
    end = ekslife.token_end(T0, T0 + credentials_left)
    assert end == (T0 + end_after).replace(microsecond=0)
    assert end.microsecond == 0


@pytest.mark.parametrize(
    ("now_after", "reusable"),
    [(0 * M, True), (12 * M, True), (13 * M - timedelta(seconds=1), True), (13 * M, False)],
)
def test_reusable_until_a_minute_before_the_end(now_after: timedelta, reusable: bool) -> None:
    end = T0 + 14 * M
    assert ekslife.reusable(end, T0 + now_after) is reusable


@pytest.mark.parametrize(
    ("left", "fit"), [(60 * M, True), (15 * M, True), (15 * M - timedelta(seconds=1), False)]
)
def test_fit_to_sign(left: timedelta, fit: bool) -> None:
    assert ekslife.fit_to_sign(T0 + left, T0) is fit


def test_never_a_time_already_past() -> None:
    end = ekslife.token_end(T0, T0 + 30 * timedelta(seconds=1))
    assert not ekslife.printable(end, T0)
    assert ekslife.printable(ekslife.token_end(T0, T0 + 2 * M), T0)
