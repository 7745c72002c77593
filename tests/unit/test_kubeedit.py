"""``kubeedit``: which users run ``aws eks get-token``, and the one-line edit of each."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ssod.client import kubeedit

ARN = "arn:aws:eks:us-east-1:111111111111:cluster/demo"

FILE = f"""\
apiVersion: v1
users:
# a comment
- name: static
  user:
    token: abc
- name: "{ARN}"
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args: [--region, us-east-1, eks, get-token, --cluster-name, demo]
      command: aws
- user:
    exec:
      command: '/usr/local/bin/aws'
      args:
      - eks
      - get-token
  name: second
- name: flow
  user: {{exec: {{command: aws, args: [eks, get-token]}}}}
current-context: x
command: aws
"""


def test_users_that_run_aws_eks_get_token() -> None:
    view = {
        "users": [
            {"name": "static", "user": {"token": "abc"}},
            {"name": ARN, "user": {"exec": {"command": "aws", "args": ["eks", "get-token"]}}},
            {"name": "s", "user": {"exec": {"command": "/x/aws", "args": ["eks", "get-token"]}}},
            {"name": "o", "user": {"exec": {"command": "aws", "args": ["sts", "x"]}}},
            {"name": "g", "user": {"exec": {"command": "gke-gcloud-auth-plugin"}}},
            {"name": "n", "user": None},
        ]
    }
    assert kubeedit.aws_get_token_users(view) == {ARN, "s"}
    assert kubeedit.aws_get_token_users({}) == set()


def test_only_the_command_lines_change() -> None:
    text, changed, missed = kubeedit.adopt(FILE, {ARN, "second", "flow"}, "/opt/ssod")
    assert (changed, missed) == (2, 1)  # the flow-style user is left alone
    before, after = FILE.splitlines(), text.splitlines()
    diff = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert diff == [
        ("      command: aws", '      command: "/opt/ssod"'),
        ("      command: '/usr/local/bin/aws'", '      command: "/opt/ssod"'),
    ]


def test_crlf_and_indented_lists_and_names_not_found() -> None:
    crlf = "users:\r\n  - name: a\r\n    user:\r\n      exec:\r\n        command: aws\r\n"
    text, changed, missed = kubeedit.adopt(crlf, {"a", "gone"}, "/s")
    assert (changed, missed) == (1, 1)
    assert text == crlf.replace("command: aws", 'command: "/s"')
    assert kubeedit.adopt("kind: Config\n", {"a"}, "/s") == ("kind: Config\n", 0, 1)


def test_which_kubeconfig_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ssod.client.kubeconfig import kubeconfig_path

    monkeypatch.setenv("HOME", str(tmp_path))
    first, second = tmp_path / "a", tmp_path / "b"
    assert kubeconfig_path(None, {}) == tmp_path / ".kube" / "config"
    assert kubeconfig_path(None, {"KUBECONFIG": ""}) == tmp_path / ".kube" / "config"
    assert (
        kubeconfig_path(None, {"KUBECONFIG": f"{os.pathsep}{first}{os.pathsep}{second}"}) == first
    )
    assert kubeconfig_path("~/x", {"KUBECONFIG": str(first)}) == tmp_path / "x"
