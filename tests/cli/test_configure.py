"""``ssod configure`` end to end: a real daemon, the emulator, and the wizard in a pseudo-terminal.

Each test answers the prompts as a person would (arrow keys included), then reads the written
file back with real botocore and compares the whole text with what ``aws configure sso`` writes
(docs/protocols.md section 5.1). Also: the piped and flag-only (``--non-interactive``) paths, the
legacy form, Ctrl-C restoring the file, and ``ssod roles --write-profiles``.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import signal
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from cli_support import NO_BROWSER, Terminal, fake_browser, opened, wait_until
from harness import STANDARD_CONFIG, DaemonHarness
from ssod.errors import EXIT_CONFIG, EXIT_NO_DAEMON, EXIT_USAGE
from ssod.wire import Op

START_URL = "https://d-1234567890.awsapps.com/start"
LEGACY_URL = "https://d-9999999999.awsapps.com/start"
DOWN, ENTER = "\x1b[B", "\r"


def botocore_view(harness: DaemonHarness, profile: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(full_config, scoped config of ``profile``) as real botocore reads the written file."""
    os.environ["AWS_CONFIG_FILE"] = str(harness.config_file)
    try:
        session = boto3.Session(profile_name=profile)
        core = session._session
        return core.full_config, core.get_scoped_config()
    finally:
        del os.environ["AWS_CONFIG_FILE"]


