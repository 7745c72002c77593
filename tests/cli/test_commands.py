"""``ssod status``, ``credentials``, ``env``, ``roles``, ``token rotate`` and the error exits, as
subprocesses against a real daemon and the emulator, checked by real boto3 processes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cli_support import NO_BROWSER, Terminal, wait_until
from harness import STANDARD_CONFIG, DaemonHarness
from ssod import errors
from ssod.client.output import render
from ssod.wire import Op

WHO_AM_I = (
    "import boto3, json\n"
    "sts = boto3.client('sts', region_name='us-east-1')\n"
    "print(json.dumps(sts.get_caller_identity()['Account']))\n"
)


def logged_in(harness: DaemonHarness, *daemon_args: str) -> DaemonHarness:
    harness.start(*daemon_args)
    harness.login(profile="dev", use_device_code=True)
    return harness


def boto3_account(
    env: dict[str, str], script_dir: Path, shell_prefix: str = "", shell: str = "sh"
) -> str:
    """Run WHO_AM_I in a fresh Python (after ``shell_prefix`` in ``shell``); the account."""
    script = script_dir / "whoami.py"
    script.write_text(WHO_AM_I)
    command = f"{shell_prefix}exec {sys.executable} {script}"
    out = subprocess.run(
        [shell, "-c", command], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    account: str = json.loads(out.stdout)
    return account


# -- when something is wrong -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [("status",), ("credentials", "--profile", "dev"), ("env",), ("login",), ("token", "rotate")],
)
def test_no_daemon_exits_3_with_both_ways_to_start_one(
    ssod_daemon: DaemonHarness, args: tuple[str, ...]
) -> None:
    out = ssod_daemon.ssod(*args, env=NO_BROWSER)
    assert out.returncode == errors.EXIT_NO_DAEMON == 3
    assert out.stdout == ""
    assert "no ssod daemon" in out.stderr
    assert "ssod service install" in out.stderr and "ssod daemon" in out.stderr
    assert "Traceback" not in out.stderr


def test_error_exits(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    required = ssod_daemon.ssod("credentials", "--profile", "dev")
    assert required.returncode == errors.EXIT_LOGIN_REQUIRED == 4
    assert "ssod login --sso-session corp" in required.stderr
    unknown = ssod_daemon.ssod("credentials", "--profile", "nope")
    assert unknown.returncode == errors.EXIT_NOT_FOUND == 5
    assert "nope" in unknown.stderr and "ssod status" in unknown.stderr
    for args in (("logout", "--sso-session", "nope"), ("roles", "--profile", "nope")):
        out = ssod_daemon.ssod(*args)
        assert out.returncode == 5, (args, out.stderr)
    usage = ssod_daemon.ssod("login", "--profile", "dev", "--sso-session", "corp")
    assert usage.returncode == errors.EXIT_USAGE == 2
    # Like every other command: AWS_PROFILE, then default (STANDARD_CONFIG has no [default]).
    defaulted = ssod_daemon.ssod("credentials", env={"AWS_PROFILE": "dev"})
    assert defaulted.returncode == errors.EXIT_LOGIN_REQUIRED, defaulted.stderr
    assert ssod_daemon.ssod("credentials").returncode == errors.EXIT_NOT_FOUND
    assert "(default)" in ssod_daemon.ssod("credentials", "--format", "env").stderr
    assert ssod_daemon.ssod("token").returncode == 2


def test_help_documents_the_exit_codes() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ssod.client.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for code, words in [(3, "no daemon"), (4, "login"), (5, "no such profile"), (6, "AWS")]:
        assert any(
            line.split()[:1] == [str(code)] and words in line for line in out.stdout.split("\n")
        )


# -- status ------------------------------------------------------------------------------------


def test_status_text_and_json(ssod_daemon: DaemonHarness) -> None:
    logged_in(ssod_daemon)
    assert ssod_daemon.ssod("credentials", "--profile", "dev").returncode == 0
    text = ssod_daemon.ssod("status")
    assert text.returncode == 0, text.stderr
    assert "\033[" not in text.stdout  # not a terminal: no colour
    lines = text.stdout.splitlines()
    assert lines[0].startswith("ssod 0.") and "up " in lines[0]
    [corp] = [line for line in lines if line.startswith("corp ")]
    assert "ready" in corp and "in 7h" in corp and "us-east-1" in corp
    [dev] = [line for line in lines if line.startswith("dev ")]
    assert "111111111111" in dev and "ReadOnly" in dev and "expire in" in dev

    data = json.loads(ssod_daemon.ssod("status", "--json").stdout)
    assert list(data) == ["daemon", "sessions", "profiles", "problems", "tokens"]
    assert tuple(data["daemon"]) == render.DAEMON_KEYS
    assert all(tuple(s) == render.SESSION_KEYS for s in data["sessions"])
    assert all(tuple(p) == render.PROFILE_KEYS for p in data["profiles"])
    assert data["sessions"][0]["state"] == "ready"
    assert data["daemon"]["ecs_url"].startswith("http://127.0.0.1:")
    served = {p["name"]: p["served"] for p in data["profiles"]}
    assert served == {"dev": True, "prod": False, "chained": False}


def test_status_fits_80_columns_and_names_the_daemons_endpoints(
    ssod_daemon: DaemonHarness,
) -> None:
    logged_in(ssod_daemon)
    assert ssod_daemon.ssod("token", "issue", "--profile", "dev").returncode == 0
    for columns in ("60", "80"):
        out = ssod_daemon.ssod("status", env={"COLUMNS": columns})
        assert out.returncode == 0, out.stderr
        assert max(len(line) for line in out.stdout.splitlines()) <= int(columns), out.stdout
        assert "Note:" not in out.stderr  # this shell has the daemon's endpoints
    # The emulator's endpoints are not AWS's own: status names them.
    oidc = ssod_daemon.env["AWS_ENDPOINT_URL_SSO_OIDC"]
    assert f"AWS endpoint  {oidc} (AWS_ENDPOINT_URL_SSO_OIDC)" in out.stdout
    data = json.loads(ssod_daemon.ssod("status", "--output", "json").stdout)
    assert data["daemon"]["endpoints"]["AWS_ENDPOINT_URL_SSO_OIDC"] == oidc


def test_status_on_an_80_column_terminal(ssod_daemon: DaemonHarness) -> None:
    """The screen a person sees: the terminal's own width (no COLUMNS), in colour."""
    logged_in(ssod_daemon)
    assert ssod_daemon.ssod("credentials", "--profile", "dev").returncode == 0
    env = {k: v for k, v in ssod_daemon.env.items() if k != "COLUMNS"}
    terminal = Terminal(["status"], {**env, "TERM": "xterm"}, columns=80)
    assert terminal.finish() == 0, terminal.output
    assert "\033[" in terminal.output  # a terminal: colour
    screen = [line for line in terminal.screen() if line]
    assert any(line.startswith("corp ") for line in screen), screen
    assert max(len(line) for line in screen) <= 80, screen


