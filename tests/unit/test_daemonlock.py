"""The lock files' content: what a holder writes and how it is read back (older forms too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssod.daemonlock import Holder, format_holder, held_by, parse_holder


@pytest.mark.parametrize(
    ("data", "holder"),
    [
        (b"42\nservice\n/run/user/1/ssod\n", Holder(42, "service", "/run/user/1/ssod")),
        (b"42\nforeground\n", Holder(42, "foreground", None)),  # a daemon before the HOME lock
        (b"42\n", Holder(42, None, None)),
        (b"", Holder(None, None, None)),
        (b"x1\nautostart\n", Holder(None, "autostart", None)),
        (b"\xff\xfe", Holder(None, None, None)),
        (b"\xd9\xa3\n", Holder(None, None, None)),  # a non-ASCII digit is no pid
    ],
)
def test_parse_holder(data: bytes, holder: Holder) -> None:
    assert parse_holder(data) == holder


def test_format_then_parse_round_trips() -> None:
    data = format_holder(7, "autostart", Path("/tmp/ssod rt"))
    assert data == b"7\nautostart\n/tmp/ssod rt\n"
    assert parse_holder(data) == Holder(7, "autostart", "/tmp/ssod rt")


def test_an_unheld_or_missing_lock_has_no_holder(tmp_path: Path) -> None:
    assert held_by(tmp_path / "none") is None
    (tmp_path / "lock").write_bytes(format_holder(7, "autostart"))
    assert held_by(tmp_path / "lock") is None