def browser_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A BROWSER that follows the sign-in URL (completing PKCE through the emulator)."""
    program, log = fake_browser(tmp_path, fetch=True)
    return {**NO_BROWSER, "BROWSER": program}, log


def test_wizard_in_a_terminal_writes_what_the_aws_cli_writes(
    ssod_daemon: DaemonHarness, tmp_path: Path
) -> None:
    ssod_daemon.config_file.unlink()
    ssod_daemon.start()
    env, log = browser_env(tmp_path)
    term = Terminal(["configure"], {**ssod_daemon.env, **env})
    term.answer("SSO session name (Recommended): ", "my-sso")
    term.answer("SSO start URL [None]: ", START_URL)
    term.answer("SSO region [None]: ", "us-east-1")
    term.answer("SSO registration scopes [sso:account:access]: ", "")
    term.expect(f"Successfully logged into Start URL: {START_URL}")
    term.expect("There are 2 AWS accounts available to you.")
    term.expect("dev, aws-dev@example.com (111111111111)")
    term.send(DOWN)
    term.send(ENTER)
    term.expect("Using the account ID 222222222222")
    term.expect("There are 2 roles available to you.")
    term.expect("Admin")
    term.send("read")  # typing filters the menu
    term.expect("filter: read (1 of 2)")
    term.send(ENTER)
    term.expect('Using the role name "ReadOnly"')
    term.expect("Default client Region [None]: ")
    term.send("us-we\t\t")  # Tab completes regions here too, and output formats below
    term.expect("us-west-1  us-west-2")
    term.send("2\r")
    term.answer("CLI default output format (json if not specified) [None]: ", "js\t")
    term.answer("Profile name [ReadOnly-222222222222]: ", "my-dev")
    term.expect("aws s3 ls --profile my-dev")
    term.expect('eval "$(ssod env --profile my-dev)"')
    assert term.finish() == 0, term.output

    [url] = opened(log)
    assert "/authorize?" in url  # PKCE, completed by the fake browser
    assert ssod_daemon.config_file.read_text() == (
        "[profile my-dev]\n"
        "sso_session = my-sso\n"
        "sso_account_id = 222222222222\n"
        "sso_role_name = ReadOnly\n"
        "region = us-west-2\n"
        "output = json\n"
        "[sso-session my-sso]\n"
        f"sso_start_url = {START_URL}\n"
        "sso_region = us-east-1\n"
        "sso_registration_scopes = sso:account:access\n"
    )
    assert oct(ssod_daemon.config_file.stat().st_mode & 0o777) == "0o600"
    full, scoped = botocore_view(ssod_daemon, "my-dev")
    assert scoped == {
        "sso_session": "my-sso",
        "sso_account_id": "222222222222",
        "sso_role_name": "ReadOnly",
        "region": "us-west-2",
        "output": "json",
    }
    assert full["sso_sessions"]["my-sso"] == {
        "sso_start_url": START_URL,
        "sso_region": "us-east-1",
        "sso_registration_scopes": "sso:account:access",
    }
    creds = ssod_daemon.request(Op.CREDENTIALS, profile="my-dev")
    assert creds["AccountId"] == "222222222222"


def test_existing_session_and_comments_through_a_pipe(ssod_daemon: DaemonHarness) -> None:
    original = "# my settings\n" + STANDARD_CONFIG + "; the end\n"
    ssod_daemon.write_config(original)
    ssod_daemon.start()
    # session, account 1 (dev), role 2 (ReadOnly), then Enter for region, output and name.
    out = ssod_daemon.ssod("configure", input="corp\n1\n2\n\n\n\n", env=NO_BROWSER)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Using the existing sso-session corp" in out.stdout
    assert "No browser can open here" in out.stdout  # so the device code was used
    assert "  1) dev, aws-dev@example.com (111111111111)" in out.stdout
    assert ssod_daemon.config_file.read_text() == original + (
        "[profile ReadOnly-111111111111]\n"
        "sso_session = corp\n"
        "sso_account_id = 111111111111\n"
        "sso_role_name = ReadOnly\n"
    )
    _, scoped = botocore_view(ssod_daemon, "ReadOnly-111111111111")
    assert scoped == {
        "sso_session": "corp",
        "sso_account_id": "111111111111",
        "sso_role_name": "ReadOnly",
    }


def test_non_interactive_flags_update_a_profile_in_place(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)  # a token is cached: no login is needed
    args = ["configure", "--non-interactive", "--profile", "dev", "--sso-session", "corp"]
    args += ["--account-id", "222222222222", "--role-name", "Admin", "--output", "text"]
    out = ssod_daemon.ssod(*args, env=NO_BROWSER)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Successfully logged into" not in out.stdout
    # In place, as the CLI does; the region was kept because --region was not given.
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG.replace(
        "sso_account_id = 111111111111\nsso_role_name = ReadOnly\nregion = us-east-1\n",
        "sso_account_id = 222222222222\nsso_role_name = Admin\nregion = us-east-1\noutput = text\n",
    )


def test_a_revoked_token_means_a_new_login(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    ssod_daemon.emulator.revoke_refresh_tokens(end_session=True)  # a logout elsewhere
    args = ["configure", "--non-interactive", "--sso-session", "corp", "--profile", "again"]
    args += ["--account-id", "111111111111", "--role-name", "Admin"]
    out = ssod_daemon.ssod(*args, env=NO_BROWSER)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Successfully logged into Start URL" in out.stdout
    assert "[profile again]\nsso_session = corp\n" in ssod_daemon.config_file.read_text()


def test_non_interactive_without_an_answer_fails_and_restores_the_file(
    ssod_daemon: DaemonHarness,
) -> None:
    ssod_daemon.start()
    args = ["configure", "--non-interactive", "--sso-session", "new", "--sso-start-url"]
    args += [START_URL, "--sso-region", "us-east-1", "--use-device-code"]
    out = ssod_daemon.ssod(*args, env=NO_BROWSER)
    assert out.returncode == EXIT_USAGE
    assert "2 AWS accounts are available: pass --account-id" in out.stderr
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG  # the new session is gone


def test_legacy_form(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    answers = f"\n{LEGACY_URL}\nus-east-1\n2\n1\neu-west-1\n\nold-style\n"
    out = ssod_daemon.ssod("configure", input=answers, env=NO_BROWSER)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "WARNING: Configuring using legacy format" in out.stdout
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG + (
        "[profile old-style]\n"
        f"sso_start_url = {LEGACY_URL}\n"
        "sso_region = us-east-1\n"
        "sso_account_id = 222222222222\n"
        "sso_role_name = Admin\n"
        "region = eu-west-1\n"
    )
    _, scoped = botocore_view(ssod_daemon, "old-style")
    assert scoped["sso_start_url"] == LEGACY_URL and scoped["sso_role_name"] == "Admin"
    assert ssod_daemon.request(Op.CREDENTIALS, profile="old-style")["AccountId"] == "222222222222"


def test_ctrl_c_in_the_menu_leaves_the_file_as_it_was(
    ssod_daemon: DaemonHarness, tmp_path: Path
) -> None:
    ssod_daemon.start()
    env, _ = browser_env(tmp_path)
    term = Terminal(["configure"], {**ssod_daemon.env, **env})
    term.answer("SSO session name (Recommended): ", "other")
    term.answer("SSO start URL [None]: ", START_URL)
    term.answer("SSO region [None]: ", "us-east-1")
    term.answer("SSO registration scopes [sso:account:access]: ", "sso:account:access")
    term.expect("There are 2 AWS accounts available to you.")
    term.expect("type to filter")
    assert "[sso-session other]" in ssod_daemon.config_file.read_text()  # written for the login
    term.send("\x03")
    assert term.finish() == 130, term.output
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG


@pytest.mark.parametrize(
    ("flags", "message", "parsed"),
    [
        (["--sso-session", "corp", "--sso-region", "eu-west-1"], "already has sso_region", False),
        (["--sso-session", "x", "--sso-start-url", "not a url"], "Not a valid Start URL", True),
        (["--sso-session", "x", "--scopes", "a b,c"], "separated by commas", True),
        (["--profile", "a]b"], "must not contain brackets", True),
        (
            ["--sso-session", "x", "--sso-start-url", START_URL],
            "SSO region: pass --sso-region",
            False,
        ),
    ],
)
def test_bad_flags(
    ssod_daemon: DaemonHarness, flags: list[str], message: str, parsed: bool
) -> None:
    """Errors found by the argument parser need no daemon; the rest fail before any write."""
    if not parsed:
        ssod_daemon.start()
    out = ssod_daemon.ssod("configure", "--non-interactive", *flags, env=NO_BROWSER)
    assert out.returncode == EXIT_USAGE, out.stderr
    assert message in out.stderr
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG


def test_daemon_reading_another_config_file(ssod_daemon: DaemonHarness, tmp_path: Path) -> None:
    ssod_daemon.start()
    other = str(tmp_path / "other-config")
    out = ssod_daemon.ssod("configure", env={**NO_BROWSER, "AWS_CONFIG_FILE": other})
    assert out.returncode == EXIT_CONFIG
    assert "the daemon reads" in out.stderr and other in out.stderr


def test_no_daemon(ssod_daemon: DaemonHarness) -> None:
    out = ssod_daemon.ssod("configure", env=NO_BROWSER)
    assert out.returncode == EXIT_NO_DAEMON
    assert "ssod daemon" in out.stderr
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG


# -- ssod roles --write-profiles -----------------------------------------------------------


def test_write_profiles_adds_the_missing_ones_once(ssod_daemon: DaemonHarness) -> None:
    (ssod_daemon.home / ".aws" / "credentials").write_text("[Admin-dev]\naws_access_key_id = x\n")
    ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    out = ssod_daemon.ssod("roles", "--sso-session", "corp", "--write-profiles")
    assert out.returncode == 0, out.stderr
    assert "Added 2 profiles" in out.stdout
    # dev/ReadOnly and prod/Admin exist; Admin-dev is taken in the credentials file.
    added = (
        "[profile Admin-dev-2]\n"
        "sso_session = corp\n"
        "sso_account_id = 111111111111\n"
        "sso_role_name = Admin\n"
        "[profile ReadOnly-prod]\n"
        "sso_session = corp\n"
        "sso_account_id = 222222222222\n"
        "sso_role_name = ReadOnly\n"
    )
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG + added
    _, scoped = botocore_view(ssod_daemon, "ReadOnly-prod")
    assert scoped == {
        "sso_session": "corp",
        "sso_account_id": "222222222222",
        "sso_role_name": "ReadOnly",
    }
    assert ssod_daemon.request(Op.CREDENTIALS, profile="Admin-dev-2")["AccountId"] == "111111111111"

    again = ssod_daemon.ssod("roles", "--sso-session", "corp", "--write-profiles", "--json")
    assert again.returncode == 0, again.stderr
    assert '"added": []' in again.stdout
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG + added


def test_write_profiles_template(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.write_config(
        "[sso-session corp]\nsso_start_url = " + START_URL + "\nsso_region = us-east-1\n"
    )
    ssod_daemon.start()
    ssod_daemon.login(sso_session="corp", profile=None, use_device_code=True)
    template = "{session} {account_name}/{role} ({account_id})"
    out = ssod_daemon.ssod(
        "roles",
        "--sso-session",
        "corp",
        "--write-profiles",
        "--json",
        "--profile-template",
        template,
    )
    assert out.returncode == 0, out.stderr
    names = [
        line.split("[profile ")[1].rstrip("]")
        for line in ssod_daemon.config_file.read_text().splitlines()
        if line.startswith("[profile ")
    ]
    assert names == [
        "corp-dev/Admin-111111111111",
        "corp-dev/ReadOnly-111111111111",
        "corp-prod/Admin-222222222222",
        "corp-prod/ReadOnly-222222222222",
    ]


def test_write_profiles_refuses_an_unknown_placeholder(ssod_daemon: DaemonHarness) -> None:
    out = ssod_daemon.ssod("roles", "--write-profiles", "--profile-template", "{nope}")
    assert out.returncode == EXIT_USAGE
    assert "unknown placeholder {nope}" in out.stderr


def test_ctrl_c_while_waiting_for_the_login_cancels_it(
    ssod_daemon: DaemonHarness, tmp_path: Path
) -> None:
    ssod_daemon.start()
    program, log = fake_browser(tmp_path, fetch=False)  # opens the page, never signs in
    term = Terminal(["configure"], {**ssod_daemon.env, **NO_BROWSER, "BROWSER": program})
    term.answer("SSO session name (Recommended): ", "other")
    term.answer("SSO start URL [None]: ", START_URL)
    term.answer("SSO region [None]: ", "us-east-1")
    term.answer("SSO registration scopes [sso:account:access]: ", "")
    term.expect("Waiting for the sign-in to complete")
    wait_until(lambda: opened(log), what="the browser to open")
    term.proc.send_signal(signal.SIGINT)
    assert term.finish() == 130, term.output
    assert "configure cancelled" in term.output
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG
    log_text = ssod_daemon.log()
    assert "op=cancel_login" in log_text and "outcome=login_cancelled" in log_text


# -- ssod configure sso-session, and the region prompt ---------------------------------------


def without_oidc_override(harness: DaemonHarness) -> dict[str, str]:
    """The daemon's environment as on a real machine: botocore's own sso-oidc endpoints."""
    harness.env.pop("AWS_ENDPOINT_URL_SSO_OIDC")
    return harness.env


def test_sso_session_wizard_in_a_terminal(ssod_daemon: DaemonHarness) -> None:
    env = without_oidc_override(ssod_daemon)
    ssod_daemon.start()
    term = Terminal(["configure", "sso-session"], {**env, **NO_BROWSER})
    term.answer("SSO session name: ", "team")
    term.answer("SSO start URL [None]: ", START_URL + "/")  # as tutorials show it
    term.answer("SSO region [None]: ", "sso:account:access")
    term.expect("'sso:account:access' is not a region name: expected a Region code such as")
    term.answer("SSO region [None]: ", "ap-northeast-9")
    term.expect(
        "The region ap-northeast-9 has no IAM Identity Center endpoint; regions like it that "
        "have one: ap-northeast-1, ap-northeast-2, ap-northeast-3"
    )
    term.expect("SSO region [None]: ")
    term.send("ap-nor\t\t")  # the common prefix, then the list
    term.expect("SSO region [None]: ap-northeast-")
    screen = term.screen()
    assert screen[-2].split() == ["ap-northeast-1", "ap-northeast-2", "ap-northeast-3"]
    assert screen[-1] == "SSO region [None]: ap-northeast-"
    term.send("1\r")
    term.answer("SSO registration scopes [sso:account:access]: ", "")
    term.expect("Completed configuring SSO session: team")
    term.expect("ssod login --sso-session team")
    assert term.finish() == 0, term.output
    assert "Successfully logged into" not in term.output  # like the CLI: no login here
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG + (
        "[sso-session team]\n"
        f"sso_start_url = {START_URL}/\n"
        "sso_region = ap-northeast-1\n"
        "sso_registration_scopes = sso:account:access\n"
    )
    full, _ = botocore_view(ssod_daemon, "dev")
    assert full["sso_sessions"]["team"]["sso_start_url"] == START_URL + "/"
    names = {s["name"] for s in ssod_daemon.request(Op.STATUS)["sessions"]}
    assert "team" in names  # the daemon was told to reload


def test_sso_session_wizard_completes_names_and_offers_the_current_values(
    ssod_daemon: DaemonHarness,
) -> None:
    ssod_daemon.start()
    term = Terminal(["configure", "sso-session"], {**ssod_daemon.env, **NO_BROWSER})
    term.expect("SSO session name: ")
    term.send("co\t\r")  # the only session starting with "co"
    term.answer(f"SSO start URL [{START_URL}]: ", "")
    term.answer("SSO region [us-east-1]: ", "")
    term.expect("SSO registration scopes [sso:account:access]: ")
    term.ctrl_c_at_prompt()
    assert term.finish() == 130, term.output
    assert "configure cancelled" in term.output
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG


def test_sso_session_flags_update_in_place(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    # A flag before the form word counts too.
    out = ssod_daemon.ssod(
        "configure", "--non-interactive", "sso-session", "--sso-session", "corp",
        "--sso-region", "eu-west-1",
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Completed configuring SSO session: corp" in out.stdout
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG.replace(
        "sso_region = us-east-1", "sso_region = eu-west-1"
    )


@pytest.mark.parametrize(
    ("region", "code", "message"),
    [
        ("ap-northeast-3", 0, "Completed configuring SSO session: new"),
        ("ap-northeast-9", EXIT_USAGE, "has no IAM Identity Center endpoint"),
        ("sso:account:access", EXIT_USAGE, "is not a region name"),
    ],
)
def test_sso_session_without_a_daemon(
    ssod_daemon: DaemonHarness, region: str, code: int, message: str
) -> None:
    """No daemon runs: the region list shipped with ssod decides (no endpoint override here)."""
    env = without_oidc_override(ssod_daemon)
    args = ["configure", "sso-session", "--non-interactive", "--sso-session", "new"]
    out = ssod_daemon.ssod(*args, "--sso-start-url", START_URL, "--sso-region", region, env=env)
    assert out.returncode == code, out.stdout + out.stderr
    assert message in out.stdout + out.stderr
    added = f"[sso-session new]\nsso_start_url = {START_URL}\nsso_region = {region}\n"
    added += "sso_registration_scopes = sso:account:access\n"
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG + (added if code == 0 else "")


def test_sso_session_needs_a_name_non_interactively(ssod_daemon: DaemonHarness) -> None:
    out = ssod_daemon.ssod("configure", "sso-session", "--non-interactive")
    assert out.returncode == EXIT_USAGE
    assert "--non-interactive needs --sso-session NAME" in out.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--sso-start-url", "http://d-1234567890.awsapps.com/start"], "start URLs use https"),
        (["--sso-region", "sso:account:access"], "is not a region name"),
        (["--region", "default"], "is not a region name"),
        (["--output", "jsno"], "expected one of json, yaml, yaml-stream, text, table, off"),
    ],
)
def test_bad_values_are_refused_before_anything_runs(
    ssod_daemon: DaemonHarness, flags: list[str], message: str
) -> None:
    for form in ([], ["sso-session"]):
        if form and flags[0] in ("--region", "--output"):
            continue  # profile settings: not flags of the sso-session form
        out = ssod_daemon.ssod("configure", *form, "--non-interactive", *flags)
        assert out.returncode == EXIT_USAGE, out.stderr
        assert message in out.stderr


def test_configure_refuses_a_region_without_an_endpoint(ssod_daemon: DaemonHarness) -> None:
    without_oidc_override(ssod_daemon)
    ssod_daemon.start()
    args = ["configure", "--non-interactive", "--sso-session", "new", "--sso-start-url"]
    out = ssod_daemon.ssod(*args, START_URL, "--sso-region", "ap-northeast-9", env=NO_BROWSER)
    assert out.returncode == EXIT_USAGE, out.stdout + out.stderr
    assert (
        "--sso-region ap-northeast-9: The region ap-northeast-9 has no IAM Identity" in out.stderr
    )
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG
    assert "op=login" not in ssod_daemon.log()  # refused before any login was tried


def test_a_region_without_an_endpoint_fails_the_login_at_once(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.write_config(
        STANDARD_CONFIG.replace("us-east-1\nsso_reg", "ap-northeast-9\nsso_reg")
    )
    without_oidc_override(ssod_daemon)
    ssod_daemon.start()
    out = ssod_daemon.ssod("login", "--sso-session", "corp", "--use-device-code", env=NO_BROWSER)
    assert out.returncode == EXIT_CONFIG, out.stdout + out.stderr
    assert "the sso_region ap-northeast-9 of corp has no IAM Identity Center endpoint" in out.stderr
    assert "EndpointConnectionError" not in out.stderr


# -- a start URL on a domain of your own (a vanity URL), looked up over real https ------------

PORTAL = "https://ssoins-1234567890abcdef.portal.eu-west-1.app.aws"


class VanityHost:
    """An https server on loopback that redirects to an AWS access portal, as a company's
    own sign-in domain does; HEAD is refused (405) so the CLI's GET fallback is used too."""

    def __init__(self, tmp: Path) -> None:
        if shutil.which("openssl") is None:
            pytest.skip("needs openssl to make a certificate")
        self.cert, key = tmp / "cert.pem", tmp / "key.pem"
        command = [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ]
        command += ["-nodes", "-keyout", str(key), "-out", str(self.cert), "-days", "1"]
        command += ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        subprocess.run(command, check=True, capture_output=True)
        self.requests: list[str] = []
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                seen.append(f"HEAD {self.path}")
                self.send_response(405)
                self.end_headers()

            def do_GET(self) -> None:
                seen.append(f"GET {self.path}")
                self.send_response(302)
                self.send_header("Location", PORTAL + "/")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/start"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def vanity(tmp_path: Path, ssod_daemon: DaemonHarness) -> Iterator[VanityHost]:
    host = VanityHost(tmp_path)
    ssod_daemon.env["AWS_CA_BUNDLE"] = str(host.cert)  # trusted by the daemon only
    try:
        yield host
    finally:
        host.close()


