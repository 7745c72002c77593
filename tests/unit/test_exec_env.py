"""``ssod exec``'s pure parts: the command's environment, its argv, and the nesting rule."""

from __future__ import annotations

import pytest

from ssod.client.commands import exec as cmd_exec
from ssod.errors import UsageError


def test_child_environment_drops_what_would_win_and_adds_the_profile() -> None:
    environ = {name: "x" for name in cmd_exec.OVERRIDING} | {"PATH": "/bin", "AWS_REGION": "old"}
    env = cmd_exec.child_environment(environ, [("AWS_REGION", "new"), ("A", "b")], "dev")
    assert env == {"PATH": "/bin", "AWS_REGION": "new", "A": "b", "SSOD_PROFILE": "dev"}
    # Without a region of its own, the profile leaves the caller's region alone.
    assert cmd_exec.child_environment({"AWS_REGION": "old"}, [], "p")["AWS_REGION"] == "old"


@pytest.mark.parametrize(
    ("words", "environ", "argv"),
    [
        (["--", "ls", "-l"], {}, ["ls", "-l"]),
        (["ls", "--", "x"], {}, ["ls", "--", "x"]),
        (["--"], {"SHELL": "/bin/zsh"}, ["/bin/zsh"]),
        ([], {"SHELL": "/bin/fish"}, ["/bin/fish"]),
        ([], {}, ["/bin/sh"]),
    ],
)
def test_command_argv(words: list[str], environ: dict[str, str], argv: list[str]) -> None:
    assert cmd_exec.command_argv(words, environ) == argv


@pytest.mark.parametrize(
    ("outer", "profile", "force", "refused"),
    [
        (None, "dev", False, False),
        ("dev", "dev", False, False),
        ("dev", "prod", False, True),
        ("dev", "prod", True, False),
        ("", "prod", False, False),
    ],
)
def test_nesting(outer: str | None, profile: str, force: bool, refused: bool) -> None:
    environ = {} if outer is None else {"SSOD_PROFILE": outer}
    if refused:
        with pytest.raises(UsageError, match="--force"):
            cmd_exec.refuse_nesting(environ, profile, force=force)
    else:
        cmd_exec.refuse_nesting(environ, profile, force=force)


@pytest.mark.parametrize(
    ("environ", "profile"),
    [
        ({}, "default"),
        ({"SSOD_PROFILE": "dev"}, "dev"),
        ({"SSOD_PROFILE": "dev", "AWS_PROFILE": "prod"}, "prod"),
        ({"AWS_PROFILE": "prod", "AWS_DEFAULT_PROFILE": "ops"}, "ops"),
    ],
)
def test_profile_here(environ: dict[str, str], profile: str) -> None:
    assert cmd_exec.profile_here(environ) == profile


@pytest.mark.parametrize(
    ("config", "credentials", "own"),
    [
        ("", "", False),
        ("[default]\nregion = eu-west-1\noutput = json\n", "", False),
        ("[default]\nsso_session = corp\n", "", True),
        ("[profile default]\ncredential_process = x\n", "", True),
        ("[ default ]\nrole_arn = arn:aws:iam::1:role/R\n", "", True),
        ("[default]\n# aws_access_key_id = old\n", "", False),
        ("[profile dev]\nsso_session = corp\n[default]\nregion = x\n", "", False),
        ("", "[default]\naws_access_key_id = AKIA\n", True),
        ("", "[dev]\naws_access_key_id = AKIA\n", False),
        ("", "[profile default]\naws_access_key_id = AKIA\n", False),
        ("[default\nbroken", "\x00\xff", False),
    ],
)
def test_default_has_credentials(config: str, credentials: str, own: bool) -> None:
    assert cmd_exec.default_has_credentials(config, credentials) is own


@pytest.mark.parametrize(
    ("shell_name", "profile", "line"),
    [
        ("sh", None, 'eval "$(ssod env)"'),
        ("sh", "dev", 'eval "$(ssod env --profile dev)"'),
        ("bash", "dev", 'eval "$(ssod env --profile dev)"'),
        ("zsh", "my_dev-2", 'eval "$(ssod env --profile my_dev-2)"'),
        ("sh", "it's", "eval \"$(ssod env --profile 'it'\\''s')\""),
        ("fish", "dev", "ssod env --profile dev --shell fish | source"),
        ("powershell", None, "ssod env --shell powershell | Invoke-Expression"),
    ],
)
def test_env_usage_line_keeps_the_profile(shell_name: str, profile: str | None, line: str) -> None:
    from ssod.client.output import env as env_output

    assert env_output.usage_line(shell_name, profile) == line
