"""The wizard's menus as today's AWS CLI v2 shows them, and the portal calls behind them.

The emulator here holds the tutorial's directory (AWS's "Configure IAM Identity Center
authentication with the AWS CLI": two accounts, ``Main-Account`` and ``Sub-Account``, listed by
the service in no particular order, with roles whose names differ in case). The tutorial test
replays its screens in a pseudo-terminal, with the keystrokes that choose the tutorial's
answers in today's menu order (aws/aws-cli#10149: accounts by name, roles by lower-cased
name), and compares the written ``~/.aws/config`` byte for byte. The wizard asks the portal
for the chosen account's roles only (one ListAccountRoles); ``ssod roles`` asks for every
account's, and rides out throttling.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cli_support import NO_BROWSER, Terminal, fake_browser
from harness import DaemonHarness
from ssod.emulator.config import EmulatorConfig
from ssod.emulator.data import Account, Directory
from ssod.emulator.testing.background import BackgroundEmulator

DOWN, ENTER = "\x1b[B", "\r"
START_URL = "https://my-sso-portal.awsapps.com/start"
MAIN, SUB, BARE = "111122223333", "444455556666", "777788889999"

#: The service lists Sub-Account first; its roles arrive unsorted, two equal but for case.
TUTORIAL = Directory(
    users=("user@example.com",),
    accounts=(
        Account(SUB, "Sub-Account", "sub@example.com", ("ReadOnly",)),
        Account(MAIN, "Main-Account", "main@example.com", ("ViewOnly", "admin", "Billing")),
        Account(BARE, "", "", ("Admin", "admin")),  # neither name nor email: shown last
    ),
)


@pytest.fixture
def ssod_emulator(
    ssod_emulator_factory: Callable[..., BackgroundEmulator],
) -> BackgroundEmulator:
    """This module's emulator: the tutorial's directory, one page per listing."""
    return ssod_emulator_factory(EmulatorConfig(directory=TUTORIAL, page_size=100))


def wizard(harness: DaemonHarness, tmp_path: Path) -> Terminal:
    harness.config_file.unlink()
    harness.start()
    program, _ = fake_browser(tmp_path, fetch=True)  # completes the PKCE sign-in
    term = Terminal(["configure"], {**harness.env, **NO_BROWSER, "BROWSER": program})
    term.answer("SSO session name (Recommended): ", "my-sso")
    term.answer("SSO start URL [None]: ", START_URL)
    term.answer("SSO region [None]: ", "us-east-1")
    term.answer("SSO registration scopes [sso:account:access]: ", "sso:account:access")
    term.expect(f"Successfully logged into Start URL: {START_URL}")
    return term


def menu(term: Terminal, heading: str) -> list[str]:
    """The items of the menu drawn after ``heading``, top to bottom, as a person sees them."""
    term.expect("(up/down to move, Enter to choose")
    lines = term.screen()
    start = max(i for i, line in enumerate(lines) if line.startswith(heading)) + 1
    items = []
    for line in lines[start:]:
        if line.startswith("(up/down"):
            break
        items.append(line[2:])
    return items


def test_the_tutorial_in_todays_order(
    ssod_daemon: DaemonHarness, tmp_path: Path, ssod_emulator: BackgroundEmulator
) -> None:
    term = wizard(ssod_daemon, tmp_path)
    assert menu(term, "There are 3 AWS accounts available to you.") == [
        f"Main-Account, main@example.com ({MAIN})",
        f"Sub-Account, sub@example.com ({SUB})",
        BARE,
    ]
    term.send(ENTER)  # Main-Account: first today, second in the tutorial's (service) order
    term.expect(f"Using the account ID {MAIN}")
    assert menu(term, "There are 3 roles available to you.") == ["admin", "Billing", "ViewOnly"]
    term.send(DOWN + ENTER)
    term.expect('Using the role name "Billing"')
    term.answer("Default client Region [None]: ", "us-west-2")
    term.answer("CLI default output format (json if not specified) [None]: ", "json")
    term.answer(f"Profile name [Billing-{MAIN}]: ", "my-dev-profile")
    term.expect("aws s3 ls --profile my-dev-profile")
    assert term.finish() == 0, term.output
    assert ssod_daemon.config_file.read_bytes() == (
        b"[profile my-dev-profile]\n"
        b"sso_session = my-sso\n"
        b"sso_account_id = 111122223333\n"
        b"sso_role_name = Billing\n"
        b"region = us-west-2\n"
        b"output = json\n"
        b"[sso-session my-sso]\n"
        b"sso_start_url = https://my-sso-portal.awsapps.com/start\n"
        b"sso_region = us-east-1\n"
        b"sso_registration_scopes = sso:account:access\n"
    )
    calls = ssod_emulator.calls()
    assert calls["ListAccounts"] == 1
    assert calls["ListAccountRoles"] == 1  # the chosen account's only, as the CLI asks


def test_names_equal_but_for_case_keep_the_service_order(
    ssod_daemon: DaemonHarness, tmp_path: Path, ssod_emulator: BackgroundEmulator
) -> None:
    term = wizard(ssod_daemon, tmp_path)
    menu(term, "There are 3 AWS accounts available to you.")
    term.send("\x1b[F" + ENTER)  # End: the account with an id only
    term.expect(f"Using the account ID {BARE}")
    assert menu(term, "There are 2 roles available to you.") == ["Admin", "admin"]
    term.send(DOWN + ENTER)
    term.expect('Using the role name "admin"')
    term.answer("Default client Region [None]: ", "")
    term.answer("CLI default output format (json if not specified) [None]: ", "")
    term.answer(f"Profile name [admin-{BARE}]: ", "")
    assert term.finish() == 0, term.output
    assert f"[profile admin-{BARE}]\n" in ssod_daemon.config_file.read_text()
    assert ssod_emulator.calls()["ListAccountRoles"] == 1


def test_roles_lists_every_account_through_throttling(
    ssod_daemon: DaemonHarness, ssod_emulator: BackgroundEmulator
) -> None:
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    ssod_emulator.reset_calls()
    # Throttled twice in a row (botocore retries once): ssod pauses the listing and goes on.
    ssod_emulator.set_faults(operation="ListAccountRoles", kind="throttle", count=4)
    out = ssod_daemon.ssod("roles", "--sso-session", "corp")
    assert out.returncode == 0, out.stderr
    rows = [line.split()[:3] for line in out.stdout.splitlines()[3:]]
    assert rows == [
        [MAIN, "Main-Account", "admin"],
        [MAIN, "Main-Account", "Billing"],
        [MAIN, "Main-Account", "ViewOnly"],
        [SUB, "Sub-Account", "ReadOnly"],
        [BARE, "-", "Admin"],
        [BARE, "-", "admin"],
    ]
    assert ssod_emulator.calls()["ListAccountRoles"] == 3 + 4


def test_roles_gives_up_on_a_portal_that_keeps_throttling(
    ssod_daemon: DaemonHarness, ssod_emulator: BackgroundEmulator
) -> None:
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    ssod_emulator.set_faults(operation="ListAccountRoles", kind="throttle")
    out = ssod_daemon.ssod("roles", "--sso-session", "corp")
    assert out.returncode == 6, out.stdout + out.stderr
    [message] = [line for line in out.stderr.splitlines() if line.strip()]
    assert "kept throttling ListAccountRoles" in message, message
    assert message.count("try again") == 1  # what failed and what to do, once
    assert "ssod will retry" not in message  # it does not: the command ends here


def test_an_unreachable_endpoint_is_one_message_saying_what_failed_and_what_to_do(
    ssod_daemon: DaemonHarness, ssod_emulator: BackgroundEmulator
) -> None:
    ssod_daemon.config_file.unlink()
    ssod_daemon.start()
    ssod_emulator.set_faults(operation="RegisterClient", kind="drop")  # the connection dies
    args = ["configure", "--non-interactive", "--sso-session", "my-sso", "--use-device-code"]
    out = ssod_daemon.ssod(
        *args, "--sso-start-url", START_URL, "--sso-region", "us-east-1", env=NO_BROWSER
    )
    assert out.returncode == 6, out.stdout + out.stderr
    [message] = [line for line in out.stderr.splitlines() if line.strip()]
    assert message.startswith("ssod: AWS RegisterClient failed: 127.0.0.1:"), message
    assert "closed the connection without answering" in message  # no botocore class name
    assert message.endswith("; check the network (and the SSO region), or try again in a moment")
    assert "ssod will retry" not in message
    assert not ssod_daemon.config_file.exists()  # put back as it was: no file
