"""The shared launcher's environment and config file (ssod.emulator.testing.launcher), no daemon."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ssod.emulator.testing.launcher import STANDARD_CONFIG, isolated_env, ssod_command, write_config


def test_isolated_env_keeps_the_callers_settings_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_PROFILE", "SSOD_ECS_PORT", "BOTO_CONFIG", "DBUS_SESSION_BUS_ADDRESS"):
        monkeypatch.setenv(name, "from-the-caller")
    monkeypatch.setenv("LANG", "C.UTF-8")
    env = isolated_env(tmp_path / "h", tmp_path / "rt", {"AWS_ENDPOINT_URL_SSO": "http://e"})
    assert env["HOME"] == str(tmp_path / "h")
    assert env["SSOD_RUNTIME_DIR"] == str(tmp_path / "rt")
    assert (env["SSOD_ECS_PORT"], env["SSOD_NOTIFY"]) == ("0", "0")
    assert env["AWS_ENDPOINT_URL_SSO"] == "http://e"  # extra wins
    assert env["LANG"] == "C.UTF-8"
    for name in ("AWS_PROFILE", "BOTO_CONFIG", "DBUS_SESSION_BUS_ADDRESS"):
        assert name not in env


def test_write_config_replaces_the_file_whole(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    assert path == tmp_path / ".aws" / "config"
    inode = path.stat().st_ino
    write_config(tmp_path, STANDARD_CONFIG + "\n[profile more]\n")
    assert path.read_text().endswith("[profile more]\n")
    assert path.stat().st_ino != inode  # renamed over, as editors save
    assert stat.S_ISREG(path.stat().st_mode)
    assert list(path.parent.iterdir()) == [path]


def test_ssod_command_runs_this_interpreter() -> None:
    argv = ssod_command("status", "--json")
    assert argv[1:] == ["-m", "ssod.client.cli", "status", "--json"]
