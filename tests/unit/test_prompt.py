"""``prompt``: line prompts and the numbered menu on plain streams, the arrow-key menu in a pty."""

from __future__ import annotations

import io
import os
import select
import sys
import termios
import threading
from collections.abc import Iterator

import pytest

from cli_support import Terminal
from ssod.client.configure.prompt import Console
from ssod.errors import UsageError

ITEMS = ["alpha (1)", "beta (2)", "gamma (3)", "delta (4)"]


def console(answers: str) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(io.StringIO(answers), out), out


@pytest.mark.parametrize(
    ("answers", "default", "expected"),
    [("\n", "eu-west-1", "eu-west-1"), ("  us-east-1 \n", "x", "us-east-1"), ("\n", None, "")],
)
def test_ask_takes_the_default_on_enter(answers: str, default: str | None, expected: str) -> None:
    con, out = console(answers)
    assert con.ask("Default client Region", default) == expected
    assert out.getvalue().startswith(f"Default client Region [{default}]: ")


def test_ask_asks_again_until_valid() -> None:
    con, out = console("a b\nok\n")
    answer = con.ask("Name", None, validate=lambda v: "No spaces" if " " in v else None)
    assert answer == "ok"
    assert "No spaces" in out.getvalue()


def test_end_of_input_is_a_usage_error() -> None:
    con, _ = console("")
    with pytest.raises(UsageError, match="SSO start URL"):
        con.ask("SSO start URL", None)


def test_numbered_menu() -> None:
    con, out = console("9\nx\n3\n")
    assert con.choose(ITEMS) == 2
    assert "  1) alpha (1)\n" in out.getvalue()
    assert out.getvalue().count("Enter a number from 1 to 4.") == 2


def test_one_item_needs_no_question() -> None:
    con, out = console("")
    assert con.choose(["only"]) == 0
    assert out.getvalue() == ""


@pytest.fixture
def tty() -> Iterator[tuple[Console, int, int]]:
    """A Console on the slave end of a pty, the master fd to type on, and the slave fd."""
    master, slave = os.openpty()
    stdin = os.fdopen(os.dup(slave), "r")
    stdout = os.fdopen(os.dup(slave), "w")
    try:
        yield Console(stdin, stdout), master, slave
    finally:
        stdin.close()
        stdout.close()
        os.close(slave)
        os.close(master)


def type_when_shown(master: int, keys: str) -> threading.Thread:
    """Type ``keys`` once the menu is on screen (raw mode is on by then), draining the output."""

    def typist() -> None:
        seen = b""
        while b"to filter" not in seen:
            seen += os.read(master, 4096)
        os.write(master, keys.encode())
        while select.select([master], [], [], 0.05)[0]:
            try:
                os.read(master, 4096)
            except OSError:
                return

    thread = threading.Thread(target=typist, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    ("keys", "picked"),
    [
        ("\r", 0),
        ("\x1b[B\x1b[B\x1b[A\r", 1),
        ("\x1b[A\r", 0),  # stops at the top
        ("\x1b[F\r", 3),  # End
        ("\x1b[F\x1b[H\r", 0),  # Home
        ("\x1b[6~\r", 3),  # Page Down, clamped
        ("\x1bOB\n", 1),  # application-mode arrow, newline as Enter
        ("ga\r", 2),  # typing filters
        ("gax\x7f\r", 2),  # backspace
        ("zzz\x15\x1b[B\r", 1),  # Ctrl-U clears the filter
        ("ZZZ\r\x1b\r", 0),  # no match: Enter does nothing; Esc clears
    ],
)
def test_arrow_key_menu(tty: tuple[Console, int, int], keys: str, picked: int) -> None:
    con, master, slave = tty
    before = termios.tcgetattr(slave)
    typist = type_when_shown(master, keys)
    assert con.choose(ITEMS) == picked
    typist.join(5)
    assert termios.tcgetattr(slave) == before  # the terminal is restored


def test_ctrl_c_in_the_menu(tty: tuple[Console, int, int]) -> None:
    con, master, slave = tty
    before = termios.tcgetattr(slave)
    typist = type_when_shown(master, "\x1b[B\x03")
    with pytest.raises(KeyboardInterrupt):
        con.choose(ITEMS)
    typist.join(5)
    assert termios.tcgetattr(slave) == before


# -- Tab completion, with the real readline in a real pseudo-terminal -----------------------

_ASKER = """
from ssod.client.configure.prompt import Console
from ssod.client.configure.regions import SSO_REGIONS, check_region
con = Console()
checked = ("SSO region", SSO_REGIONS, check_region)
for text, words, check in (checked, checked, ("SSO region", SSO_REGIONS, None), ("Name", (), None)):
    con.say("ANSWER=" + repr(con.ask(text, None, validate=check, completions=words)))
"""


def test_tab_completes_like_readline() -> None:
    term = Terminal([], {**os.environ, "TERM": "xterm"}, program=[sys.executable, "-c", _ASKER])
    try:
        term.expect("SSO region [None]: ")
        term.send("ap-nor\t")
        term.expect("theast-")  # the first Tab completes the common prefix (and rings)
        assert term.screen()[-1] == "SSO region [None]: ap-northeast-"
        assert "ap-northeast-1" not in term.output  # and lists nothing yet
        term.send("\t")  # the second Tab lists the matches
        term.expect("ap-northeast-3")
        term.expect("SSO region [None]: ap-northeast-")
        screen = term.screen()
        assert screen[-1] == "SSO region [None]: ap-northeast-"
        assert screen[-2].split() == ["ap-northeast-1", "ap-northeast-2", "ap-northeast-3"]
        term.send("2\r")
        term.expect("ANSWER='ap-northeast-2'")
        # Enter on a start of some regions: they are listed, and the typing is kept to finish.
        term.answer("SSO region [None]: ", "eu-central-")
        term.expect("eu-central-2")
        term.expect("SSO region [None]: ")
        term.expect("eu-central-")
        screen = term.screen()
        assert screen[-2].split() == ["eu-central-1", "eu-central-2"]
        assert "not a region name" not in term.output
        term.send("1\r")
        term.expect("ANSWER='eu-central-1'")
        # One match: completed in full, and no space after it (the X lands right behind).
        term.answer("SSO region [None]: ", "us-gov-w\tX")
        term.expect("ANSWER='us-gov-west-1X'")
        # Nothing to complete: Tab inserts nothing at all (not spaces, not a tab).
        term.answer("Name [None]: ", "a\t\tb")
        term.expect("ANSWER='ab'")
    except BaseException:
        term.proc.kill()
        term.finish(5)
        raise
    assert term.finish() == 0, term.output


def test_a_piped_prefix_lists_what_it_can_become() -> None:
    from ssod.client.configure.regions import check_region

    con, out = console("ap-northeast-\nbogus\nap-northeast-1\n")
    words = ["us-east-1", "ap-northeast-1", "ap-northeast-2"]
    assert con.ask("SSO region", None, validate=check_region, completions=words) == (
        "ap-northeast-1"
    )
    shown = out.getvalue()
    assert "ap-northeast-1  ap-northeast-2\n" in shown
    assert shown.count("is not a region name") == 1  # bogus, not the prefix


def test_a_piped_tab_is_dropped() -> None:
    con, _ = console("ap-northeast-1\t\n")
    assert con.ask("SSO region", None, completions=["ap-northeast-1"]) == "ap-northeast-1"
