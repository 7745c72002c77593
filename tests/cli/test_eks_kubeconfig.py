"""``ssod eks kubeconfig``: entries written through kubectl, and ``--adopt`` of AWS CLI users.

The cluster's endpoint and CA come from the emulator's DescribeCluster through the daemon; the
written kubeconfig then works with the real kubectl against the emulator's API stub.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eks_support import real_kubectls
from harness import DaemonHarness

KUBECTLS = real_kubectls()
KUBECTL = KUBECTLS[-1] if KUBECTLS else None
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
ARN = "arn:aws:eks:us-east-1:111111111111:cluster/demo"
BIN = str(Path(sys.executable).parent)


def _kubectl(harness: DaemonHarness, env: dict[str, str], *args: str) -> str:
    assert KUBECTL is not None
    done = subprocess.run(
        [KUBECTL, *args],
        env={**harness.env, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (args, done.stderr, harness.log()[-2000:])
    return done.stdout


def _view(harness: DaemonHarness, env: dict[str, str]) -> dict[str, Any]:
    view: dict[str, Any] = json.loads(
        _kubectl(harness, env, "config", "view", "--raw", "-o", "json")
    )
    return view


@pytest.fixture
def signed_in(ssod_daemon: DaemonHarness) -> DaemonHarness:
    ssod_daemon.start()
    ssod_daemon.login(profile="dev", use_device_code=True)
    return ssod_daemon


def test_kubeconfig_writes_what_update_kubeconfig_writes(
    signed_in: DaemonHarness, tmp_path: Path
) -> None:
    config = tmp_path / "kube" / "config"
    env = {"KUBECONFIG": str(config)}
    done = signed_in.ssod("eks", "kubeconfig", "--cluster", "demo", "--profile", "dev", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Added new context {ARN} in {config}\n"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    view = _view(signed_in, env)
    state = signed_in.emulator.state
    [cluster] = view["clusters"]
    assert cluster["name"] == ARN
    assert cluster["cluster"]["server"] == state.kube_endpoints["demo"]
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == state.kube_ca
    [user] = view["users"]
    exec_ = user["user"]["exec"]
    assert user["name"] == ARN
    assert exec_["apiVersion"] == "client.authentication.k8s.io/v1"
    assert exec_["interactiveMode"] == "Never"
    assert os.path.isabs(exec_["command"])
    assert exec_["args"][-8:] == [
        *("eks", "token", "--cluster", "demo", "--region", "us-east-1", "--profile", "dev")
    ]
    assert view["current-context"] == ARN
    assert "hello-" in _kubectl(signed_in, env, "get", "pods")

    role = "arn:aws:iam::222222222222:role/Deployer"
    again = signed_in.ssod(
        *("eks", "kubeconfig", "--cluster", "demo", "--alias", "demo", "--role-arn", role),
        env={**env, "AWS_PROFILE": "dev"},
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"Updated context demo in {config}\n"
    view = _view(signed_in, env)
    assert len(view["clusters"]) == 1 and len(view["users"]) == 1
    assert {c["name"] for c in view["contexts"]} == {ARN, "demo"}
    assert view["current-context"] == "demo"
    assert view["users"][0]["user"]["exec"]["args"][-2:] == ["--role-arn", role]
    assert "hello-" in _kubectl(signed_in, env, "get", "pods")  # as the role
    assert signed_in.log().count("event=eks_role_assumed") == 1


def test_unknown_cluster(signed_in: DaemonHarness, tmp_path: Path) -> None:
    env = {"KUBECONFIG": str(tmp_path / "config")}
    done = signed_in.ssod("eks", "kubeconfig", "--cluster", "nope", "--profile", "dev", env=env)
    assert done.returncode != 0 and "nope" in done.stderr
    assert not (tmp_path / "config").exists()


AWS_WRITTEN = """\
# my clusters
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {ca}
    server: {server}
  name: {arn}
contexts:
- context:
    cluster: {arn}
    user: {arn}
  name: {arn}
current-context: {arn}
kind: Config
preferences: {{}}
users:
- name: static
  user:
    token: abc  # keep me
- name: {arn}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - --region
      - us-east-1
      - eks
      - get-token
      - --cluster-name
      - demo
      - --output
      - json
      command: aws
      env:
      - name: AWS_PROFILE
        value: dev
"""


def test_adopt_changes_only_the_command_lines(signed_in: DaemonHarness, tmp_path: Path) -> None:
    state = signed_in.emulator.state
    # ~/.kube/config as a link into a dotfiles repository: the target is edited, the link stays.
    target = tmp_path / "dotfiles" / "kubeconfig"
    target.parent.mkdir()
    config = tmp_path / "config"
    config.symlink_to(target)
    original = AWS_WRITTEN.format(
        ca=base64.b64encode(state.kube_ca).decode(), server=state.kube_endpoints["demo"], arn=ARN
    )
    target.write_text(original)
    env = {"KUBECONFIG": str(config), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = signed_in.ssod("eks", "kubeconfig", "--adopt", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Adopted 1 of 1 `aws eks get-token` users in {config}\n"
    after = config.read_text().splitlines()
    before = original.splitlines()
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert changed == [("      command: aws", f'      command: "{BIN}/ssod"')]
    assert config.is_symlink() and stat.S_IMODE(target.stat().st_mode) == 0o600
    # Editing ran no plugin; kubectl now runs ssod with the AWS CLI's arguments, unchanged: once.
    assert signed_in.log().count("fast request op=eks_token") == 0
    assert "hello-" in _kubectl(signed_in, env, "get", "pods")
    assert signed_in.log().count("fast request op=eks_token outcome=ok") == 1
    again = signed_in.ssod("eks", "kubeconfig", "--adopt", env=env)
    assert again.stdout == f"Adopted 0 of 0 `aws eks get-token` users in {config}\n"
