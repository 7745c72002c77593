"""The pure rendering of the ``ssod`` commands (``render``, ``shell``), table-driven."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ssod.client.output import render, shell

NOW = datetime(2025, 3, 4, 12, 0, 0, tzinfo=UTC)


def ts(delta: timedelta) -> str:
    return (NOW + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- times -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (42.9, "42s"),
        (60, "1m"),
        (59 * 60 + 59, "59m"),
        (3600, "1h"),
        (7 * 3600 + 42 * 60 + 5, "7h 42m"),
        (86400, "1d"),
        (2 * 86400 + 3 * 3600 + 59, "2d 3h"),
        (-90, "1m"),
    ],
)
def test_duration(seconds: float, text: str) -> None:
    assert render.duration(seconds) == text


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (None, "-"),
        ("not a time", "-"),
        (ts(timedelta(0)), "now"),
        (ts(timedelta(hours=7, minutes=42, seconds=30)), "in 7h 42m"),
        (ts(-timedelta(minutes=12)), "12m ago"),
        (ts(timedelta(seconds=30)), "in 30s"),
        (NOW - timedelta(days=3), "3d ago"),
    ],
)
def test_relative(moment: object, text: str) -> None:
    assert render.relative(moment, NOW) == text


def test_parse_time() -> None:
    assert render.parse_time("2025-03-04T12:00:00Z") == NOW
    assert render.parse_time("2025-03-04T12:00:00+00:00") is None
    assert render.parse_time(17) is None


# -- tables ------------------------------------------------------------------------------------


def test_table_aligns_and_colours_after_padding() -> None:
    rows: list[list[render.Cell]] = [["a", ("ready", "green"), "x"], ["long-name", "b", "y"]]
    assert render.table(("N", "STATE", "Z"), rows).splitlines() == [
        "N          STATE  Z",
        "a          ready  x",
        "long-name  b      y",
    ]
    coloured = render.table(("N", "STATE", "Z"), rows, color=True).splitlines()
    assert "\033[32mready\033[0m  x" in coloured[1]
    assert coloured[0].startswith("\033[1mN        \033[0m")


# -- status ------------------------------------------------------------------------------------

STATUS: dict[str, Any] = {
    "daemon": {
        "version": "0.1.0",
        "pid": 4242,
        "started_at": ts(-timedelta(hours=3)),
        "uptime_seconds": 3 * 3600 + 12 * 60,
        "ecs_url": "http://127.0.0.1:9179",
        "ipc": "ipc:///run/user/1000/ssod/ipc",
        "config_file": "/home/u/.aws/config",
        "config_loaded_at": ts(-timedelta(hours=3)),
        "config_error": None,
        "ecs_token_error": None,
        "something_new": "ignored",
    },
    "sessions": [
        {
            "name": "corp",
            "kind": "sso-session",
            "start_url": "https://d-1.awsapps.com/start",
            "region": "us-east-1",
            "state": "ready",
            "token_expires_at": ts(timedelta(hours=7, minutes=42, seconds=10)),
            "refreshable": True,
            "last_refresh": ts(-timedelta(minutes=12)),
            "next_refresh": ts(timedelta(hours=7, minutes=22, seconds=10)),
            "next_refresh_reason": "observed lifetime 8h: full margin",
            "last_error": None,
            "login_command": "ssod login --sso-session corp",
        },
        {
            "name": "https://old.awsapps.com/start",
            "kind": "legacy",
            "start_url": "https://old.awsapps.com/start",
            "region": "eu-west-1",
            "state": "login_required",
            "token_expires_at": None,
            "refreshable": False,
            "last_refresh": None,
            "next_refresh": None,
            "next_refresh_reason": None,
            "last_error": "token expired",
            "login_command": "ssod login --profile legacy",
        },
    ],
    "profiles": [
        {
            "name": "dev",
            "session": "corp",
            "kind": "sso",
            "account_id": "111111111111",
            "role_name": "ReadOnly",
            "credentials_expire_at": ts(timedelta(minutes=52, seconds=3)),
            "served": True,
            "last_used": ts(-timedelta(minutes=2)),
            "last_error": None,
        },
        {
            "name": "deploy",
            "session": "corp",
            "kind": "assume_role",
            "account_id": "222222222222",
            "role_arn": "arn:aws:iam::222222222222:role/Deployer",
            "credentials_expire_at": None,
            "served": False,
            "last_used": None,
            "last_error": "AccessDenied",
        },
    ],
    "problems": ["/home/u/.aws/config, [profile x]: sso_role_name is missing"],
}


def test_status_json_has_exactly_the_documented_keys() -> None:
    data = json.loads(render.status_json(STATUS))
    assert list(data) == ["daemon", "sessions", "profiles", "problems", "tokens"]
    assert tuple(data["daemon"]) == render.DAEMON_KEYS
    assert [tuple(s) for s in data["sessions"]] == [render.SESSION_KEYS] * 2
    assert [tuple(p) for p in data["profiles"]] == [render.PROFILE_KEYS] * 2
    assert data["profiles"][0]["role_arn"] is None
    assert data["profiles"][1]["role_name"] is None
    # Every documented key is named in the module docstring.
    doc = render.__doc__ or ""
    for key in render.DAEMON_KEYS + render.SESSION_KEYS + render.PROFILE_KEYS + render.TOKEN_KEYS:
        assert key in doc, key


def test_scoped_tokens_in_status_show_ids_never_tokens() -> None:
    tokens: list[dict[str, object]] = [
        {
            "id": "0123456789",
            "name": "ci",
            "profile": "dev",
            "created_at": "2026-12-03T08:00:00Z",
            "expires_at": "2026-12-03T20:00:00Z",
            "pid": None,
            "token": "ssod.0123456789.SECRET",
        },
        {
            "id": "abcdef0123",
            "name": "exec",
            "profile": "prod",
            "created_at": "2026-12-03T08:00:00Z",
            "expires_at": "2026-12-03T20:00:00Z",
            "pid": 4242,
        },
    ]
    data = json.loads(render.status_json({**STATUS, "tokens": tokens}))
    assert data["tokens"] == [{k: v for k, v in t.items() if k != "token"} for t in tokens]
    text = render.status_text({**STATUS, "tokens": tokens}, NOW)
    assert "SECRET" not in text
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("SCOPED TOKEN"))
    assert lines[at].split() == ["SCOPED", "TOKEN", "NAME", "PROFILE", "CREATED", "EXPIRES", "PID"]
    assert lines[at + 1].split()[:3] == ["0123456789", "ci", "dev"]
    assert lines[at + 1].split()[-1] == "-"
    assert lines[at + 2].split()[:3] == ["abcdef0123", "exec", "prod"]
    assert lines[at + 2].split()[-1] == "4242"
    assert "SCOPED TOKEN" not in render.status_text(STATUS, NOW)


def test_status_json_survives_a_sparse_reply() -> None:
    data = json.loads(render.status_json({"sessions": [{"name": "x"}], "profiles": "junk"}))
    assert data["daemon"]["pid"] is None
    assert data["sessions"][0]["state"] is None
    assert data["profiles"] == [] and data["problems"] == []


def test_status_text() -> None:
    lines = render.status_text(STATUS, NOW).splitlines()
    assert lines[:3] == [
        "ssod 0.1.0 (pid 4242), up 3h 12m",
        "  ECS endpoint  http://127.0.0.1:9179",
        "  config        /home/u/.aws/config, loaded 3h ago",
    ]
    [corp] = [line for line in lines if line.startswith("corp ")]
    assert re.split(r"\s{2,}", corp) == [
        "corp",
        "ready",
        "in 7h 42m",
        "in 7h 22m",  # the why is next_refresh_reason in --json
        "12m ago",
        "us-east-1",
        "https://d-1.awsapps.com/start",
    ]
    assert (
        "  SSO start URL https://old.awsapps.com/start needs a login (token expired): "
        "run `ssod login --profile legacy`"
    ) in lines
    [dev] = [line for line in lines if line.startswith("dev ")]
    assert "expire in 52m" in dev and "2m ago" in dev
    [deploy] = [line for line in lines if line.startswith("deploy ")]
    assert "Deployer (assumed)" in deploy and "not fetched yet" in deploy
    assert "  deploy: AccessDenied" in lines
    assert lines[-1] == "  ! /home/u/.aws/config, [profile x]: sso_role_name is missing"
    assert "\033[" not in "\n".join(lines)
    assert "\033[32m" in render.status_text(STATUS, NOW, color=True)


def test_status_text_when_nothing_is_configured() -> None:
    daemon = {"config_error": "line 3: bad", "ecs_token_error": "/t/ecs-token: mode 0644"}
    text = render.status_text({"daemon": daemon}, NOW)
    assert "  config error  line 3: bad" in text
    assert "  ECS token     /t/ecs-token: mode 0644" in text
    assert "No SSO sessions are loaded: fix the config error above." in text
    assert "ssod configure" not in text  # it would write into the file that does not parse
    assert "No SSO profiles are configured." in text
    fine = render.status_text({"daemon": {}}, NOW)
    assert "No SSO sessions are configured: run `ssod configure`" in fine


# -- roles, logout, rotation, login ------------------------------------------------------------

ROLES = {
    "session": "corp",
    "start_url": "https://d-1.awsapps.com/start",
    "region": "us-east-1",
    "accounts": [
        {"account_id": "2", "account_name": "prod", "email": "p@x", "roles": ["Admin"]},
        {"account_id": "1", "account_name": "dev", "email": "d@x", "roles": ["Admin", "Read"]},
        {"account_id": "3", "account_name": "empty", "email": "e@x", "roles": []},
    ],
}


def test_roles_text_and_json() -> None:
    profiles = [
        {"name": "dev", "account_id": "1", "role_name": "Read"},
        {"name": "dev2", "account_id": "1", "role_name": "Read"},
    ]
    assert render.roles_text(ROLES, profiles).splitlines() == [
        "sso-session corp (https://d-1.awsapps.com/start, us-east-1): 3 accounts, 3 roles",
        "",
        "ACCOUNT  NAME   ROLE        PROFILES",
        "1        dev    Admin       -",
        "1        dev    Read        dev, dev2",
        "3        empty  (no roles)  -",
        "2        prod   Admin       -",
    ]
    data = json.loads(render.roles_json(ROLES))
    assert list(data) == ["session", "start_url", "region", "accounts"]
    assert list(data["accounts"][0]) == ["account_id", "account_name", "email", "roles"]


@pytest.mark.parametrize(
    ("result", "text"),
    [
        ({"sessions": []}, "No SSO sessions are configured: nothing to log out of."),
        (
            {"sessions": [{"session": "corp", "revoked": True, "cli_cache_removed": 2}]},
            "Logged out of corp: token revoked, token cache file deleted, "
            "2 cached AWS CLI role credentials deleted.",
        ),
        (
            {"sessions": [{"session": "a", "revoked": False, "cli_cache_removed": 1}]},
            "Logged out of a: no valid token to revoke, token cache file deleted, "
            "1 cached AWS CLI role credential deleted.",
        ),
    ],
)
def test_logout_text(result: dict[str, Any], text: str) -> None:
    assert render.logout_text(result) == text


def test_rotated_text_never_shows_the_token() -> None:
    text = render.rotated_text({"token": "SECRET", "token_file": "/s/ecs-token"})
    assert "SECRET" not in text and "/s/ecs-token" in text and 'eval "$(ssod env)"' in text


DEVICE = {
    "event": "verification",
    "flow": "device",
    "url": "https://dev.example/?user_code=ABCD-EFGH",
    "verification_uri": "https://dev.example/",
    "user_code": "ABCD-EFGH",
}
PKCE = {"event": "verification", "flow": "pkce", "url": "http://127.0.0.1:1/authorize?x=1"}


@pytest.mark.parametrize(
    ("event", "opening", "joined", "first_line", "present"),
    [
        (
            DEVICE,
            True,
            False,
            "Attempting to open the sign-in page",
            ["ABCD-EFGH", "dev.example/ "],
        ),
        (DEVICE, False, False, "Open this URL in a browser on any device:", ["  ABCD-EFGH"]),
        (PKCE, False, False, "Open this URL in a browser on this machine:", ["--use-device-code"]),
        (PKCE, False, True, "A login for profile dev is already in progress", ["authorize?x=1"]),
    ],
)
def test_verification_text(
    event: dict[str, str], opening: bool, joined: bool, first_line: str, present: list[str]
) -> None:
    text = render.verification_text(
        event,
        opening=opening,
        joined=joined,
        retry="ssod login --profile dev",
        session="profile dev",
    )
    assert text.startswith(first_line)
    assert f"  {event['url']}\n" in text
    for part in present:
        assert part in text
    assert text.endswith("Waiting for the sign-in to complete (Ctrl-C cancels)...")


def test_login_done_text_is_the_aws_cli_line() -> None:
    assert render.login_done_text({"start_url": "https://x/start"}) == (
        "Successfully logged into Start URL: https://x/start"
    )
    # awscli/customizations/sso/login.py: the region note comes first.
    assert render.login_done_text({"start_url": "https://x/", "region_updated": "eu-west-1"}) == (
        "SSO region updated to eu-west-1\nSuccessfully logged into Start URL: https://x/"
    )


# -- shells ------------------------------------------------------------------------------------

AWKWARD = [
    "plain",
    "it's",
    "a b",
    "$HOME `x` \\n",
    'q"uote',
    "",
    "line\nbreak",
    "\u2018curly\u2019",
]


@pytest.mark.parametrize(
    ("value", "shell_name", "quoted"),
    [
        ("abc", "sh", "'abc'"),
        ("it's", "sh", "'it'\\''s'"),
        ("it's", "fish", "'it\\'s'"),
        ("a\\b", "fish", "'a\\\\b'"),
        ("it's", "powershell", "'it''s'"),
        ("\u2018x\u2019", "powershell", "'\u2018\u2018x\u2019\u2019'"),
    ],
)
def test_quote(value: str, shell_name: str, quoted: str) -> None:
    assert shell.quote(value, shell_name) == quoted


@pytest.mark.parametrize("value", AWKWARD)
def test_sh_assignment_round_trips_through_a_real_sh(value: str) -> None:
    line = shell.assign("SSOD_TEST_VALUE", value, "sh")
    out = subprocess.run(
        ["sh", "-c", f'{line}\nprintf "%s" "$SSOD_TEST_VALUE"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == value


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
@pytest.mark.parametrize("value", AWKWARD)
def test_fish_assignment_round_trips(value: str) -> None:
    line = shell.assign("SSOD_TEST_VALUE", value, "fish")
    out = subprocess.run(
        ["fish", "-c", f'{line}; printf "%s" "$SSOD_TEST_VALUE"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == value


@pytest.mark.parametrize(
    ("shell_name", "line"),
    [
        ("sh", "export A='x'"),
        ("fish", "set -gx A 'x'"),
        ("powershell", "$env:A = 'x'"),
    ],
)
def test_assign(shell_name: str, line: str) -> None:
    assert shell.assign("A", "x", shell_name) == line


def test_comment_stays_on_one_line() -> None:
    assert shell.comment("a\nb  c") == "# a b c"


ENDPOINT = {
    "url": "http://127.0.0.1:9179",
    "credentials_path": "/credentials/PROFILE",
    "token_file": "/state/ecs-token",
    "token": "tok",
}


def test_env_text() -> None:
    lines = shell.env_text(ENDPOINT, "a b/c", "sh", ["a note"]).splitlines()
    assert lines[0].startswith("# ssod:") and lines[1] == "# a note"
    assert lines[2:] == [
        "export AWS_CONTAINER_CREDENTIALS_FULL_URI='http://127.0.0.1:9179/credentials/a%20b%2Fc'",
        "export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE='/state/ecs-token'",
        "export AWS_CONTAINER_AUTHORIZATION_TOKEN='tok'",
    ]


CREDS = {
    "AccessKeyId": "AKIA",
    "SecretAccessKey": "s'ecret",
    "SessionToken": "tok",
    "Expiration": "2025-03-04T13:00:00Z",
    "AccountId": "111111111111",
    "RoleArn": "arn:aws:iam::1:role/R",
}


def test_credentials_text() -> None:
    process = json.loads(shell.credentials_text(CREDS, "process"))
    assert process == {
        "Version": 1,
        "AccessKeyId": "AKIA",
        "SecretAccessKey": "s'ecret",
        "SessionToken": "tok",
        "Expiration": "2025-03-04T13:00:00Z",
        "AccountId": "111111111111",
    }
    assert json.loads(shell.credentials_text(CREDS, "json")) == CREDS
    assert shell.credentials_text(CREDS, "env").splitlines() == [
        "export AWS_ACCESS_KEY_ID='AKIA'",
        "export AWS_SECRET_ACCESS_KEY='s'\\''ecret'",
        "export AWS_SESSION_TOKEN='tok'",
        "export AWS_CREDENTIAL_EXPIRATION='2025-03-04T13:00:00Z'",
    ]
    without_account = {k: v for k, v in CREDS.items() if k != "AccountId"}
    assert "AccountId" not in json.loads(shell.credentials_text(without_account, "process"))


def test_env_vars_without_a_token_file_and_with_a_region() -> None:
    scoped = {**ENDPOINT, "token_file": None, "token": "scoped"}
    assert shell.env_vars(scoped, "dev", "eu-west-1") == [
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9179/credentials/dev"),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "scoped"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
    ]


def test_status_shows_the_newest_scoped_tokens_and_counts_the_rest() -> None:
    tokens: list[dict[str, object]] = [
        {"id": f"{i:010x}", "profile": "dev", "created_at": None, "expires_at": None}
        for i in range(render.STATUS_TOKENS + 3)
    ]
    text = render.status_text({**STATUS, "tokens": tokens}, NOW)
    assert f"{render.STATUS_TOKENS + 2:010x}" in text and f"{0:010x}" not in text
    assert "... and 3 older (`ssod token list` shows them all)" in text


@pytest.mark.parametrize(
    ("started_by", "words"),
    [
        ("service", ", run by the service manager"),
        ("autostart", ", started on demand (`ssod service install` makes it a service)"),
        ("foreground", ", started by hand (`ssod daemon`)"),
        (None, ""),  # a daemon older than the key
        ("something-new", ""),
    ],
)
def test_status_says_how_the_daemon_was_started(started_by: str | None, words: str) -> None:
    status = {**STATUS, "daemon": {**STATUS["daemon"], "started_by": started_by}}
    first = render.status_text(status, NOW).splitlines()[0]
    assert first == "ssod 0.1.0 (pid 4242), up 3h 12m" + words
    assert render.status_data(status)["daemon"]["started_by"] == started_by


def test_an_expired_token_the_daemon_is_retrying_is_not_a_login() -> None:
    outage = {
        **STATUS["sessions"][0],
        "state": "expired",
        "token_expires_at": ts(-timedelta(minutes=3)),
        "next_refresh": ts(timedelta(seconds=40)),
        "next_refresh_reason": "retry 4 after a failed refresh",
        "last_error": "IAM Identity Center did not answer (HTTP 500)",
    }
    lines = render.status_text({**STATUS, "sessions": [outage]}, NOW).splitlines()
    assert (
        "  corp: AWS unavailable (IAM Identity Center did not answer (HTTP 500)), retrying in 40s"
    ) in lines
    assert not [line for line in lines if "needs a login" in line]
    [corp] = [line for line in lines if line.startswith("corp ")]
    assert re.split(r"\s{2,}", corp)[1:4] == ["expired", "3m ago", "in 40s"]
    # Expired and not refreshable any more: that one does need a login.
    stuck = {**outage, "refreshable": False}
    text = render.status_text({**STATUS, "sessions": [stuck]}, NOW)
    assert "corp needs a login" in text and "retrying" not in text


# -- status in a terminal's width --------------------------------------------------------------

LONG = "/home/a-rather-long-user-name/projects/infrastructure/config/aws/config"
WIDE: dict[str, Any] = {
    **STATUS,
    "daemon": {
        **STATUS["daemon"],
        "started_by": "autostart",
        "config_file": LONG,
        "config_error": f"{LONG}, line 12: a line comes before the first [section] header",
        "ecs_urls": ["http://127.0.0.1:9179", "http://169.254.170.2:9179"],
        "endpoints": {"AWS_ENDPOINT_URL_SSO_OIDC": "http://127.0.0.1:8900"},
    },
    "tokens": [
        {
            "id": "st-abcdef12",
            "name": "build-box-for-the-nightly",
            "profile": "deploy",
            "created_at": ts(-timedelta(hours=1)),
            "expires_at": ts(timedelta(hours=7)),
            "pid": 4321,
        }
    ],
}


@pytest.mark.parametrize("width", [80, 60, 100])
def test_status_fits_the_width(width: int) -> None:
    text = render.status_text(WIDE, NOW, width=width)
    assert max(len(line) for line in text.splitlines()) <= width, text
    # Nothing that matters is lost: every session, profile, state and next refresh remains.
    assert "corp" in text and "in 7h 22m" in text and "needs a login" in text
    for name in ("dev", "deploy", "build-box-for-the-nightly"):
        assert name in text
    assert "127.0.0.1:8900" in text  # the daemon's endpoints, when not AWS's own


def test_status_drops_columns_by_priority() -> None:
    text = render.status_text(WIDE, NOW, width=80)
    assert "START URL" not in text  # first to go
    assert "SESSION" in text and "STATE" in text and "NEXT REFRESH" in text
    wide = render.status_text(WIDE, NOW, width=200)
    assert "START URL" in wide and "LAST REFRESH" in wide


def test_no_contradiction_between_credentials_and_last_used() -> None:
    used = {
        **STATUS,
        "profiles": [{**STATUS["profiles"][1], "last_used": ts(-timedelta(seconds=39))}],
    }
    [line] = [x for x in render.status_text(used, NOW).splitlines() if x.startswith("deploy ")]
    assert "39s ago" in line and "not fetched yet" not in line and "none held" in line


def test_a_session_needing_a_login_is_said_once_in_one_wording() -> None:
    session = {**STATUS["sessions"][0], "state": "login_required", "last_error": None}
    profile = {**STATUS["profiles"][0], "last_error": "sso-session corp needs a login (...)"}
    text = render.status_text({"sessions": [session], "profiles": [profile]}, NOW)
    assert text.count("needs a login") == 2  # the STATE cell and the one note
    assert (
        "  sso-session corp needs a login (not logged in): run `ssod login --sso-session corp`"
        in text.splitlines()
    )


@pytest.mark.parametrize(
    ("environ", "tty", "width"),
    [
        ({"COLUMNS": "120"}, 90, 120),
        ({}, 90, 90),
        ({}, None, 80),
        ({"COLUMNS": "wide"}, None, 80),
        ({"COLUMNS": "0"}, None, 80),
    ],
)
def test_terminal_width(environ: dict[str, str], tty: int | None, width: int) -> None:
    assert render.terminal_width(environ, tty) == width
