"""Terminal prompts for the configure wizard: a line prompt with a default, and a choice menu.

In a terminal the menu is driven by the arrow keys and Enter (termios non-canonical mode, always
restored), and typing filters it, which matters in organizations with hundreds of accounts;
elsewhere (a pipe, a script) it is a numbered list read line by line. Line prompts read with
``input()`` so a terminal gets line editing (``readline``, imported only here: never on the
``ssod credentials`` path), and Tab completes from the words the caller gives, by readline's
convention: Tab completes the matches' common prefix (a unique match in full), a second Tab
lists them, and Tab never inserts whitespace (where there is no readline, a typed Tab is
dropped). An answer refused that is the start of some of the words (``ap-northeast-``) is
never refused bare: the matches are listed, as a second Tab would, and the prompt comes back
with the answer typed in, to finish. Ctrl-C raises
``KeyboardInterrupt``; the end of input raises ``UsageError``. Knows nothing about AWS or the
daemon.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from ssod.errors import UsageError

Validator = Callable[[str], str | None]

_KEYS = re.compile(r"\x1b\[[0-9;]*[A-Za-z~]|\x1bO[A-Za-z]|\x1b|.", re.DOTALL)
_UP = {"\x1b[A", "\x1bOA", "\x10"}
_DOWN = {"\x1b[B", "\x1bOB", "\x0e"}
_PAGE_UP = {"\x1b[5~"}
_PAGE_DOWN = {"\x1b[6~"}
_HOME = {"\x1b[H", "\x1bOH", "\x1b[1~"}
_END = {"\x1b[F", "\x1bOF", "\x1b[4~"}
_ENTER = {"\r", "\n"}
_BACKSPACE = {"\x7f", "\x08"}


class Console:
    """Prompts on a pair of text streams (the process's stdin and stdout by default)."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self._readline: Any = None  # the readline module, once a terminal prompt loaded it
        self._editing = False

    @property
    def is_terminal(self) -> bool:
        """True when both ends are a terminal that can move its cursor (menus, line editing)."""
        dumb = os.environ.get("TERM") == "dumb"
        return self.stdin.isatty() and self.stdout.isatty() and not dumb

    def say(self, text: str = "") -> None:
        """Print one line."""
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def ask(
        self,
        text: str,
        default: str | None = None,
        *,
        fmt: str | None = None,
        validate: Validator | None = None,
        completions: Sequence[str] = (),
    ) -> str:
        """Prompt ``TEXT [DEFAULT]: `` (or ``fmt``); Enter keeps the default; re-ask if invalid.

        In a terminal, Tab completes the answer from ``completions``.
        """
        prompt = fmt if fmt is not None else f"{text} [{default}]: "
        typed = ""
        while True:
            line = self._read_line(prompt, text, completions, typed).replace("\t", "")
            answer = (line.strip() or default or "").strip()
            problem = validate(answer) if validate else None
            if problem is None:
                return answer
            matches = _starting_with(answer, completions)
            if matches:  # not a value yet, but the start of some: show them, keep the typing
                self.say(_columns(matches))
                typed = answer
                continue
            typed = ""
            self.say(problem)

    def choose(self, items: Sequence[str]) -> int:
        """The index of the item the user picks; no question when there is only one."""
        if not items:
            raise ValueError("nothing to choose from")
        if len(items) == 1:
            return 0
        if self.is_terminal:
            return _Menu(self, items).run()
        width = len(str(len(items)))
        for number, item in enumerate(items, 1):
            self.say(f"  {number:>{width}}) {item}")

        def valid(answer: str) -> str | None:
            ok = answer.isdigit() and 1 <= int(answer) <= len(items)
            return None if ok else f"Enter a number from 1 to {len(items)}."

        return int(self.ask("", fmt=f"Choose 1-{len(items)}: ", validate=valid)) - 1

    def _read_line(
        self, prompt: str, text: str, completions: Sequence[str], typed: str = ""
    ) -> str:
        if self.stdin is sys.stdin and self.stdout is sys.stdout:
            if self.is_terminal and not self._editing:
                self._readline = _load_readline()
                self._editing = True
            edit = self._readline
            if edit is not None:
                _Completer(completions).install(edit)
                if typed:  # the answer so far, to finish (readline inserts it as if typed)
                    edit.set_startup_hook(lambda: edit.insert_text(typed))
            try:
                line = input(prompt)
            except EOFError:
                line = None
            finally:
                if edit is not None and typed:
                    edit.set_startup_hook(None)
        else:
            self.stdout.write(prompt)
            self.stdout.flush()
            read = self.stdin.readline()
            line = read.rstrip("\r\n") if read else None
        if line is None:
            self.say()
            what = text or prompt.strip().rstrip(":")
            raise UsageError(f"no answer to {what!r}: the input ended")
        if not self.stdin.isatty():
            self.say()  # a piped answer is not echoed: end the prompt's line
        return line


def _load_readline() -> Any:
    """``readline`` set up for the wizard's prompts, or None where the build has none."""
    try:
        import readline
    except ImportError:
        return None
    if "libedit" in (readline.__doc__ or ""):  # macOS's Python: libedit's own syntax
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
        # The first Tab completes the common prefix, the next lists the matches (plain
        # readline would ring once more first; show-all-if-ambiguous would list at once).
        readline.parse_and_bind("set show-all-if-unmodified on")
    # Answers have no spaces: the whole line is the word to complete (a region has '-').
    readline.set_completer_delims("")
    return readline


def _starting_with(answer: str, words: Sequence[str]) -> list[str]:
    """The words ``answer`` is the start of (and not already one of), in their order."""
    if not answer:
        return []
    return [w for w in dict.fromkeys(words) if w.startswith(answer) and w != answer]


def _columns(words: Sequence[str]) -> str:
    """``words`` in columns across the terminal, as readline lists completions."""
    width = max(len(w) for w in words) + 2
    per_row = max(1, (shutil.get_terminal_size().columns - 1) // width)
    rows = [words[i : i + per_row] for i in range(0, len(words), per_row)]
    return "\n".join("".join(w.ljust(width) for w in row).rstrip() for row in rows)


class _Completer:
    """A readline completer over a fixed list of words (prefix matches, in list order)."""

    def __init__(self, words: Sequence[str]) -> None:
        self._words = list(dict.fromkeys(words))
        self._matches: list[str] = []

    def install(self, readline: Any) -> None:
        # Each prompt starts fresh, as each of the CLI's prompts does: no earlier answers on Up.
        readline.clear_history()
        readline.set_completer(self.complete)

    def complete(self, text: str, state: int) -> str | None:
        if state == 0:
            self._matches = [word for word in self._words if word.startswith(text)]
        return self._matches[state] if state < len(self._matches) else None


class _Menu:
    """An arrow-key menu in the terminal, redrawn in place; typing filters the items."""

    def __init__(self, console: Console, items: Sequence[str]) -> None:
        self._out = console.stdout
        self._fd = console.stdin.fileno()
        self._items = list(items)
        self._query = ""
        self._shown = list(range(len(items)))
        self._cursor = 0
        self._top = 0
        self._drawn = 0

    def run(self) -> int:
        import termios

        saved = termios.tcgetattr(self._fd)
        raw = termios.tcgetattr(self._fd)
        # ISIG off too: Ctrl-C then arrives as a byte and is raised as KeyboardInterrupt here,
        # whether or not this terminal is the process's controlling one.
        raw[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG)
        raw[6][termios.VMIN] = 1
        raw[6][termios.VTIME] = 0
        termios.tcsetattr(self._fd, termios.TCSADRAIN, raw)
        self._write("\x1b[?25l")
        try:
            while True:
                self._draw()
                for key in self._keys():
                    picked = self._handle(key)
                    if picked is not None:
                        return picked
        finally:
            self._erase()
            self._write("\x1b[?25h")
            termios.tcsetattr(self._fd, termios.TCSADRAIN, saved)

    def _keys(self) -> list[str]:
        data = os.read(self._fd, 64)
        # An escape sequence may arrive split: wait a moment for its tail.
        while (
            data.endswith((b"\x1b", b"\x1b[", b"\x1bO"))
            and select.select([self._fd], [], [], 0.05)[0]
        ):
            data += os.read(self._fd, 64)
        if not data:
            raise UsageError("no answer to the menu: the input ended")
        return _KEYS.findall(data.decode("utf-8", errors="replace"))

    def _handle(self, key: str) -> int | None:
        page = self._rows()
        last = len(self._shown) - 1
        if key == "\x03":
            raise KeyboardInterrupt
        if key in _ENTER:
            return self._shown[self._cursor] if self._shown else None
        moves = {
            **dict.fromkeys(_UP, -1),
            **dict.fromkeys(_DOWN, 1),
            **dict.fromkeys(_PAGE_UP, -page),
            **dict.fromkeys(_PAGE_DOWN, page),
            **dict.fromkeys(_HOME, -len(self._shown)),
            **dict.fromkeys(_END, len(self._shown)),
        }
        if key in moves:
            self._cursor = max(0, min(last, self._cursor + moves[key]))
            return None
        if key in _BACKSPACE:
            self._filter(self._query[:-1])
        elif key in ("\x15", "\x1b"):
            self._filter("")
        elif len(key) == 1 and key.isprintable():
            self._filter(self._query + key)
        return None

    def _filter(self, query: str) -> None:
        self._query = query
        needle = query.casefold()
        self._shown = [i for i, item in enumerate(self._items) if needle in item.casefold()]
        self._cursor = self._top = 0

    def _rows(self) -> int:
        return max(3, shutil.get_terminal_size().lines - 2)

    def _draw(self) -> None:
        rows, width = self._rows(), max(20, shutil.get_terminal_size().columns - 1)
        self._top = min(self._top, self._cursor)
        self._top = max(self._top, self._cursor - rows + 1)
        lines = []
        for pos in range(self._top, min(len(self._shown), self._top + rows)):
            text = self._items[self._shown[pos]][: width - 2]
            lines.append(f"\x1b[7m> {text}\x1b[0m" if pos == self._cursor else f"  {text}")
        count = f"{len(self._shown)} of {len(self._items)}"
        hint = f"filter: {self._query} ({count})" if self._query else "type to filter"
        lines.append(f"\x1b[2m(up/down to move, Enter to choose, {hint})\x1b[0m")
        self._erase()
        self._write("\n".join(lines) + "\n")
        self._drawn = len(lines)

    def _erase(self) -> None:
        if self._drawn:
            self._write(f"\x1b[{self._drawn}A\r\x1b[J")
            self._drawn = 0

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()
