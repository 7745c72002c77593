"""``ssod completion bash|zsh|fish``: scripts built from the real parser parse and complete.

Each shell is used where installed (bash always is; zsh and fish are Debian packages of those
names) and skipped with the reason otherwise. bash is driven through ``COMP_WORDS`` and
``_ssod``; fish through ``complete -C``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest

from ssod.client.cli import build_parser, main
from ssod.client.completion import shells as completion_shells
from ssod.client.completion import tree as completion

CONFIG = """\
[default]
region = eu-west-1
[profile dev]
sso_session = corp
[profile prod ]
sso_session = corp
[sso-session corp]
sso_region = eu-west-1
"""


def tiny_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ssod")
    parser.add_argument("--version", action="version", version="1")
    sub = parser.add_subparsers(dest="command")
    login = sub.add_parser("login", help="sign in [to] SSO: it's quick")
    login.add_argument("--profile", metavar="NAME", help="the profile")
    sub.add_parser("logout", help="sign out")
    daemon = sub.add_parser("daemon", help="run it")
    daemon.add_argument("--log-level", choices=["debug", "info"], help="how loud")
    daemon.add_argument("--port-file", metavar="PATH", help="write the port here")
    daemon.add_argument("--env", action="append", help="repeatable")
    nested = sub.add_parser("service", help="autostart").add_subparsers(dest="verb")
    nested.add_parser("install", help="install it").add_argument("--dry-run", action="store_true")
    return parser


def script(shell: str, parser: argparse.ArgumentParser | None = None) -> str:
    root = completion.extract(parser or build_parser())
    render = {
        "bash": completion.bash_script,
        "zsh": completion_shells.zsh_script,
        "fish": completion_shells.fish_script,
    }[shell]
    return render(root)


def need(shell: str) -> str:
    path = shutil.which(shell)
    if path is None:
        pytest.skip(f"{shell} is not installed (Debian package: {shell})")
    return path


def bash_complete(tmp_path: Path, text: str, words: list[str], home: Path) -> list[str]:
    """Run ``_ssod`` for ``words`` (the last one being completed) and return COMPREPLY."""
    source = tmp_path / "ssod.bash"
    source.write_text(text)
    quoted = " ".join("'" + w + "'" for w in words)
    program = (
        f"source {source}\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n"
        '_ssod; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        [need("bash"), "--norc", "-c", program],
        capture_output=True,
        text=True,
        check=True,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    return sorted(line for line in result.stdout.splitlines() if line)


def test_model_reads_commands_options_values_and_kinds() -> None:
    root = completion.extract(tiny_parser())
    assert [c.key for c in root.walk()] == [
        "",
        "login",
        "logout",
        "daemon",
        "service",
        "service install",
    ]
    login = root.subcommands[0]
    assert login.help == "sign in [to] SSO: it's quick"
    profile = next(o for o in login.options if o.flags == ("--profile",))
    assert (profile.takes_value, profile.kind) == (True, completion.PROFILE)
    daemon = root.subcommands[2]
    by_flag = {o.flags[-1]: o for o in daemon.options}
    assert by_flag["--log-level"].choices == ("debug", "info")
    assert by_flag["--port-file"].kind == completion.FILE
    assert by_flag["--env"].repeat
    assert not by_flag["--help"].takes_value


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_scripts_for_the_real_parser_parse(tmp_path: Path, shell: str) -> None:
    path = tmp_path / f"ssod.{shell}"
    path.write_text(script(shell))
    check = {"bash": ["-n"], "zsh": ["-n"], "fish": ["--no-execute"]}[shell]
    result = subprocess.run(
        [need(shell), *check, str(path)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_completion_command_prints_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    assert capsys.readouterr().out == script("bash")
    assert main(["completion", "fish"]) == 0
    assert capsys.readouterr().out == script("fish")


def test_bash_completes_commands_from_the_real_parser(tmp_path: Path, clean_environ: Path) -> None:
    text = script("bash")
    names = [c.path[-1] for c in completion.extract(build_parser()).subcommands]
    assert {"login", "logout"} <= set(names)
    got = bash_complete(tmp_path, text, ["ssod", "lo"], clean_environ)
    assert got == sorted(n for n in names if n.startswith("lo"))
    assert bash_complete(tmp_path, text, ["ssod", "service", ""], clean_environ) == [
        "install",
        "status",
        "uninstall",
    ]
    assert bash_complete(tmp_path, text, ["ssod", "completion", ""], clean_environ) == [
        "bash",
        "fish",
        "zsh",
    ]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["ssod", "configure", ""], ["sso-session"]),
        (["ssod", "configure", "sso-session", "--sso-s"], ["--sso-session", "--sso-start-url"]),
        (["ssod", "configure", "--sso-region", "ap-nor"], [f"ap-northeast-{n}" for n in "123"]),
        (
            ["ssod", "configure", "sso-session", "--sso-region", "us-gov-"],
            ["us-gov-east-1", "us-gov-west-1"],
        ),
        (["ssod", "configure", "--region", "us-iso-e"], ["us-iso-east-1"]),  # any region
        (["ssod", "configure", "--output", "y"], ["yaml", "yaml-stream"]),
    ],
)
def test_bash_completes_configure_and_its_values(
    tmp_path: Path, clean_environ: Path, words: list[str], expected: list[str]
) -> None:
    assert bash_complete(tmp_path, script("bash"), words, clean_environ) == expected


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["ssod", "lo"], ["login", "logout"]),
        (["ssod", "daemon", "--log-level", ""], ["debug", "info"]),
        (["ssod", "daemon", "--log-level", "=", "d"], ["debug"]),
        (["ssod", "daemon", "--log-level", "="], ["debug", "info"]),
        (["ssod", "daemon", "--env", "X", "--p"], ["--port-file"]),
        (["ssod", "login", "--profile", ""], ["default", "dev", "prod"]),
        (["ssod", "login", "--profile", "d"], ["default", "dev"]),
        (["ssod", "service", "install", "--d"], ["--dry-run"]),
        (["ssod", "logout", ""], []),
    ],
)
def test_bash_completes_values_profiles_and_nested_commands(
    tmp_path: Path, clean_environ: Path, words: list[str], expected: list[str]
) -> None:
    (clean_environ / ".aws").mkdir()
    (clean_environ / ".aws" / "config").write_text(CONFIG)
    text = script("bash", tiny_parser())
    assert bash_complete(tmp_path, text, words, clean_environ) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ssod lo", ["login", "logout"]),
        ("ssod service ", ["install"]),
        ("ssod daemon --log-level ", ["debug", "info"]),
        ("ssod login --profile ", ["default", "dev", "prod"]),
        ("ssod service install --d", ["--dry-run"]),
    ],
)
def test_fish_completes_like_bash(
    tmp_path: Path, clean_environ: Path, line: str, expected: list[str]
) -> None:
    fish = need("fish")
    (clean_environ / ".aws").mkdir()
    (clean_environ / ".aws" / "config").write_text(CONFIG)
    source = tmp_path / "ssod.fish"
    source.write_text(script("fish", tiny_parser()))
    result = subprocess.run(
        [fish, "--no-config", "-c", f"source {source}; complete -C '{line}'"],
        capture_output=True,
        text=True,
        check=True,
        env={"HOME": str(clean_environ), "PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    assert sorted(row.split("\t")[0] for row in result.stdout.splitlines()) == expected


def test_zsh_script_escapes_help_and_lists_every_command() -> None:
    text = script("zsh", tiny_parser())
    assert text.startswith("#compdef ssod\n")
    assert "'login:sign in [to] SSO: it'\\''s quick'" in text
    assert "'--log-level=[how loud]:log_level:(debug info)'" in text
    assert "'*--env=[repeatable]:env: '" in text
    assert "'--profile=[the profile]:name:_ssod_sections profile'" in text
    assert "_ssod__service__install()" in text
    assert text.rstrip().endswith("fi")


def test_exec_and_console_complete_from_the_real_parser(
    tmp_path: Path, clean_environ: Path
) -> None:
    (clean_environ / ".aws").mkdir()
    (clean_environ / ".aws" / "config").write_text(CONFIG)
    text = script("bash")
    assert bash_complete(tmp_path, text, ["ssod", "ex"], clean_environ) == ["exec"]
    assert bash_complete(tmp_path, text, ["ssod", "con"], clean_environ) == [
        "configure",
        "console",
    ]
    assert bash_complete(tmp_path, text, ["ssod", "exec", "--"], clean_environ) == [
        "--force",
        "--help",
        "--no-login",
        "--no-start",
        "--profile",
        "--ttl",
    ]
    assert bash_complete(tmp_path, text, ["ssod", "console", "--profile", "d"], clean_environ) == [
        "default",
        "dev",
    ]
    options = bash_complete(tmp_path, text, ["ssod", "console", "--d"], clean_environ)
    assert options == ["--destination", "--duration"]