def test_a_vanity_start_url_is_looked_up_at_login(
    ssod_daemon: DaemonHarness, vanity: VanityHost
) -> None:
    ssod_daemon.write_config(STANDARD_CONFIG.replace(START_URL, vanity.url))
    ssod_daemon.start()
    out = ssod_daemon.ssod("login", "--sso-session", "corp", "--use-device-code", env=NO_BROWSER)
    assert out.returncode == 0, out.stdout + out.stderr
    # As `aws sso login`: the region of the portal is written, the configured URL is kept.
    assert "SSO region updated to eu-west-1" in out.stdout
    assert f"Successfully logged into Start URL: {vanity.url}" in out.stdout
    assert vanity.requests == ["HEAD /start", "GET /start"]
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG.replace(
        START_URL, vanity.url
    ).replace("sso_region = us-east-1", "sso_region = eu-west-1")
    # IAM Identity Center was sent the portal (normalised), never the vanity URL...
    sent = {auth.start_url for auth in ssod_daemon.emulator.state.devices.values()}
    assert sent == {PORTAL}
    # ...while the token file keeps the configured one, under the session's key.
    key = hashlib.sha1(b"corp").hexdigest()
    token = json.loads((ssod_daemon.cache_dir / f"{key}.json").read_text())
    assert (token["startUrl"], token["region"]) == (vanity.url, "eu-west-1")
    assert ssod_daemon.request(Op.CREDENTIALS, profile="dev")["AccountId"] == "111111111111"


