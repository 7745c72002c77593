"""``ssod eks kubeconfig``: a cluster's kubeconfig entries, or adopting ``aws eks get-token`` users.

Kubeconfig is YAML, and the client takes no YAML dependency: kubectl itself parses and writes it
(``kubectl config set-cluster``/``set``/``set-credentials``/``set-context``/``use-context``,
``kubectl config view -o json``), since kubectl is there whenever a kubeconfig matters. Entries
are named as ``aws eks update-kubeconfig`` names them (the cluster ARN; ``--alias`` for the
context) and the user runs ssod: ``exec.apiVersion`` ``client.authentication.k8s.io/v1``,
``interactiveMode: Never``, an absolute ``command``. ``--adopt`` changes only the ``command:``
line of each user that runs ``aws eks get-token`` (``kubeedit``), args and env unchanged, and
checks through kubectl that nothing else changed. Either way kubectl edits a private 0600 copy,
whose bytes then replace the file through ``ssod.atomicfile`` (whole or not at all, 0600).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Set
from pathlib import Path
from typing import Any

from ssod import atomicfile
from ssod.client import common, kubeedit
from ssod.errors import SsodError, UsageError

V1 = "client.authentication.k8s.io/v1"
#: DescribeCluster through the daemon: credentials from memory (or a fetch) and one AWS call.
DESCRIBE_TIMEOUT = 15.0


def kubeconfig_path(explicit: str | None, environ: Mapping[str, str]) -> Path:
    """The file to write: ``--kubeconfig``, else the first ``KUBECONFIG`` entry, else
    ``~/.kube/config`` (``aws eks update-kubeconfig``'s choice for a new cluster)."""
    if explicit:
        return Path(explicit).expanduser().absolute()
    for entry in environ.get("KUBECONFIG", "").split(os.pathsep):
        if entry.strip():
            return Path(entry).expanduser().absolute()
    return Path.home() / ".kube" / "config"


def ssod_command() -> list[str]:
    """The absolute command that runs ssod (the console script when installed)."""
    found = shutil.which("ssod")
    if found:
        return [os.path.abspath(found)]
    return [sys.executable, "-m", "ssod.client.cli"]


def kubectl_binary() -> str | None:
    """kubectl; with Google Cloud SDK's dispatcher, the newest ``kubectl.1.NN`` beside it.

    The dispatcher asks the current context's server for its version before every command, which
    runs that context's exec plugin (an ``aws eks get-token`` about to be adopted, say); the
    ``config`` subcommands need no server and read and write the file alike in every version.
    """
    found = shutil.which("kubectl")
    if found is None:
        return None
    real = os.path.realpath(found)
    versions = [p for p in glob.glob(glob.escape(real) + ".1.*") if p.rsplit(".", 1)[1].isdigit()]
    if not versions:
        return found
    return max(versions, key=lambda p: int(p.rsplit(".", 1)[1]))


def run(args: argparse.Namespace) -> int:
    """Run ``ssod eks kubeconfig``."""
    kubectl = kubectl_binary()
    if kubectl is None:
        raise UsageError("kubectl is not installed: ssod eks kubeconfig edits kubeconfig with it")
    path = kubeconfig_path(args.kubeconfig, os.environ)
    if args.adopt:
        return _adopt(kubectl, path)
    return _write(kubectl, path, args)


def _write(kubectl: str, path: Path, args: argparse.Namespace) -> int:
    from ssod.wire import Op

    profile = args.profile or common.default_profile()
    request: dict[str, str] = {"profile": profile, "cluster": args.cluster}
    if args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"):
        request["region"] = (
            args.region or os.environ.get("AWS_REGION") or os.environ["AWS_DEFAULT_REGION"]
        )
    with common.connect(DESCRIBE_TIMEOUT, start=common.wants_start(args)) as client:
        found = client.request(Op.EKS_CLUSTER, **request)
    arn, endpoint = str(found["arn"]), str(found["endpoint"])
    if found.get("status") not in ("ACTIVE", "UPDATING"):
        raise SsodError(f"cluster {args.cluster} is {found.get('status')}, not ACTIVE")
    region = arn.split(":")[3]
    command = ssod_command()
    plugin_args = [*command[1:], "eks", "token", "--cluster", args.cluster, "--region", region]
    plugin_args += ["--profile", profile]
    if args.role_arn:
        plugin_args += ["--role-arn", args.role_arn]
    context = args.alias or arn
    existed = _has_cluster(kubectl, path, arn)
    with _edited_copy(path) as copy:
        _kubectl(kubectl, copy, "set-cluster", arn, f"--server={endpoint}")
        ca = str(found.get("certificate_authority") or "")
        if ca:
            _kubectl(kubectl, copy, "set", f"clusters.{arn}.certificate-authority-data", ca)
        _kubectl(
            kubectl,
            copy,
            "set-credentials",
            arn,
            f"--exec-command={command[0]}",
            f"--exec-api-version={V1}",
            "--exec-interactive-mode=Never",
            *(f"--exec-arg={word}" for word in plugin_args),
        )
        _kubectl(kubectl, copy, "set-context", context, f"--cluster={arn}", f"--user={arn}")
        _kubectl(kubectl, copy, "use-context", context)
    verb = "Updated" if existed else "Added new"
    print(f"{verb} context {context} in {path}")
    return 0


def _adopt(kubectl: str, path: Path) -> int:
    if not path.exists():
        raise UsageError(f"no kubeconfig at {path}")
    before = _view(kubectl, path)
    names = kubeedit.aws_get_token_users(before)
    command = ssod_command()
    if len(command) > 1:
        raise UsageError("no `ssod` on PATH: --adopt points kubeconfig users at that command")
    text, changed, missed = kubeedit.adopt(path.read_text(encoding="utf-8"), names, command[0])
    if changed:
        with _edited_copy(path) as copy:
            atomicfile.write(copy, text.encode("utf-8"))
            _check_adopted(before, _view(kubectl, copy), names, command[0])
    print(f"Adopted {changed} of {len(names)} `aws eks get-token` users in {path}")
    if missed:
        print(
            f"ssod: {missed} user(s) not in the block style kubectl writes were left as they are",
            file=sys.stderr,
        )
    return 0


def _check_adopted(
    before: dict[str, Any], after: dict[str, Any], names: Set[str], command: str
) -> None:
    """kubectl reads the edited copy as the original with only adopted commands changed."""
    expected = json.loads(json.dumps(before))
    for entry in expected.get("users") or []:
        if entry.get("name") in names and entry.get("user", {}).get("exec"):
            entry["user"]["exec"]["command"] = command
    if after != expected:
        raise SsodError("the kubeconfig edit changed more than the adopted commands; not written")


def _has_cluster(kubectl: str, path: Path, name: str) -> bool:
    if not path.exists():
        return False
    return any(c.get("name") == name for c in _view(kubectl, path).get("clusters") or [])


def _view(kubectl: str, path: Path) -> dict[str, Any]:
    out = _kubectl(kubectl, path, "view", "--raw", "-o", "json")
    view: dict[str, Any] = json.loads(out or "{}")
    return view


def _kubectl(kubectl: str, path: Path, *args: str) -> str:
    done = subprocess.run(
        [kubectl, "config", "--kubeconfig", str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "KUBECONFIG": ""},
    )
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or ["no message"]
        raise SsodError(f"kubectl config {args[0]} failed: {detail[0]}")
    return done.stdout


@contextlib.contextmanager
def _edited_copy(path: Path) -> Iterator[Path]:
    """A 0600 copy of ``path`` (or an empty file) in a private temp directory, for kubectl to edit;
    when the block ends without an error, its bytes replace the file (``atomicfile.write``).

    A kubeconfig that is a symlink (a dotfiles repository, say) has its target replaced, as
    kubectl and the AWS CLI write through it; the link stays.
    """
    target = Path(os.path.realpath(path))
    atomicfile.ensure_private_dir(target.parent)
    with tempfile.TemporaryDirectory(prefix="ssod-kubeconfig-") as tmp:
        copy = Path(tmp) / "config"
        atomicfile.write(copy, target.read_bytes() if target.exists() else b"")
        yield copy
        atomicfile.write(target, copy.read_bytes(), mode=0o600)
