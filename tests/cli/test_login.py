"""``ssod login`` as a subprocess against a real daemon and the emulator: both flows, the browser,
concurrent logins sharing one flow, and Ctrl-C cancelling the flow in the daemon.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from cli_support import NO_BROWSER, OVER_SSH, fake_browser, opened, spawn
from harness import DaemonHarness
from ssod.daemon.store.tokencache import parse_token, token_cache_key
from ssod.errors import EXIT_LOGIN_FAILED, EXIT_NOT_FOUND

START_URL = "https://d-1234567890.awsapps.com/start"
SUCCESS = f"Successfully logged into Start URL: {START_URL}\n"


def token_path(harness: DaemonHarness) -> Path:
    return harness.cache_dir / f"{token_cache_key('corp')}.json"


def test_device_code_flow_prints_url_and_code(ssod_daemon: DaemonHarness, tmp_path: Path) -> None:
    ssod_daemon.start()
    browser, log = fake_browser(tmp_path, fetch=False)
    out = ssod_daemon.ssod(
        "login", "--profile", "dev", "--use-device-code", env={**NO_BROWSER, "BROWSER": browser}
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == SUCCESS  # the AWS CLI's line, on stdout; everything else on stderr
    assert "enter the code" in out.stderr
    [url] = opened(log)  # the browser gets the URL with the code filled in
    assert "user_code=" in url and url in out.stderr
    token = parse_token(token_path(ssod_daemon).read_bytes(), path="token")
    assert token.start_url == START_URL and token.refresh_token
    assert ssod_daemon.emulator.calls().get("CreateToken:authorization_code", 0) == 0


def test_no_browser_here_means_device_code(ssod_daemon: DaemonHarness) -> None:
    """Over SSH nothing can open a browser: the device code is used without being asked for.

    Also: with no profile named, no AWS_PROFILE and no [default] profile, the only configured
    sso-session is used (the AWS CLI would fail).
    """
    ssod_daemon.start()
    out = ssod_daemon.ssod("login", env=OVER_SSH)
    assert out.returncode == 0, out.stderr
    assert out.stdout == SUCCESS
    assert "using sso-session corp, the only one configured" in out.stderr
    assert "No browser can open here: this is an SSH session" in out.stderr
    assert "Open this URL in a browser on any device" in out.stderr
    assert ssod_daemon.emulator.calls().get("CreateToken:device_code", 0) >= 1


def test_no_such_profile_is_said_before_anything_about_browsers(
    ssod_daemon: DaemonHarness,
) -> None:
    ssod_daemon.start()
    out = ssod_daemon.ssod("login", "--profile", "nope", env=OVER_SSH)
    assert out.returncode == EXIT_NOT_FOUND, out.stderr
    assert "nope" in out.stderr and "No browser can open here" not in out.stderr


def test_aws_profile_names_the_session(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    out = ssod_daemon.ssod("login", env={**OVER_SSH, "AWS_PROFILE": "nope"})
    assert out.returncode == 5
    assert "nope" in out.stderr
    assert ssod_daemon.ssod("login", env={**OVER_SSH, "AWS_PROFILE": "prod"}).returncode == 0


def test_pkce_no_browser_prints_the_authorize_url(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    login = spawn(ssod_daemon, "login", "--sso-session", "corp", "--no-browser")
    url = login.url()
    assert "/authorize?response_type=code&" in url
    assert "code_challenge_method=S256" in url
    assert "--use-device-code" in login.stderr  # the way out when this is another machine
    # Follow it as a browser would: the emulator redirects to the daemon's 127.0.0.1 callback.
    with urllib.request.urlopen(url, timeout=10) as page:
        assert page.url.startswith("http://127.0.0.1:")
        assert "/oauth/callback?code=" in page.url
        assert b"Signed in" in page.read()
    assert login.finish() == 0, login.stderr
    assert login.stdout == SUCCESS
    assert ssod_daemon.emulator.calls().get("CreateToken:authorization_code") == 1


def test_pkce_opens_the_browser(ssod_daemon: DaemonHarness, tmp_path: Path) -> None:
    ssod_daemon.start()
    browser, log = fake_browser(tmp_path, fetch=True)
    out = ssod_daemon.ssod("login", "--profile", "dev", env={**NO_BROWSER, "BROWSER": browser})
    assert out.returncode == 0, out.stderr
    assert out.stdout == SUCCESS
    assert "Attempting to open the sign-in page in your browser" in out.stderr
    [url] = opened(log)
    assert "/authorize?" in url
    assert ssod_daemon.emulator.calls().get("CreateToken:authorization_code") == 1
    status = ssod_daemon.ssod("status", "--json")
    assert json.loads(status.stdout)["sessions"][0]["state"] == "ready"


def test_a_failing_browser_is_reported(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    login = spawn(ssod_daemon, "login", "--profile", "dev", env={"BROWSER": "false"})
    login.wait_for(r"Could not open a browser \(false exited with status 1\)")
    with urllib.request.urlopen(login.url(), timeout=10) as page:
        page.read()
    assert login.finish() == 0, login.stderr


def test_concurrent_logins_share_one_flow(ssod_daemon: DaemonHarness, tmp_path: Path) -> None:
    ssod_daemon.start()
    browser, log = fake_browser(tmp_path, fetch=False)
    env = {"BROWSER": browser}
    first = spawn(ssod_daemon, "login", "--profile", "dev", env=env)
    url = first.url()
    # Another login, for another profile of the same session: it joins, it opens nothing.
    second = spawn(ssod_daemon, "login", "--sso-session", "corp", env=env)
    second.wait_for("already in progress")
    assert second.url() == url
    with urllib.request.urlopen(url, timeout=10) as page:
        page.read()
    assert first.finish() == 0, first.stderr
    assert second.finish() == 0, second.stderr
    assert first.stdout == second.stdout == SUCCESS
    assert opened(log) == [url]  # one tab, never a storm
    calls = ssod_daemon.emulator.calls()
    assert calls.get("CreateToken:authorization_code") == 1


def test_ctrl_c_cancels_the_flow_in_the_daemon(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    login = spawn(ssod_daemon, "login", "--profile", "dev", "--no-browser")
    url = login.url()
    login.wait_for("Ctrl-C cancels")
    login.interrupt()
    assert login.finish() == 130
    assert "Login cancelled." in login.stderr
    assert "Traceback" not in login.stderr
    # The daemon stopped the flow: its callback listener is gone, so the page cannot complete.
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=10)
    assert "op=cancel_login" in ssod_daemon.log()
    assert not token_path(ssod_daemon).exists()
    # A new login starts a fresh flow (and succeeds).
    again = ssod_daemon.ssod("login", "--profile", "dev", env=OVER_SSH)
    assert again.returncode == 0, again.stderr


def test_a_joiner_sees_the_cancellation(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    first = spawn(ssod_daemon, "login", "--profile", "dev", "--no-browser")
    first.url()
    second = spawn(ssod_daemon, "login", "--profile", "prod", "--no-browser")
    second.wait_for("already in progress")
    first.interrupt()
    assert first.finish() == 130
    assert second.finish() == EXIT_LOGIN_FAILED
    assert "cancelled" in second.stderr


def test_a_denied_login_exits_8_and_says_what_to_do(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.emulator.settings(auto_approve=False)
    ssod_daemon.start()
    login = spawn(ssod_daemon, "login", "--profile", "dev", "--use-device-code", env=OVER_SSH)
    code = login.wait_for(r"(?m)^\s+([A-Z0-9]{4}-[A-Z0-9]{4})$").group(1)
    assert ssod_daemon.emulator.deny(code) == 1
    assert login.finish() == EXIT_LOGIN_FAILED
    assert "denied" in login.stderr and "run `ssod login` again" in login.stderr
    assert login.stdout == ""