def test_the_wizard_takes_the_region_a_vanity_url_leads_to(
    ssod_daemon: DaemonHarness, vanity: VanityHost
) -> None:
    ssod_daemon.start()
    args = ["configure", "sso-session", "--non-interactive", "--sso-session", "mine"]
    out = ssod_daemon.ssod(*args, "--sso-start-url", vanity.url)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{vanity.url} leads to {PORTAL}: using its SSO region eu-west-1." in out.stdout
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG + (
        f"[sso-session mine]\nsso_start_url = {vanity.url}\nsso_region = eu-west-1\n"
        "sso_registration_scopes = sso:account:access\n"
    )


def test_configure_keeps_the_region_the_login_wrote(
    ssod_daemon: DaemonHarness, vanity: VanityHost
) -> None:
    ssod_daemon.start()
    args = ["configure", "--non-interactive", "--sso-session", "mine", "--profile", "mine"]
    args += ["--sso-start-url", vanity.url, "--sso-region", "us-east-1", "--use-device-code"]
    args += ["--account-id", "111111111111", "--role-name", "ReadOnly"]
    out = ssod_daemon.ssod(*args, env=NO_BROWSER)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SSO region updated to eu-west-1" in out.stdout
    # Written as the CLI orders it: the profile, then the session (with the new region).
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG + (
        "[profile mine]\n"
        "sso_session = mine\n"
        "sso_account_id = 111111111111\n"
        "sso_role_name = ReadOnly\n"
        "[sso-session mine]\n"
        f"sso_start_url = {vanity.url}\n"
        "sso_region = eu-west-1\n"
        "sso_registration_scopes = sso:account:access\n"
    )


def test_a_failed_configure_undoes_the_region_the_login_wrote_too(
    ssod_daemon: DaemonHarness, vanity: VanityHost
) -> None:
    ssod_daemon.start()
    args = ["configure", "--non-interactive", "--sso-session", "mine", "--use-device-code"]
    args += ["--sso-start-url", vanity.url, "--sso-region", "us-east-1"]
    out = ssod_daemon.ssod(*args, env=NO_BROWSER)
    assert out.returncode == EXIT_USAGE, out.stdout + out.stderr
    assert "SSO region updated to eu-west-1" in out.stdout
    assert "2 AWS accounts are available: pass --account-id" in out.stderr
    assert ssod_daemon.config_file.read_text() == STANDARD_CONFIG
