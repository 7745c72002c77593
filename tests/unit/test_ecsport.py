"""Which ports a user's daemon tries for its ECS endpoint (``ecsport.candidates``), table-driven."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssod.daemon.serve import ecsport
from ssod.daemon.serve.ecsport import PER_USER_BASE, PER_USER_SPAN, PER_USER_TRIES


@pytest.mark.parametrize(
    ("saved", "preferred", "uid", "head"),
    [
        (None, 9179, 0, [9179, 20000, 20001]),  # first start: 9179, then this user's own
        (23456, 9179, 0, [23456, 9179, 20000]),  # the kept port first: shells exported it
        (9179, 9179, 0, [9179, 20000, 20001]),  # no port twice
        (None, 9179, 1000, [9179, 20000 + (1000 * 7919) % PER_USER_SPAN]),
        (None, 40000, 1001, [40000, 20000 + (1001 * 7919) % PER_USER_SPAN]),  # tests' own
    ],
)
def test_candidates(saved: int | None, preferred: int, uid: int, head: list[int]) -> None:
    ports = ecsport.candidates(saved, preferred, uid)
    assert ports[: len(head)] == head
    assert ports[-1] == 0  # the system picks a free one when all else is taken
    assert len(ports) == len(set(ports))
    own = [p for p in ports if p not in (saved, preferred, 0)]
    assert len(own) == PER_USER_TRIES
    assert all(PER_USER_BASE <= p < PER_USER_BASE + PER_USER_SPAN for p in own)


def test_neighbouring_users_get_different_ports() -> None:
    ports = {ecsport.per_user_port(uid) for uid in range(1000, 1100)}
    assert len(ports) == 100


def test_own_ports_wrap_inside_the_span() -> None:
    uid = next(u for u in range(100000) if ecsport.per_user_port(u) == PER_USER_BASE + 9999)
    own = ecsport.candidates(None, 9179, uid)[1:-1]
    assert own[:2] == [PER_USER_BASE + 9999, PER_USER_BASE]


@pytest.mark.parametrize(
    ("content", "port"),
    [
        (b"23456\n", 23456),
        (b"9179", 9179),
        (b"", None),
        (b"0\n", None),
        (b"65536\n", None),
        (b"-1\n", None),
        (b"port\n", None),
        (b"\xff\xfe", None),
    ],
)
def test_read_saved(tmp_path: Path, content: bytes, port: int | None) -> None:
    path = tmp_path / "ecs-port"
    path.write_bytes(content)
    assert ecsport.read_saved(path) == port


def test_read_saved_missing_or_not_a_file(tmp_path: Path) -> None:
    assert ecsport.read_saved(tmp_path / "absent") is None
    assert ecsport.read_saved(tmp_path) is None  # a directory


@pytest.mark.parametrize(
    ("flag", "environ", "port", "own"),
    [
        (None, {}, 9179, True),  # nothing named: 9179 preferred, else the user's own
        (None, {"SSOD_ECS_PREFERRED_PORT": "40000"}, 40000, True),
        (None, {"SSOD_ECS_PORT": "9000"}, 9000, False),  # named: exactly that one
        (None, {"SSOD_ECS_PORT": "0", "SSOD_ECS_PREFERRED_PORT": "40000"}, 0, False),
        (9001, {"SSOD_ECS_PORT": "9000"}, 9001, False),  # the flag wins
        (None, {"SSOD_ECS_PORT": ""}, 9179, True),  # empty: not set
    ],
)
def test_settings_name_a_port_or_let_the_daemon_pick(
    flag: int | None, environ: dict[str, str], port: int, own: bool
) -> None:
    from ssod.daemon.settings import Settings

    settings = Settings.from_environment(ecs_port=flag, environ=environ)
    assert settings.ecs_port == port
    assert (settings.ecs_port_file is not None) == own
    if own:
        assert settings.ecs_port_file is not None and settings.ecs_port_file.name == "ecs-port"
