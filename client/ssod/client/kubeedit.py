"""Which kubeconfig users run ``aws eks get-token``, and the one-line edit that points them at ssod.

``ssod eks kubeconfig --adopt`` must keep every other line of the file (comments, order, quoting),
so it does not re-emit YAML: kubectl parses the file (``kubectl config view -o json``, the list
of users in file order), these functions find each adopted user's ``command:`` line in the block
style kubectl and ``aws eks update-kubeconfig`` write, and replace that line only. A user whose
line cannot be found that way (flow style, anchors) is reported and left alone. Pure.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Set
from typing import Any

_COMMAND = re.compile(r"^(?P<indent>\s*)command:\s*(?P<value>.*?)\s*$")
_TOP_KEY = re.compile(r"^[^\s#-][^:]*:")


def aws_get_token_users(view: Mapping[str, Any]) -> set[str]:
    """The users of ``kubectl config view -o json`` that run the AWS CLI's ``eks get-token``."""
    names = set()
    for entry in view.get("users") or []:
        exec_ = ((entry or {}).get("user") or {}).get("exec") or {}
        command = str(exec_.get("command") or "")
        args = [str(a) for a in exec_.get("args") or []]
        name = os.path.basename(command)
        runs_aws = name in ("aws", "aws.cmd", "aws.exe")
        if runs_aws and "eks" in args and "get-token" in args:
            names.add(str((entry or {}).get("name")))
    return names


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def adopt(text: str, names: Set[str], command: str) -> tuple[str, int, int]:
    """``text`` with the ``command:`` line of each user named in ``names`` set to ``command``.

    Returns the new text, how many users were changed, and how many of ``names`` had no
    block-style item with one ``command: aws`` line to change.
    """
    lines = text.splitlines(keepends=True)
    spans: dict[str, list[tuple[int, int]]] = {}
    for span in _user_items(lines):
        name = _item_name(lines, span)
        if name is not None:
            spans.setdefault(name, []).append(span)
    changed = missed = 0
    for name in sorted(names):
        found = spans.get(name, [])
        line_no = _command_line(lines, found[0]) if len(found) == 1 else None
        if line_no is None:
            missed += 1
            continue
        match = _COMMAND.match(lines[line_no].rstrip("\r\n"))
        assert match is not None
        ending = lines[line_no][len(lines[line_no].rstrip("\r\n")) :]
        lines[line_no] = f"{match['indent']}command: {json.dumps(command)}{ending}"
        changed += 1
    return "".join(lines), changed, missed


def _user_items(lines: list[str]) -> list[tuple[int, int]]:
    """The line spans ``[start, end)`` of the items of the top-level ``users:`` list."""
    start = next((i for i, line in enumerate(lines) if re.match(r"^users:\s*$", line)), None)
    if start is None:
        return []
    items: list[tuple[int, int]] = []
    dash_indent: int | None = None
    begin = None
    end = len(lines)
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if _TOP_KEY.match(line):
            end = i
            break
        stripped = line.lstrip(" ")
        if not stripped.strip() or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        if stripped.startswith("- ") or stripped.rstrip() == "-":
            if dash_indent is None:
                dash_indent = indent
            if indent == dash_indent:
                if begin is not None:
                    items.append((begin, i))
                begin = i
    if begin is not None:
        items.append((begin, end))
    return items


def _item_name(lines: list[str], span: tuple[int, int]) -> str | None:
    """The ``name:`` of a list item (on its ``- `` line or a key line level with it)."""
    first = lines[span[0]]
    key_indent = len(first) - len(first.lstrip(" ")) + 2
    for i in range(*span):
        line = lines[i].rstrip("\r\n")
        body = line[key_indent:] if i > span[0] else line.lstrip(" ")[2:]
        if i > span[0] and (len(line) - len(line.lstrip(" ")) != key_indent):
            continue
        match = re.match(r"^name:\s*(?P<value>.*?)\s*$", body)
        if match:
            return _unquote(match["value"])
    return None


def _command_line(lines: list[str], span: tuple[int, int]) -> int | None:
    """The index of the only ``command:`` line naming the AWS CLI in ``span``, if one."""
    found = [
        i
        for i in range(*span)
        if (m := _COMMAND.match(lines[i].rstrip("\r\n")))
        and os.path.basename(_unquote(m["value"])) in ("aws", "aws.cmd", "aws.exe")
    ]
    return found[0] if len(found) == 1 else None
