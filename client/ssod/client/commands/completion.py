"""``ssod completion bash|zsh|fish``: print a completion script built from ssod's own parser."""

from __future__ import annotations

import argparse
from typing import Any

SHELLS = ("bash", "zsh", "fish")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod completion`` to the command line."""
    p = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish)",
        description=(
            'Print the completion script for SHELL. bash: add `eval "$(ssod completion bash)"` '
            'to ~/.bashrc. zsh: add `eval "$(ssod completion zsh)"` to ~/.zshrc after compinit, '
            "or save it as _ssod on $fpath. fish: ssod completion fish > "
            "~/.config/fish/completions/ssod.fish. Profile and sso-session names complete from "
            "the AWS config file."
        ),
    )
    p.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import sys

    from ssod.client.cli import build_parser
    from ssod.client.completion import shells as completion_shells
    from ssod.client.completion import tree as completion

    root = completion.extract(build_parser())
    render = {
        "bash": completion.bash_script,
        "zsh": completion_shells.zsh_script,
        "fish": completion_shells.fish_script,
    }[args.shell]
    sys.stdout.write(render(root))
    return 0