def test_a_shell_with_other_endpoints_is_told(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    env = {**ssod_daemon.env}
    del env["AWS_ENDPOINT_URL_STS"]
    out = subprocess.run(
        [sys.executable, "-m", "ssod.client.cli", "status"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "the daemon uses other AWS endpoints than this shell" in out.stderr
    assert "AWS_ENDPOINT_URL_STS differ" in out.stderr and "`ssod stop`" in out.stderr
    assert not out.stderr.startswith("ssod:")


def test_status_check_is_the_scripts_question(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    out = ssod_daemon.ssod("status", "--check", "--profile", "dev")
    assert out.returncode == errors.EXIT_LOGIN_REQUIRED, out.stderr
    # One wording: as `ssod credentials` says it.
    creds = ssod_daemon.ssod("credentials", "--profile", "dev")
    assert out.stderr == creds.stderr and "needs a login (not logged in)" in out.stderr
    ssod_daemon.login(profile="dev", use_device_code=True)
    out = ssod_daemon.ssod("status", "--check", "--sso-session", "corp")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("sso-session corp is logged in (token expires in ")
    missing = ssod_daemon.ssod("status", "--check", "--profile", "nope")
    assert missing.returncode == errors.EXIT_NOT_FOUND, missing.stderr


# -- credentials -------------------------------------------------------------------------------


def test_credentials_in_each_format(ssod_daemon: DaemonHarness) -> None:
    logged_in(ssod_daemon)
    process = json.loads(ssod_daemon.ssod("credentials", "--profile", "dev").stdout)
    assert list(process)[:5] == [
        "Version",
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
    ]
    assert process["Version"] == 1 and process["Expiration"].endswith("Z")
    assert process["AccountId"] == "111111111111"

    full = json.loads(
        ssod_daemon.ssod("credentials", "--profile", "dev", "--format", "json").stdout
    )
    assert full["AccessKeyId"] == process["AccessKeyId"] and full["AccountId"] == "111111111111"

    env = ssod_daemon.ssod("credentials", "--profile", "dev", "--format", "env").stdout
    shown = subprocess.run(
        [
            "sh",
            "-c",
            'eval "$(cat)"; printf "%s\\n" "$AWS_ACCESS_KEY_ID" "$AWS_CREDENTIAL_EXPIRATION"',
        ],
        input=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert shown == [process["AccessKeyId"], process["Expiration"]]


def test_credential_process_profile_used_by_boto3(
    ssod_daemon: DaemonHarness, tmp_path: Path
) -> None:
    logged_in(ssod_daemon)
    ssod_daemon.write_config(
        STANDARD_CONFIG + "\n[profile viaprocess]\n"
        f"credential_process = {sys.executable} -m ssod.client.cli credentials --profile prod\n"
    )
    env = {**ssod_daemon.env, "AWS_PROFILE": "viaprocess"}
    assert boto3_account(env, tmp_path) == "222222222222"

    # A profile whose session needs a login fails in boto3 with ssod's own explanation.
    ssod_daemon.ssod("logout", "--sso-session", "corp")
    script = tmp_path / "whoami.py"
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode != 0
    assert "ssod login --sso-session corp" in out.stderr


# -- env ---------------------------------------------------------------------------------------


def _env_lines(harness: DaemonHarness, *args: str, **env: str) -> list[str]:
    out = harness.ssod("env", *args, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_env_for_each_shell(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    endpoint: dict[str, Any] = ssod_daemon.request(Op.ENDPOINT)
    url = endpoint["url"] + "/credentials/dev"
    token, token_file = endpoint["token"], endpoint["token_file"]
    expected = {
        "sh": [
            f"export AWS_CONTAINER_CREDENTIALS_FULL_URI='{url}'",
            f"export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE='{token_file}'",
            f"export AWS_CONTAINER_AUTHORIZATION_TOKEN='{token}'",
            "export AWS_REGION='us-east-1'",
            "export AWS_DEFAULT_REGION='us-east-1'",
        ],
        "fish": [
            f"set -gx AWS_CONTAINER_CREDENTIALS_FULL_URI '{url}'",
            f"set -gx AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '{token_file}'",
            f"set -gx AWS_CONTAINER_AUTHORIZATION_TOKEN '{token}'",
            "set -gx AWS_REGION 'us-east-1'",
            "set -gx AWS_DEFAULT_REGION 'us-east-1'",
        ],
        "powershell": [
            f"$env:AWS_CONTAINER_CREDENTIALS_FULL_URI = '{url}'",
            f"$env:AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = '{token_file}'",
            f"$env:AWS_CONTAINER_AUTHORIZATION_TOKEN = '{token}'",
            "$env:AWS_REGION = 'us-east-1'",
            "$env:AWS_DEFAULT_REGION = 'us-east-1'",
        ],
    }
    for shell, lines in expected.items():
        printed = _env_lines(ssod_daemon, "--profile", "dev", "--shell", shell)
        assert [line for line in printed if not line.startswith("#")] == lines
    # A chained profile without a region of its own uses its SSO root's.
    printed = _env_lines(ssod_daemon, "--profile", "chained")
    assert "export AWS_REGION='us-east-1'" in printed
    # The profile defaults to AWS_PROFILE, and is percent-encoded in the URL.
    ssod_daemon.write_config(STANDARD_CONFIG.replace("[profile prod]", "[profile ops/dev+1]"))
    wait_until(lambda: "ops/dev+1" in served_profiles(ssod_daemon), what="the config reload")
    printed = _env_lines(ssod_daemon, AWS_PROFILE="ops/dev+1")
    uri = f"{endpoint['url']}/credentials/ops%2Fdev%2B1"
    assert f"export AWS_CONTAINER_CREDENTIALS_FULL_URI='{uri}'" in printed


def served_profiles(harness: DaemonHarness) -> dict[str, bool]:
    profiles = harness.request(Op.STATUS)["profiles"]
    return {p["name"]: p["served"] for p in profiles}


SSOD = f"{sys.executable} -m ssod.client.cli"
SETUP = {
    "sh": f'eval "$({SSOD} env --profile prod)" && ',
    "fish": f"{SSOD} env --profile prod --shell fish | source; and ",
}


@pytest.mark.parametrize("shell", ["sh", "fish"])
def test_env_then_boto3(ssod_daemon: DaemonHarness, tmp_path: Path, shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    logged_in(ssod_daemon)
    env = {**ssod_daemon.env, "XDG_CONFIG_HOME": str(tmp_path), "fish_history": ""}
    assert boto3_account(env, tmp_path, SETUP[shell], shell) == "222222222222"
    assert served_profiles(ssod_daemon)["prod"]  # served through the endpoint


def test_env_says_when_something_else_would_win(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    out = ssod_daemon.ssod("env", "--profile", "prod", env={"AWS_PROFILE": "dev"})
    assert out.returncode == 0
    assert any(
        line.startswith("# AWS_PROFILE=dev is set") and "unset AWS_PROFILE" in line
        for line in out.stdout.splitlines()
    )
    assert "Note: AWS_PROFILE=dev is set" in out.stderr  # eval would hide stdout's comment
    quiet = ssod_daemon.ssod("env", "--profile", "prod")
    assert quiet.stderr == ""
    missing = ssod_daemon.ssod("env")
    assert missing.returncode == 5 and "--profile NAME" in missing.stderr


# -- roles and the token -----------------------------------------------------------------------


def test_roles_table_and_json(ssod_daemon: DaemonHarness) -> None:
    logged_in(ssod_daemon)
    data = json.loads(ssod_daemon.ssod("roles", "--sso-session", "corp", "--json").stdout)
    assert data["session"] == "corp"
    assert {a["account_id"]: a["roles"] for a in data["accounts"]} == {
        "111111111111": ["Admin", "ReadOnly"],
        "222222222222": ["Admin", "ReadOnly"],
    }
    text = ssod_daemon.ssod("roles", "--profile", "prod")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("sso-session corp (https://d-1234567890.awsapps.com/start")
    rows = [line.split() for line in text.stdout.splitlines()[3:]]
    assert ["111111111111", "dev", "ReadOnly", "dev"] in rows
    assert ["222222222222", "prod", "Admin", "prod"] in rows
    assert ["222222222222", "prod", "ReadOnly", "-"] in rows


def test_token_rotate(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    before = ssod_daemon.request(Op.ENDPOINT)
    out = ssod_daemon.ssod("token", "rotate")
    assert out.returncode == 0, out.stderr
    after = ssod_daemon.request(Op.ENDPOINT)
    assert after["token"] != before["token"]
    assert Path(after["token_file"]).read_text() == after["token"]
    assert after["token"] not in out.stdout and before["token"] not in out.stdout
    assert 'eval "$(ssod env)"' in out.stdout
