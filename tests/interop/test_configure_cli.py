"""``ssod configure sso-session`` against ``aws configure sso-session``: same answers, same file.

Debian's AWS CLI v2 and ssod are each driven in a pseudo-terminal with the same keystrokes,
each on its own copy of one config file (comments, a profile, an existing session), and the two
files must come out byte for byte the same: a new session appended, an existing one updated in
place. Also: typing ``ap-nor`` shows the same three completions in both.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from cli_support import Terminal
from harness import DaemonHarness
from interop.clients import AWSCLI_V2, AWSCLI_V2_INIT

pytestmark = pytest.mark.interop

START = """\
# my settings
[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnly
[sso-session corp]
sso_start_url=https://d-1234567890.awsapps.com/start
sso_region = us-east-1
; the end
"""


def need_cli_v2() -> None:
    if not (AWSCLI_V2_INIT.exists() and "__version__ = '2." in AWSCLI_V2_INIT.read_text()):
        pytest.skip(f"no AWS CLI v2 from Debian in {AWSCLI_V2}")


def answer_all(command: list[str], env: dict[str, str], answers: list[tuple[str, str]]) -> str:
    term = Terminal(["configure", "sso-session"], env, program=command)
    try:
        for prompt, reply in answers:
            term.answer(prompt, reply)
        term.expect("Completed configuring SSO session")
    except BaseException:
        term.proc.kill()
        term.finish(5)
        raise
    assert term.finish() == 0, term.output
    return term.output


@pytest.mark.parametrize(
    "answers",
    [
        [
            ("SSO session name", "team"),
            ("SSO start URL [None]", "https://d-2222222222.awsapps.com/start/"),
            ("SSO region [None]", "ap-northeast-1"),
            ("SSO registration scopes [sso:account:access]", ""),
        ],
        [
            ("SSO session name", "corp"),
            ("SSO start URL [https://d-1234567890.awsapps.com/start]", ""),
            ("SSO region [us-east-1]", "eu-west-1"),
            ("SSO registration scopes [sso:account:access]", "sso:account:access,extra:scope"),
        ],
    ],
    ids=["new-session", "existing-session"],
)
def test_same_answers_same_file(
    ssod_daemon: DaemonHarness, tmp_path: Path, answers: list[tuple[str, str]]
) -> None:
    need_cli_v2()
    ssod_daemon.write_config(START)
    ssod_daemon.start()
    cli_home = tmp_path / "cli-home"
    (cli_home / ".aws").mkdir(parents=True)
    (cli_home / ".aws" / "config").write_text(START)
    cli_env = {"HOME": str(cli_home), "PATH": os.environ["PATH"], "TERM": "xterm"}
    cli_env["PROMPT_TOOLKIT_NO_CPR"] = "1"
    answer_all([str(AWSCLI_V2)], cli_env, answers)
    ours = answer_all(
        [sys.executable, "-m", "ssod.client.cli"],
        {**ssod_daemon.env, "TERM": "xterm"},
        answers,
    )
    assert "ssod login --sso-session" in ours
    assert ssod_daemon.config_file.read_text() == (cli_home / ".aws" / "config").read_text()


def test_both_offer_the_same_regions_for_ap_nor(ssod_daemon: DaemonHarness, tmp_path: Path) -> None:
    """CLI v2 lists completions as you type; ssod completes the common prefix on Tab and lists
    them on the next (readline has no menu)."""
    need_cli_v2()
    ssod_daemon.start()
    (tmp_path / ".aws").mkdir()
    cli_env = {"HOME": str(tmp_path), "PATH": os.environ["PATH"], "TERM": "xterm"}
    cli_env["PROMPT_TOOLKIT_NO_CPR"] = "1"
    shown = {}
    for name, command, env, keys in (
        ("aws", [str(AWSCLI_V2)], cli_env, "ap-nor"),
        ("ssod", [sys.executable, "-m", "ssod.client.cli"], ssod_daemon.env, "ap-nor\t\t"),
    ):
        term = Terminal(["configure", "sso-session"], {**env, "TERM": "xterm"}, program=command)
        try:
            term.answer("SSO session name", "team")
            term.answer("SSO start URL [None]", "https://d-1234567890.awsapps.com/start")
            term.expect("SSO region [None]")
            term.send(keys)
            term.expect("ap-northeast-3")
            shown[name] = sorted(set(re.findall(r"ap-northeast-\d", term.output)))
        finally:
            term.proc.kill()
            term.finish(5)
    assert shown["ssod"] == shown["aws"] == ["ap-northeast-1", "ap-northeast-2", "ap-northeast-3"]
