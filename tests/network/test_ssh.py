"""``ssh -R`` to a remote host: Debian's real sshd runs in a network namespace (root).

The "remote host" is a network namespace with only its own loopback, so it cannot reach this
machine's 127.0.0.1; ssh reaches it through ``ProxyCommand``, which starts sshd in inetd mode
(``sshd -i``) inside it for each connection, as OpenSSH's own regression tests do. No
interface or address is added to this machine's network. ``ssod env --remote`` prints the ssh
options and the remote lines; the test connects with exactly those options, pipes the lines
into the remote shell, and real clients there get the laptop's credentials through the
forwarded port with the scoped token; once the token is revoked here, the remote side gets
nothing. The clients' own STS calls reach the emulator through a second ``-R`` forward.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import DaemonHarness
from interop.clients import AWSCLI_V2, AWSCLI_V2_CLIENT, BOTO3, AwsClient, require
from interop.workload import expected_identity, ssod_login
from netns import Namespace, require_root
from ssod.wire import Op

pytestmark = pytest.mark.interop

SSHD = Path("/usr/sbin/sshd")
FETCH = "import boto3, json\nprint(json.dumps(boto3.client('sts').get_caller_identity()['Arn']))\n"


class RemoteHost:
    """sshd in its own namespace (one for each connection), and a client key it accepts."""

    def __init__(self, ns: Namespace, key: Path, config: Path, log: Path):
        self.ns, self.key, self.config, self.log = ns, key, config, log

    def log_tail(self) -> str:
        """The end of sshd's log (empty if none ran)."""
        return self.log.read_text()[-2000:] if self.log.exists() else ""

    @property
    def proxy(self) -> str:
        """The ``ProxyCommand``: sshd speaking over ssh's pipes, inside the namespace."""
        sshd = [str(SSHD), "-i", "-f", str(self.config), "-E", str(self.log)]
        return shlex.join(self.ns.argv(sshd))

    def ssh(
        self, options: str, command: str, stdin: str, timeout: float = 90.0
    ) -> subprocess.CompletedProcess[str]:
        argv = [
            "ssh",
            "-i", str(self.key),
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR",
            "-o", f"ProxyCommand={self.proxy}",
            *shlex.split(options),
            "root@remote",
            command,
        ]  # fmt: skip
        return subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )


def _sshd_config(work: Path) -> Path:
    host_key = work / "host_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    config = work / "sshd_config"
    config.write_text(
        f"HostKey {host_key}\n"
        f"AuthorizedKeysFile {work / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "StrictModes no\n"
        "AllowTcpForwarding yes\n"
        "GatewayPorts no\n"
        "PidFile none\n"
        "PrintMotd no\n"
    )
    return config


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[RemoteHost]:
    require_root()
    if not SSHD.exists() or shutil.which("ssh") is None:
        pytest.skip("needs Debian's openssh-server and openssh-client (.ci/run installs them)")
    work = tmp_path / "sshd"
    work.mkdir(mode=0o700)
    key = work / "client_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    (work / "authorized_keys").write_text(Path(f"{key}.pub").read_text())
    ns = Namespace("r")
    log = work / "sshd.log"
    try:
        ns.up()
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation dir
        host = RemoteHost(ns, key, _sshd_config(work), log)
        # Nothing to wait for: each connection starts its own sshd.
        first = host.ssh("", "true", "", timeout=30)
        assert first.returncode == 0, f"{first.stderr}\nsshd:\n{host.log_tail()}"
        yield host
    finally:
        ns.down()


def remote_lines(harness: DaemonHarness, *args: str) -> tuple[str, str]:
    """``ssod env --remote``: the ssh options it tells the user to use, and all its lines."""
    out = harness.ssod("env", "--remote", "--profile", "dev", *args)
    assert out.returncode == 0, out.stderr
    found = re.search(r"^# connect: ssh (.+) HOST$", out.stdout, re.MULTILINE)
    assert found, out.stdout
    return found.group(1), out.stdout


def client_command(client: AwsClient, work: Path, sts_url: str) -> str:
    """What the remote shell runs after sourcing the lines: one STS call, printing the ARN."""
    env = (
        f"HOME={work} AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null "
        f"AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL_STS={sts_url} AWS_PAGER="
    )
    if client is BOTO3:
        run = f"{shlex.quote(sys.executable)} -c {shlex.quote(FETCH)}"
    else:
        run = f"{AWSCLI_V2} sts get-caller-identity --query Arn --endpoint-url {sts_url}"
    return f". /dev/stdin && cd / && {env} {run}"


@pytest.mark.parametrize("client", [BOTO3, AWSCLI_V2_CLIENT], ids=str)
def test_remote_shell_uses_the_laptops_login_over_ssh_forwarding(
    client: AwsClient, ssod_daemon: DaemonHarness, remote: RemoteHost, tmp_path: Path
) -> None:
    require(client)
    ssod_daemon.start()
    ssod_login(ssod_daemon)
    options, lines = remote_lines(ssod_daemon, "--ttl", "10m")
    emulator_port = urllib.parse.urlsplit(ssod_daemon.emulator.url).port
    sts_forward = f"-R 127.0.0.1:{emulator_port}:127.0.0.1:{emulator_port}"
    sts_url = f"http://127.0.0.1:{emulator_port}"
    work = tmp_path / "remote-home"
    work.mkdir()
    command = client_command(client, work, sts_url)

    done = remote.ssh(f"{options} {sts_forward}", command, lines)
    assert done.returncode == 0, f"{done.stderr}\nsshd:\n{remote.log_tail()}"
    user = ssod_daemon.emulator.state.config.directory.default_user
    assert done.stdout.strip().strip('"') == expected_identity("dev", user).arn

    if client is BOTO3:  # revoked here, refused there at once
        token_id = re.search(r"^# scoped token (\w+)", lines, re.MULTILINE)
        assert token_id
        assert ssod_daemon.ssod("token", "revoke", token_id.group(1)).returncode == 0
        after = remote.ssh(f"{options} {sts_forward}", command, lines)
        assert after.returncode != 0
    # Without the forward, the remote side has nothing on that port.
    unforwarded = remote.ssh(sts_forward, command, lines)
    assert unforwarded.returncode != 0


def test_remote_lines(ssod_daemon: DaemonHarness) -> None:
    """What ``ssod env --remote`` prints, in each shell; no root needed."""
    ssod_daemon.start()
    port = ssod_daemon.request(Op.ENDPOINT)["port"]
    options, sh = remote_lines(ssod_daemon)
    assert options == f"-o ExitOnForwardFailure=yes -R 127.0.0.1:{port}:127.0.0.1:{port}"
    assert (
        f"export AWS_CONTAINER_CREDENTIALS_FULL_URI='http://127.0.0.1:{port}/credentials/dev'" in sh
    )
    assert "\nunset AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE\n" in sh
    assert "export AWS_REGION='us-east-1'" in sh
    token = re.search(r"AWS_CONTAINER_AUTHORIZATION_TOKEN='(ssod\.[^']+)'", sh)
    assert token
    listed = ssod_daemon.request(Op.LIST_TOKENS)["tokens"]
    assert [t["id"] for t in listed] == [token.group(1).split(".")[1]]
    fish = ssod_daemon.ssod("env", "--remote", "--profile", "dev", "--shell", "fish").stdout
    assert "set -e AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" in fish
    alone = ssod_daemon.ssod("env", "--profile", "dev", "--ttl", "1h")
    assert alone.returncode == 2 and "--remote" in alone.stderr
