"""``~/.aws/config`` broken in every way an editor, a script or a dotfile manager can break it.

One running daemon sees each bad version in turn (through its file watcher, as in life). Each
must show a clear error in status while the last good configuration stays in service (its
profiles still listed and still served), and the next good file must be picked up again. A
profile loop is not an error of the whole file: only the looping profiles are refused.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from hardening.support import wait_until
from harness import STANDARD_CONFIG, DaemonHarness
from ssod.errors import ConfigError
from ssod.wire import Op

LOOP = """
[profile a]
role_arn = arn:aws:iam::222222222222:role/A
source_profile = b

[profile b]
role_arn = arn:aws:iam::222222222222:role/B
source_profile = a
"""


def write_bytes(data: bytes) -> Callable[[DaemonHarness], None]:
    """Replace the config with ``data`` by rename, as an editor saves."""

    def act(harness: DaemonHarness) -> None:
        tmp = harness.config_file.with_name("config.new")
        tmp.write_bytes(data)
        tmp.replace(harness.config_file)

    return act


def replace_with(make: Callable[[Path], None]) -> Callable[[DaemonHarness], None]:
    """Remove the config and put something else (made by ``make``) in its place."""

    def act(harness: DaemonHarness) -> None:
        harness.config_file.unlink()
        make(harness.config_file)

    return act


def symlink_to(target: str) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


def clear(path: Path) -> None:
    """Remove whatever is at ``path`` (file, link, FIFO or directory)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


#: (what, how to break the file, what the status error must say)
BROKEN: tuple[tuple[str, Callable[[DaemonHarness], None], str], ...] = (
    ("binary garbage", write_bytes(bytes(range(256)) * 64), "is not valid UTF-8"),
    ("a byte-order mark", write_bytes(b"\xef\xbb\xbf" + STANDARD_CONFIG.encode()), "byte-order"),
    (
        "a duplicate section",
        write_bytes((STANDARD_CONFIG + "\n[profile dev]\nregion = x\n").encode()),
        "appears more than once",
    ),
    (
        "a duplicate key",
        write_bytes(
            STANDARD_CONFIG.replace("region = us-east-1", "region = a\nregion = b").encode()
        ),
        "key 'region' appears more than once",
    ),
    ("10 MB", write_bytes(STANDARD_CONFIG.encode() + b"# " + b"x" * 10_000_000), "larger than"),
    ("deleted", lambda h: h.config_file.unlink(), "is gone"),
    ("a directory", replace_with(lambda p: p.mkdir()), "is not a regular file"),
    ("a FIFO", replace_with(os.mkfifo), "is not a regular file"),
    ("a link to a device", replace_with(symlink_to("/dev/zero")), "is not a regular file"),
    ("a dangling link", replace_with(symlink_to("/nonexistent/config")), "is gone"),
)


def config_error(harness: DaemonHarness) -> str | None:
    error: str | None = harness.request(Op.STATUS)["daemon"]["config_error"]
    return error


def restore(harness: DaemonHarness, text: str = STANDARD_CONFIG) -> None:
    """Put a good config back and wait until the daemon has it in service."""
    clear(harness.config_file)
    harness.write_config(text)
    wait_until(lambda: config_error(harness) is None, 10, "the good config to be accepted")


def test_each_broken_config_is_reported_and_the_last_good_one_served(
    ssod_daemon: DaemonHarness,
) -> None:
    ssod_daemon.emulator.settings(approve_delay=0)
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    for what, breaks, says in BROKEN:
        breaks(ssod_daemon)
        error = wait_until(lambda: config_error(ssod_daemon), 10, f"an error for {what}")
        assert says in error, (what, error)
        assert str(ssod_daemon.config_file) in error, (what, error)
        status = ssod_daemon.request(Op.STATUS)
        assert {p["name"] for p in status["profiles"]} == {"dev", "prod", "chained"}, what
        creds = ssod_daemon.request(Op.CREDENTIALS, profile="prod")
        assert creds["AccountId"] == "222222222222", what
        restore(ssod_daemon)
    assert ssod_daemon.proc is not None and ssod_daemon.proc.poll() is None
    assert ssod_daemon.log().count("event=config_rejected") >= len(BROKEN)


