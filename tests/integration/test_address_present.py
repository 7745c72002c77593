"""Whether an address is (still) on this host: a real bind, as the listeners ask it."""

from __future__ import annotations

import pytest

from ssod.daemon.serve.http.listeners import address_present


@pytest.mark.parametrize(
    ("host", "present"),
    [
        ("127.0.0.1", True),
        ("192.0.2.77", False),  # TEST-NET-1: on no host
        ("169.254.170.99", False),  # link-local, not configured here
    ],
)
def test_address_present(host: str, present: bool) -> None:
    assert address_present(host) is present
