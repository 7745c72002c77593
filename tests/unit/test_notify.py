"""Which program shows a notification, and how its text is quoted for ``gdbus call``."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ssod.daemon.host.notify import Which, commands, gvariant_string, session_bus_known


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("ssod: corp needs a login", "'ssod: corp needs a login'"),
        ("it's", "'it\\'s'"),
        ("a \\ b", "'a \\\\ b'"),
        ('say "hi"', "'say \"hi\"'"),
        ("two\nlines\t", "'two\\u000alines\\u0009'"),
        ("\x7f", "'\\u007f'"),
        ("café ✓", "'café ✓'"),
        ("", "''"),
    ],
)
def test_gvariant_string(text: str, literal: str) -> None:
    assert gvariant_string(text) == literal


def which_of(*present: str) -> Which:
    return lambda name: f"/usr/bin/{name}" if name in present else None


BUS = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus"}


@pytest.mark.parametrize(
    ("platform", "present", "env", "programs"),
    [
        ("linux", ("gdbus", "notify-send"), BUS, ["gdbus", "notify-send"]),
        ("linux", ("gdbus", "notify-send"), {}, ["notify-send"]),  # no bus known
        ("linux", ("gdbus",), BUS, ["gdbus"]),
        ("linux", ("notify-send",), BUS, ["notify-send"]),
        ("linux", (), BUS, []),
        ("darwin", ("osascript", "gdbus"), BUS, ["osascript"]),
        ("darwin", (), {}, []),
    ],
)
def test_commands_in_order(
    platform: str, present: tuple[str, ...], env: dict[str, str], programs: list[str]
) -> None:
    found = commands("t", "b", platform=platform, which=which_of(*present), env=env)
    assert [Path(argv[0]).name for argv in found] == programs


def test_the_dbus_call_carries_summary_body_and_app_name() -> None:
    [argv, _] = commands(
        "ssod: it's", "Run: x", platform="linux", which=which_of("gdbus", "notify-send"), env=BUS
    )
    assert argv[1:3] == ["call", "--session"]
    assert argv[-8:] == [
        "'ssod'",
        "uint32 0",
        "''",
        "'ssod: it\\'s'",
        "'Run: x'",
        "@as []",
        "{'urgency': <byte 1>}",
        "int32 -1",
    ]


def test_session_bus_from_the_runtime_dir(tmp_path: Path) -> None:
    assert not session_bus_known({"XDG_RUNTIME_DIR": str(tmp_path)})
    (tmp_path / "bus").write_text("")  # not a socket
    assert not session_bus_known({"XDG_RUNTIME_DIR": str(tmp_path)})
    (tmp_path / "bus").unlink()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "bus"))
        assert session_bus_known({"XDG_RUNTIME_DIR": str(tmp_path)})
    assert not session_bus_known({})