def test_a_config_behind_a_symlink_is_followed(ssod_daemon: DaemonHarness, tmp_path: Path) -> None:
    """A dotfile manager replaces the config by a link while the daemon runs, then edits it."""
    ssod_daemon.start()
    target = tmp_path / "dotfiles" / "aws-config"
    target.parent.mkdir()
    target.write_text(STANDARD_CONFIG + profile("linked"))
    replace_with(symlink_to(str(target)))(ssod_daemon)
    wait_until(lambda: "linked" in profile_names(ssod_daemon), 10, "the linked config")
    # Edits of the link's target, in a directory the daemon did not watch before.
    target.write_text(STANDARD_CONFIG + profile("linked") + profile("later"))
    wait_until(lambda: "later" in profile_names(ssod_daemon), 10, "an edit of the target")
    assert config_error(ssod_daemon) is None


def profile(name: str) -> str:
    return (
        f"\n[profile {name}]\nsso_session = corp\nsso_account_id = 111111111111\n"
        "sso_role_name = Admin\n"
    )


def profile_names(harness: DaemonHarness) -> set[str]:
    return {p["name"] for p in harness.request(Op.STATUS)["profiles"]}


def test_a_profile_loop_refuses_only_the_loop(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.emulator.settings(approve_delay=0)
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    ssod_daemon.write_config(STANDARD_CONFIG + LOOP)
    status = wait_until(
        lambda: (s := ssod_daemon.request(Op.STATUS))["problems"] and s, 10, "the loop reported"
    )
    assert status["daemon"]["config_error"] is None
    assert any("Infinite loop" in p for p in status["problems"]), status["problems"]
    assert ssod_daemon.request(Op.CREDENTIALS, profile="dev")["AccountId"] == "111111111111"
    with pytest.raises(ConfigError, match="Infinite loop"):
        ssod_daemon.request(Op.CREDENTIALS, profile="a")


@pytest.mark.skipif(os.getuid() == 0, reason="root reads a mode-000 file anyway (see a FIFO)")
def test_an_unreadable_config(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    ssod_daemon.config_file.chmod(0)
    os.utime(ssod_daemon.config_file)  # chmod alone may not wake the watcher
    error = wait_until(lambda: config_error(ssod_daemon), 10, "an error")
    assert "cannot be read" in error


BROKEN_AT_START = STANDARD_CONFIG.replace("[profile dev]", "[profile dev", 1)


@pytest.mark.parametrize(
    "command",
    [
        ("credentials", "--profile", "dev"),  # the fast path
        ("credentials", "--profile", "dev", "--no-start"),  # the full client
        ("env", "--profile", "dev"),
        ("env",),
        ("login", "--profile", "dev", "--no-browser"),
        ("exec", "--profile", "dev", "--no-login", "--", "true"),
        ("roles",),
        ("logout",),
        ("console", "--profile", "dev", "--print"),
        ("token", "issue", "--profile", "dev"),
    ],
)
def test_a_config_broken_at_start_is_the_error_of_every_command(
    ssod_daemon: DaemonHarness, command: tuple[str, ...]
) -> None:
    # No good config was ever loaded: the profile is not "not found", the file is broken.
    ssod_daemon.write_config(BROKEN_AT_START)
    ssod_daemon.start()
    out = ssod_daemon.ssod(*command)
    assert out.returncode == ConfigError.exit_code, out.stderr
    assert f"{ssod_daemon.config_file}, line " in out.stderr, out.stderr
    assert "could not be found" not in out.stderr and "no SSO profile" not in out.stderr


def test_status_does_not_send_a_broken_config_to_configure(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.write_config(BROKEN_AT_START)
    ssod_daemon.start()
    out = ssod_daemon.ssod("status", env={"COLUMNS": "300"})  # the temp path is long
    assert f"config error  {ssod_daemon.config_file}, line " in out.stdout
    assert "ssod configure" not in out.stdout
    assert "fix the config error above" in out.stdout
