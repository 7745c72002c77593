"""``ssod console`` as a subprocess against a real daemon and the emulator's federation endpoint:
the printed URL signs in (the emulator redirects to the destination) for two partitions, the
browser gets it otherwise, bad destinations and durations are refused before any credentials
leave, and refused or expired credentials map to clear errors.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cli_support import NO_BROWSER, OVER_SSH, fake_browser, opened
from harness import STANDARD_CONFIG, DaemonHarness
from ssod import errors

CHINA = """
[profile cn]
sso_session = china
sso_account_id = 222222222222
sso_role_name = ReadOnly
region = cn-northwest-1

[sso-session china]
sso_start_url = https://d-9876543210.awsapps.cn/start
sso_region = cn-north-1
sso_registration_scopes = sso:account:access
"""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def follow(url: str) -> tuple[int, str | None]:
    """Open ``url`` as a browser would, without following the redirect: status and Location."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=10) as resp:
            return resp.status, resp.headers.get("Location")
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Location")


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def daemon(ssod_daemon: DaemonHarness) -> DaemonHarness:
    ssod_daemon.write_config(STANDARD_CONFIG + CHINA)
    ssod_daemon.start()
    ssod_daemon.login(profile="dev", use_device_code=True)
    return ssod_daemon


def console(harness: DaemonHarness, *args: str, **env: str) -> Any:
    return harness.ssod("console", *args, env={**NO_BROWSER, **env})


@pytest.mark.parametrize(
    ("profile", "args", "destination"),
    [
        ("dev", (), "https://console.aws.amazon.com/console/home?region=us-east-1"),
        (
            "prod",
            ("--destination", "s3", "--duration", "90m"),
            "https://console.aws.amazon.com/s3/home?region=eu-west-1",
        ),
        (
            "cn",
            ("--region", "cn-north-1"),
            "https://console.amazonaws.cn/console/home?region=cn-north-1",
        ),
        (
            "dev",
            ("--destination", "https://us-east-1.console.aws.amazon.com/ec2/home#Instances:"),
            "https://us-east-1.console.aws.amazon.com/ec2/home#Instances:",
        ),
    ],
)
def test_printed_url_signs_in_and_lands_on_the_destination(
    daemon: DaemonHarness, profile: str, args: tuple[str, ...], destination: str
) -> None:
    if profile == "cn":
        daemon.login(profile="cn", use_device_code=True)
    out = console(daemon, "--profile", profile, "--print", *args)
    assert out.returncode == 0, out.stderr
    url = out.stdout.strip()
    assert url.startswith(f"{daemon.emulator.url}/federation?Action=login&")
    fields = query(url)
    assert fields["Issuer"] == "ssod" and fields["Destination"] == destination
    assert follow(url) == (302, destination)
    assert daemon.emulator.calls()["getSigninToken"] == 1
    [grant] = daemon.emulator.state.signin.grants.values()
    assert grant.session_duration == (5400 if "--duration" in args else None)
    assert grant.creds.account_id == {"dev": "111111111111", "prod": "222222222222"}.get(
        profile, "222222222222"
    )


def test_the_browser_gets_the_url(daemon: DaemonHarness, tmp_path: Path) -> None:
    browser, log = fake_browser(tmp_path, fetch=False)
    out = console(daemon, "--profile", "dev", "--destination", "ec2", BROWSER=browser)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    assert "Opened the AWS console for profile dev (account 111111111111" in out.stderr
    # The browser's argv (readable by every user) gets a one-time loopback link, not the token.
    [link] = opened(log)
    assert link.startswith("http://127.0.0.1:") and "/console/" in link
    assert "SigninToken" not in link and "federation" not in link
    status, url = follow(link)
    assert status == 302 and url is not None
    assert query(url)["Destination"] == "https://console.aws.amazon.com/ec2/home?region=us-east-1"
    assert follow(url) == (302, "https://console.aws.amazon.com/ec2/home?region=us-east-1")
    assert follow(link) == (404, None)  # used up
    # Over SSH nothing opens: the URL is printed for the person to open elsewhere.
    ssh = daemon.ssod("console", "--profile", "dev", env=OVER_SSH)
    assert ssh.returncode == 0, ssh.stderr
    assert "this is an SSH session" in ssh.stderr
    assert follow(ssh.stdout.strip())[0] == 302


