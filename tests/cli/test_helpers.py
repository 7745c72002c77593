"""The client's pure helpers: browser policy, profile resolution, error hints, env notes."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ssod import errors
from ssod.client import browser, common
from ssod.client.output.env import precedence_notes


def which_from(*present: str) -> Callable[[str], str | None]:
    return lambda name: f"/usr/bin/{name}" if name in present else None


@pytest.mark.parametrize(
    ("environ", "platform", "present", "wsl", "commands", "reason"),
    [
        ({"BROWSER": "firefox"}, "linux", (), False, [("firefox", "%s")], ""),
        (
            {"BROWSER": "firefox --new-window %s:lynx", "SSH_TTY": "/dev/pts/1"},
            "linux",
            (),
            False,
            [("firefox", "--new-window", "%s"), ("lynx", "%s")],
            "",
        ),
        ({"BROWSER": "'un balanced"}, "linux", (), False, [("'un", "balanced", "%s")], ""),
        ({"SSH_CONNECTION": "a b c d", "DISPLAY": ":0"}, "linux", ("xdg-open",), False, [], "SSH"),
        ({"SSH_TTY": "/dev/pts/0"}, "darwin", (), False, [], "SSH"),
        ({}, "darwin", (), False, [("open", "%s")], ""),
        ({"DISPLAY": ":0"}, "linux", ("xdg-open",), False, [("xdg-open", "%s")], ""),
        ({"WAYLAND_DISPLAY": "w-0"}, "linux", ("xdg-open",), False, [("xdg-open", "%s")], ""),
        ({}, "linux", ("xdg-open",), False, [], "no graphical display"),
        ({"DISPLAY": ":0"}, "linux", (), False, [], "xdg-open is not installed"),
        ({}, "linux", ("wslview",), True, [("wslview", "%s")], ""),
        ({"DISPLAY": ":0"}, "linux", (), True, [], "wslu"),
        ({"BROWSER": ""}, "linux", (), False, [], "no graphical display"),
    ],
)
def test_browser_plan(
    environ: dict[str, str],
    platform: str,
    present: tuple[str, ...],
    wsl: bool,
    commands: list[tuple[str, ...]],
    reason: str,
) -> None:
    plan = browser.plan(environ, platform, which_from(*present), wsl=wsl)
    assert list(plan.commands) == commands
    assert plan.available == bool(commands)
    assert reason in plan.reason


def test_open_url_tries_each_launcher_and_reports_failures(tmp_path: Path) -> None:
    log = tmp_path / "opened"
    ok = (sys.executable, "-c", f"open({str(log)!r}, 'w').write(__import__('sys').argv[1])", "%s")
    plan = browser.BrowserPlan((("/nonexistent/browser", "%s"), ("false", "%s"), ok))
    assert browser.open_url("https://x.example/?a=1&b=2", plan) is None
    assert log.read_text() == "https://x.example/?a=1&b=2"
    failing = browser.BrowserPlan((("false", "%s"),))
    assert browser.open_url("https://x.example/", failing) == "false exited with status 1"
    assert browser.open_url("u", browser.BrowserPlan((), "this is an SSH session")) == (
        "this is an SSH session"
    )


def test_a_browser_that_stays_open_counts_as_opened() -> None:
    plan = browser.BrowserPlan(((sys.executable, "-c", "import time; time.sleep(3)", "%s"),))
    assert browser.open_url("https://x.example/", plan) is None


@pytest.mark.parametrize(
    ("environ", "profile"),
    [
        ({}, "default"),
        ({"AWS_PROFILE": "dev"}, "dev"),
        ({"AWS_DEFAULT_PROFILE": "old", "AWS_PROFILE": "dev"}, "old"),  # botocore's order
        ({"AWS_PROFILE": ""}, "default"),
    ],
)
def test_default_profile(environ: dict[str, str], profile: str) -> None:
    assert common.default_profile(environ) == profile


@pytest.mark.parametrize(
    ("flags", "environ", "target"),
    [
        ({"sso_session": "corp"}, {"AWS_PROFILE": "x"}, common.Target(sso_session="corp")),
        ({"profile": "dev"}, {}, common.Target(profile="dev")),
        ({}, {"AWS_PROFILE": "x"}, common.Target(profile="x", defaulted=True)),
        ({}, {}, common.Target(profile="default", defaulted=True)),
    ],
)
def test_target_from_args(
    flags: dict[str, str], environ: dict[str, str], target: common.Target
) -> None:
    args = argparse.Namespace(**{"sso_session": None, "profile": None, **flags})
    assert common.target_from_args(args, environ) == target


def test_target_args_and_flags() -> None:
    session = common.Target(sso_session="corp")
    profile = common.Target(profile="dev")
    assert session.args() == {"sso_session": "corp"}
    assert profile.args() == {"profile": "dev"}
    assert session.flags() == "--sso-session corp" and profile.flags() == "--profile dev"
    assert session.describe() == "sso-session corp" and profile.describe() == "profile dev"


@pytest.mark.parametrize(
    ("err", "hint"),
    [
        (errors.ProfileNotFound("no profile x"), "`ssod status` lists"),
        (errors.SessionNotFound("no session y"), "`ssod status` lists"),
        (errors.ConfigParseError("bad"), "reloads it by itself"),
        (errors.RoleAccessDenied("denied"), "`ssod roles`"),
        (errors.AwsUnavailable("slow"), "try again"),
        (errors.LoginFailed("denied"), "`ssod login` again"),
        (errors.LoginRequired("run `ssod login --sso-session corp`"), ""),
        (errors.DaemonUnavailable("no daemon; start it"), ""),
    ],
)
def test_explain(err: errors.SsodError, hint: str) -> None:
    text = common.explain(err)
    assert text.startswith(err.message)
    assert text == err.message if not hint else hint in text


def test_run_command_turns_errors_into_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    def fails(_args: argparse.Namespace) -> int:
        raise errors.ProfileNotFound("no profile x")

    assert common.run_command(fails, argparse.Namespace()) == errors.EXIT_NOT_FOUND
    assert capsys.readouterr().err.startswith("ssod: no profile x; ")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "environ", "colour"),
    [
        (Tty(), {}, True),
        (Tty(), {"NO_COLOR": "1"}, False),
        (Tty(), {"NO_COLOR": ""}, True),  # no-color.org: only a non-empty value counts
        (Tty(), {"TERM": "dumb"}, False),
        (io.StringIO(), {}, False),
    ],
)
def test_use_color(stream: io.StringIO, environ: dict[str, str], colour: bool) -> None:
    assert common.use_color(stream, environ) is colour


SERVED = {"dev", "prod", "default"}


@pytest.mark.parametrize(
    ("environ", "served", "expected"),
    [
        ({}, {"dev"}, []),
        ({"AWS_PROFILE": "plain"}, SERVED, []),  # a profile without SSO settings of its own
        ({"AWS_PROFILE": "dev"}, SERVED, ["AWS_PROFILE=dev is set", "unset AWS_PROFILE"]),
        ({"AWS_DEFAULT_PROFILE": "prod"}, SERVED, ["AWS_DEFAULT_PROFILE=prod"]),
        ({}, SERVED, ["[default] has SSO settings of its own"]),
        ({"AWS_ACCESS_KEY_ID": "AKIA"}, set(), ["unset AWS_ACCESS_KEY_ID"]),
        ({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2"}, set(), ["RELATIVE_URI is set"]),
    ],
)
def test_precedence_notes(environ: dict[str, str], served: set[str], expected: list[str]) -> None:
    notes = precedence_notes(environ, served)
    assert len(notes) == (1 if expected else 0)
    for part in expected:
        assert part in notes[0]
