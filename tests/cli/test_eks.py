"""``ssod eks token`` with the real kubectl against the emulator's Kubernetes API stub.

kubectl runs ssod as its exec plugin (v1 and v1beta1 kubeconfigs, ssod's argv and the AWS CLI's),
over the fast socket; the stub verifies each bearer token as aws-iam-authenticator does and
recomputes its signature with the secret the emulator issued. The daemon's log counts plugin
runs (``fast request op=eks_token``) and signings (``event=eks_token_signed``).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from eks_support import call_stub, real_kubectls
from harness import DaemonHarness
from ssod import errors

KUBECTLS = real_kubectls()
KUBECTL = KUBECTLS[-1] if KUBECTLS else None
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"
SSOD_ARGS = ["eks", "token", "--cluster", "demo", "--profile", "dev"]
AWS_ARGS = [
    "--region",
    "us-east-1",
    "eks",
    "get-token",
    "--cluster-name",
    "demo",
    "--output",
    "json",
]


def _kubeconfig(
    harness: DaemonHarness, path: Path, api_version: str, args: list[str], cluster: str = "demo"
) -> Path:
    """A kubeconfig (JSON is YAML) whose user runs ssod as its exec plugin."""
    state = harness.emulator.state
    exec_: dict[str, Any] = {
        "apiVersion": api_version,
        "command": sys.executable,
        "args": ["-m", "ssod.client.cli", *args],
        "env": [{"name": "AWS_PROFILE", "value": "dev"}],
    }
    if api_version == V1:
        exec_["interactiveMode"] = "Never"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": state.kube_endpoints[cluster],
                    "certificate-authority-data": base64.b64encode(state.kube_ca).decode(),
                },
            }
        ],
        "users": [{"name": "u", "user": {"exec": exec_}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path.write_text(json.dumps(config))
    return path


def _kubectl(
    harness: DaemonHarness, kubeconfig: Path, *args: str, kubectl: str | None = None
) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run(
        [kubectl or KUBECTL, "--kubeconfig", str(kubeconfig), *args],
        env=harness.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _plugin_runs(harness: DaemonHarness) -> int:
    return harness.log().count("fast request op=eks_token outcome=ok")


def _signings(harness: DaemonHarness) -> int:
    return harness.log().count("event=eks_token_signed")


def _token(harness: DaemonHarness, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = harness.ssod(*args, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    body: dict[str, Any] = json.loads(done.stdout)
    return body


def _call_stub(harness: DaemonHarness, token: str) -> int:
    return call_stub(harness.emulator.state, token)


@pytest.fixture
def signed_in(ssod_daemon: DaemonHarness) -> DaemonHarness:
    ssod_daemon.start()
    ssod_daemon.login(profile="dev", use_device_code=True)
    return ssod_daemon


@needs_kubectl
@pytest.mark.parametrize("api_version", [V1, V1BETA1])
@pytest.mark.parametrize("args", [SSOD_ARGS, AWS_ARGS], ids=["ssod-argv", "aws-argv"])
def test_kubectl_get_pods_through_the_plugin(
    signed_in: DaemonHarness, tmp_path: Path, api_version: str, args: list[str]
) -> None:
    kubeconfig = _kubeconfig(signed_in, tmp_path / "config", api_version, args)
    runs = 3
    for _ in range(runs):
        done = _kubectl(signed_in, kubeconfig, "get", "pods")
        assert done.returncode == 0, (done.stderr, signed_in.log()[-3000:])
        assert "hello-" in done.stdout and "Running" in done.stdout
    # kubectl keeps exec credentials per process: one plugin run each; one signing in all.
    assert _plugin_runs(signed_in) == runs
    assert _signings(signed_in) == 1
    assert signed_in.emulator.calls().get("KubeApi:refused", 0) == 0


def test_the_exec_credential(signed_in: DaemonHarness) -> None:
    for info, expected in [
        (None, V1BETA1),
        (json.dumps({"apiVersion": V1, "kind": "ExecCredential", "spec": {}}), V1),
        (json.dumps({"apiVersion": V1BETA1}), V1BETA1),
        (json.dumps({"apiVersion": "client.authentication.k8s.io/v1alpha1"}), V1BETA1),
        ("not json", V1BETA1),
    ]:
        env = {} if info is None else {"KUBERNETES_EXEC_INFO": info}
        body = _token(signed_in, *SSOD_ARGS, env=env)
        assert body["kind"] == "ExecCredential" and body["apiVersion"] == expected
        assert body["status"]["token"].startswith("k8s-aws-v1.")
        assert body["status"]["expirationTimestamp"].endswith("Z")
    assert _signings(signed_in) == 1


def test_full_and_fast_paths_agree(signed_in: DaemonHarness) -> None:
    fast = signed_in.ssod(*SSOD_ARGS)
    full = signed_in.ssod(*SSOD_ARGS, env={"SSOD_FAST_PATH": "0"})
    aws_form = signed_in.ssod(*AWS_ARGS, env={"SSOD_FAST_PATH": "0", "AWS_PROFILE": "dev"})
    assert fast.returncode == full.returncode == aws_form.returncode == 0, full.stderr
    assert fast.stdout == full.stdout == aws_form.stdout  # one token, from memory
    assert _plugin_runs(signed_in) == 1


def test_tokens_the_stub_refuses(signed_in: DaemonHarness) -> None:
    good = _token(signed_in, *SSOD_ARGS)["status"]["token"]
    assert _call_stub(signed_in, good) == 200
    other = _token(signed_in, "eks", "token", "--cluster", "other", "--profile", "dev")
    body = good.removeprefix("k8s-aws-v1.")
    url = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    extra = "k8s-aws-v1." + base64.urlsafe_b64encode((url + "&Extra=1").encode()).decode()
    flip = "0" if url[-1] != "0" else "1"
    tampered = "k8s-aws-v1." + base64.urlsafe_b64encode((url[:-1] + flip).encode()).decode()
    for name, token in [
        ("wrong cluster", other["status"]["token"]),
        ("padded", good + "=" * (-len(body) % 4 or 4)),
        ("extra query key", extra.rstrip("=")),
        ("tampered signature", tampered.rstrip("=")),
        ("no prefix", body),
        ("too large", good + "A" * 4096),
    ]:
        assert _call_stub(signed_in, token) == 401, name
    # Past 15 minutes after X-Amz-Date the authenticator refuses it (the emulator's clock).
    signed_in.emulator.advance_clock(15 * 60 + 5)
    assert _call_stub(signed_in, good) == 401


@needs_kubectl
def test_the_oldest_kubectl_too(signed_in: DaemonHarness, tmp_path: Path) -> None:
    kubeconfig = _kubeconfig(signed_in, tmp_path / "config", V1, SSOD_ARGS)
    done = _kubectl(signed_in, kubeconfig, "get", "pods", kubectl=KUBECTLS[0])
    assert done.returncode == 0, done.stderr
    assert "hello-" in done.stdout
    assert _plugin_runs(signed_in) == 1


@needs_kubectl
def test_kubectl_with_a_token_for_another_cluster_is_unauthorized(
    signed_in: DaemonHarness, tmp_path: Path
) -> None:
    args = ["eks", "token", "--cluster", "other", "--profile", "dev"]
    kubeconfig = _kubeconfig(signed_in, tmp_path / "config", V1, args)
    done = _kubectl(signed_in, kubeconfig, "get", "pods")
    assert done.returncode != 0
    assert "Unauthorized" in done.stderr or "must be logged in" in done.stderr


def test_role_arn_is_assumed_once(signed_in: DaemonHarness) -> None:
    signed_in.emulator.reset_calls()
    role = "arn:aws:iam::222222222222:role/Deployer"
    first = _token(signed_in, *SSOD_ARGS, "--role-arn", role)
    again = _token(signed_in, *AWS_ARGS, "--role", role, env={"AWS_PROFILE": "dev"})
    assert first == again
    assert signed_in.emulator.calls().get("AssumeRole") == 1
    assert _call_stub(signed_in, first["status"]["token"]) == 200
    plain = _token(signed_in, *SSOD_ARGS)
    assert plain["status"]["token"] != first["status"]["token"]  # another principal
    named = _token(signed_in, *SSOD_ARGS, "--role-arn", role, "--session-name", "kube")
    assert named["status"]["token"] != first["status"]["token"]  # another role session
    assert signed_in.emulator.calls().get("AssumeRole") == 2


def test_errors_name_the_fix(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    for env in ({}, {"SSOD_FAST_PATH": "0"}):
        done = ssod_daemon.ssod(*SSOD_ARGS, env=env)
        assert done.returncode == errors.EXIT_LOGIN_REQUIRED
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1 and "ssod login" in done.stderr, done.stderr
    done = ssod_daemon.ssod("eks", "token", "--cluster", "demo", "--profile", "nope")
    assert done.returncode == errors.EXIT_NOT_FOUND and done.stdout == ""


def test_the_plugin_imports_no_pyzmq_json_argparse_or_botocore(
    signed_in: DaemonHarness, tmp_path: Path
) -> None:
    modules = tmp_path / "modules.txt"
    code = (
        "import sys\n"
        "from ssod.client import fastpath\n"
        "code = fastpath.main()\n"
        f"open({str(modules)!r}, 'w').write(' '.join(sorted(sys.modules)))\n"
        "sys.exit(code)\n"
    )
    for args, env in ((SSOD_ARGS, {}), (AWS_ARGS, {"AWS_PROFILE": "dev"})):
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            env={**signed_in.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["kind"] == "ExecCredential"
        loaded = set(modules.read_text().split())
        heavy = {"zmq", "json", "argparse", "typing", "socket", "botocore", "aiohttp"}
        assert loaded & heavy == set(), args
        assert not loaded & {"ssod.wire", "ssod.client.cli", "ssod.client.output.execcred"}
    assert _plugin_runs(signed_in) == 2


def test_short_lived_credentials_are_refreshed_first_and_bound_the_token(
    ssod_daemon: DaemonHarness,
) -> None:
    ssod_daemon.emulator.settings(credential_lifetime=600)  # under the 15-minute signing floor
    ssod_daemon.start()
    ssod_daemon.login(profile="dev", use_device_code=True)
    before = datetime.now(UTC).replace(microsecond=0)
    body = _token(ssod_daemon, *SSOD_ARGS)
    end = datetime.strptime(body["status"]["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    end = end.replace(tzinfo=UTC)
    # A minute before 10-minute credentials end, not the CLI's 14 minutes; never in the past.
    assert before + timedelta(minutes=8) < end < before + timedelta(minutes=10)
    assert ssod_daemon.log().count("event=credentials_fetched profile=dev") == 2


def test_logout_stops_the_tokens(signed_in: DaemonHarness) -> None:
    role = "arn:aws:iam::222222222222:role/Deployer"
    assert _token(signed_in, *SSOD_ARGS)
    assert _token(signed_in, *SSOD_ARGS, "--role-arn", role)
    assert signed_in.ssod("logout", "--profile", "dev").returncode == 0
    for extra in ((), ("--role-arn", role)):
        done = signed_in.ssod(*SSOD_ARGS, *extra)
        assert done.returncode == errors.EXIT_LOGIN_REQUIRED, done.stderr
        assert done.stdout == ""