#: Refused by the daemon before the credentials go anywhere (tests/unit/test_console.py has
#: the full table): a sample of each rule, as the command line reports it.
REFUSED = [
    (("--destination", "http://console.aws.amazon.com/"), "not an https URL on the AWS"),
    (("--destination", "https://console.aws.amazon.com.evil.example/"), "not an https URL"),
    (("--destination", "https://console.amazonaws.cn/"), "partition aws"),
    (("--destination", "s3 bucket"), "neither a service name"),
    (("--duration", "10m"), "15 minutes to 12 hours"),
    (("--duration", "soon"), "give seconds"),
    (("--region", "cn-north-1"), "not in partition aws"),
]


def test_refused_before_any_credentials_leave(daemon: DaemonHarness) -> None:
    for args, message in REFUSED:
        out = console(daemon, "--profile", "dev", "--print", *args)
        assert out.returncode == errors.EXIT_USAGE, (args, out.stderr)
        assert message in out.stderr, args
        assert out.stdout == ""
    assert daemon.emulator.calls().get("getSigninToken", 0) == 0


def test_role_chained_profiles(daemon: DaemonHarness) -> None:
    refused = console(daemon, "--profile", "chained", "--print", "--duration", "1h")
    assert refused.returncode == errors.EXIT_USAGE
    assert "role chaining" in refused.stderr and "without --duration" in refused.stderr
    out = console(daemon, "--profile", "chained", "--print")
    assert out.returncode == 0, out.stderr
    assert follow(out.stdout.strip())[0] == 302
    [grant] = daemon.emulator.state.signin.grants.values()
    assert grant.creds.chained and grant.creds.account_id == "222222222222"


def test_refused_and_expired_credentials(daemon: DaemonHarness) -> None:
    assert console(daemon, "--profile", "dev", "--print").returncode == 0
    # The emulator's clock moves past the role credentials the daemon holds: the endpoint
    # refuses them, and the daemon fetches new ones and asks once more.
    daemon.emulator.advance_clock(3700)
    daemon.emulator.reset_calls()
    again = console(daemon, "--profile", "dev", "--print")
    assert again.returncode == 0, again.stderr
    assert follow(again.stdout.strip())[0] == 302
    calls = daemon.emulator.calls()
    assert calls["getSigninToken"] == 2 and calls["GetRoleCredentials"] == 1
    # Refused every time: a clear error, and AWS's exit code.
    daemon.emulator.set_faults(operation="getSigninToken", kind="status", status=400, count=2)
    refused = console(daemon, "--profile", "dev", "--print")
    assert refused.returncode == errors.EXIT_AWS
    assert (
        "the AWS sign-in endpoint refused (HTTP 400) the credentials of profile dev, new ones too"
        in refused.stderr
    )
    assert refused.stdout == ""
    daemon.emulator.set_faults(operation="getSigninToken", kind="status", status=503, count=1)
    down = console(daemon, "--profile", "dev", "--print")
    assert down.returncode == errors.EXIT_AWS
    assert "HTTP 503" in down.stderr and "try again in a moment" in down.stderr


def test_a_session_that_needs_a_login(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    refused = console(ssod_daemon, "--profile", "dev", "--print", "--no-login")
    assert refused.returncode == errors.EXIT_LOGIN_REQUIRED
    assert "ssod login --sso-session corp" in refused.stderr
    out = ssod_daemon.ssod("console", "--profile", "dev", "--print", env=OVER_SSH)
    assert out.returncode == 0, out.stderr
    assert "Successfully logged into Start URL" in out.stderr
    assert follow(out.stdout.strip())[0] == 302
