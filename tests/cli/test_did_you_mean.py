"""A mistyped command, subcommand, choice or option gets a "did you mean" (exit 2, usage).

The real parser of the real console script, in process: parsing needs no daemon.
"""

from __future__ import annotations

import pytest

from ssod.client import cli
from ssod.errors import EXIT_USAGE


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["stauts"], "did you mean 'status'?"),
        (["logot", "--all"], "did you mean 'logout'?"),
        (["token", "isue", "--profile", "dev"], "did you mean 'issue'?"),
        (["service", "instal"], "did you mean 'install'?"),
        (["env", "--shell", "bsh"], "did you mean 'bash'?"),
        (["status", "--jsno"], "did you mean --json?"),
        (["credentials", "--profle", "dev"], "did you mean --profile?"),
        (["token", "issue", "--profile", "dev", "--tll=1h"], "did you mean --ttl?"),
        (["roles", "--output", "jsn"], "did you mean 'json'?"),
    ],
)
def test_did_you_mean(argv: list[str], meant: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert meant in err and err.startswith("usage: ssod"), err


def test_nothing_close_gets_no_guess(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["status", "--zzzzzz"])
    err = capsys.readouterr().err
    assert "unrecognized arguments: --zzzzzz" in err and "did you mean" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "--output", "json", "--no-start"],
        ["roles", "--output", "text", "--no-start"],
        ["logout", "--no-start"],
        ["token", "list", "--output=json", "--no-start"],
        ["exec", "--no-start", "--profile", "dev", "--", "true"],
        ["console", "--no-start", "--print"],
        ["env", "--shell", "zsh", "--no-start"],
    ],
)
def test_the_aws_clis_habits_parse(argv: list[str]) -> None:
    args = cli.build_parser(argv[0]).parse_args(argv)
    assert args.no_start
    if "--output" in " ".join(argv):
        assert args.json == ("json" in " ".join(argv))
