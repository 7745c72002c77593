"""Bridged containers, with a network namespace standing in for the container (root only).

The namespace reaches the "host" only through a veth pair whose host end is 169.254.170.2, as
a container on the network ``ssod docker setup`` creates: it has its own loopback, so the
daemon's 127.0.0.1 is out of its reach. The "host" is a namespace too, where the daemon under
test runs (``netns.Bridged``): this machine's network is never changed, so a user's own daemon
never binds a 169.254.170.2 that a test put up for a while. Inside the container the real
clients get credentials through ``AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.2:
PORT/...`` with the scoped token from ``ssod docker env``; a token for another profile is
refused, a revoked one at once; and the credentials stay fresh for longer than they live. The
AWS calls (the daemon's, and the clients' STS calls) reach the emulator through relays made in
the host namespace.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import DaemonHarness
from interop.clients import CLIENTS, AwsClient, client_env, require, run, run_many
from interop.workload import expected_identity, ssod_login
from netns import HOST_ADDRESS, Bridged, Relay, bridged, ip
from ssod.wire import Op

pytestmark = pytest.mark.interop

URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
TOKEN = "AWS_CONTAINER_AUTHORIZATION_TOKEN"

PROBE = """\
import http.client, json, os, sys
host, port, host_header = sys.argv[1], int(sys.argv[2]), sys.argv[3]
token = os.environ["PROBE_TOKEN"]
out = {}
for name, target, headers in [
    ("health", "/health", {"Host": host_header}),
    ("main", "/credentials/dev", {"Host": host_header, "Authorization": token}),
    ("foreign_host", "/health", {"Host": "169.254.170.3:%d" % port}),
]:
    try:
        c = http.client.HTTPConnection(host, port, timeout=3)
        c.request("GET", target, headers=headers)
        out[name] = c.getresponse().status
    except OSError as e:
        out[name] = type(e).__name__
print(json.dumps(out))
"""

FRESH = """\
import json, sys, time, boto3
session = boto3.Session()
sts = session.client("sts")
keys, deadline = [], time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    sts.get_caller_identity()
    keys.append(session.get_credentials().get_frozen_credentials().access_key)
    time.sleep(1.0)
print(json.dumps(keys))
"""


def env_file(harness: DaemonHarness, profile: str, where: Path) -> dict[str, str]:
    """What ``ssod docker env --env-file`` writes for ``profile``, as a dict."""
    path = where / f"{profile}.env"
    done = harness.ssod("docker", "env", "--profile", profile, "--env-file", str(path))
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr, done.stderr
    assert path.stat().st_mode & 0o777 == 0o600
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line)
    return dict(pairs)


def container_env(home: Path, relay: Relay, file: dict[str, str]) -> dict[str, str]:
    """A container's environment: the env file, STS through the relay, nothing of the host's."""
    base = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}
    return client_env(base, AWS_ENDPOINT_URL_STS=relay.url, **file)


def emulator_port(harness: DaemonHarness) -> int:
    port = urllib.parse.urlsplit(harness.emulator.url).port
    assert port is not None
    return port


@contextlib.contextmanager
def confined(harness: DaemonHarness, *, address_now: bool = True) -> Iterator[Bridged]:
    """The bridged pair, with the daemon under test confined to its host namespace.

    The daemon reaches the emulator on this process's loopback through a relay listening on
    the same address and port in the host namespace; it is stopped before the namespaces go.
    """
    with bridged(address_now=address_now) as pair:
        port = emulator_port(harness)
        relay = Relay(("127.0.0.1", port), ("127.0.0.1", port), pair.host)
        harness.command = pair.confine(harness.command)
        try:
            yield pair
        finally:
            harness.stop()
            relay.close()


@pytest.fixture
def container(ssod_daemon: DaemonHarness, tmp_path: Path) -> Iterator[tuple[Bridged, Path]]:
    with confined(ssod_daemon) as pair:
        home = tmp_path / "container-home"
        home.mkdir()
        yield pair, home


def start(harness: DaemonHarness, pair: Bridged) -> Relay:
    """Start the daemon and log in; a relay for the container's STS calls on the gateway."""
    harness.start()
    ssod_login(harness)
    urls = harness.request(Op.ENDPOINT)["urls"]
    assert any(f"//{HOST_ADDRESS}:" in u for u in urls), urls
    return Relay((HOST_ADDRESS, 0), ("127.0.0.1", emulator_port(harness)), pair.host)


@pytest.mark.parametrize("client", CLIENTS, ids=str)
def test_client_in_a_bridged_namespace_uses_a_scoped_token(
    client: AwsClient,
    ssod_daemon: DaemonHarness,
    container: tuple[Bridged, Path],
    tmp_path: Path,
) -> None:
    """The right identity with the profile's token; another profile's token and a revoked
    token are refused without reaching STS. Debian's AWS CLI v2 knows only the token variable,
    which is what the env file sets."""
    require(client)
    pair, home = container
    ns = pair.container
    relay = start(ssod_daemon, pair)
    try:
        dev = env_file(ssod_daemon, "dev", tmp_path)
        prod = env_file(ssod_daemon, "prod", tmp_path)
        assert dev[URI].startswith(f"http://{HOST_ADDRESS}:") and dev[TOKEN].startswith("ssod.")
        argv = ns.argv(client.sts_argv(sts_url=relay.url, calls=client.calls_per_process))
        good = container_env(home, relay, dev)
        wrong = container_env(home, relay, {**dev, TOKEN: prod[TOKEN]})
        emulator = ssod_daemon.emulator
        emulator.reset_calls()
        refused, served = run_many([(argv, wrong), (argv, good)])
        user = emulator.state.config.directory.default_user
        assert served.ok, served.stderr[-3000:]
        assert served.identities == (expected_identity("dev", user),) * client.calls_per_process
        assert not refused.ok, f"{client} got dev's credentials with prod's token"

        token_id = dev[TOKEN].split(".")[1]
        revoked = ssod_daemon.ssod("token", "revoke", token_id)
        assert revoked.returncode == 0, revoked.stderr
        after = run(argv, good)
        assert not after.ok, f"{client} got credentials with a revoked token"
        calls = emulator.calls()
        assert calls.get("GetCallerIdentity") == client.calls_per_process  # refused: no STS
    finally:
        relay.close()


def test_the_namespace_sees_only_the_gateway_and_the_host_check_holds(
    ssod_daemon: DaemonHarness, container: tuple[Bridged, Path]
) -> None:
    """Sanity of the stand-in: 127.0.0.1 is not the host's; the main token works on the
    gateway too; a Host naming an address not served is refused."""
    ns = container[0].container
    ssod_daemon.start()
    ssod_login(ssod_daemon)
    endpoint = ssod_daemon.request(Op.ENDPOINT)
    port, token = str(endpoint["port"]), str(endpoint["token"])
    env = {"PATH": "/usr/bin:/bin", "PROBE_TOKEN": token}

    def probe(host: str) -> dict[str, object]:
        done = ns.run([sys.executable, "-c", PROBE, host, port, f"{host}:{port}"], env)
        assert done.returncode == 0, done.stderr
        result: dict[str, object] = json.loads(done.stdout)
        return result

    assert probe(HOST_ADDRESS) == {"health": 200, "main": 200, "foreign_host": 403}
    loopback = probe("127.0.0.1")
    assert all(v == "ConnectionRefusedError" for v in loopback.values()), loopback


def test_an_address_that_appears_later_is_served(
    ssod_daemon: DaemonHarness, tmp_path: Path
) -> None:
    """Docker brings the bridge up after the daemon started: the daemon serves it within the
    retry interval, says so in status, and the Host check follows."""
    with confined(ssod_daemon, address_now=False) as pair:
        ssod_daemon.env["SSOD_LISTEN_RETRY"] = "0.2"
        ssod_daemon.start()
        status = json.loads(ssod_daemon.ssod("status", "--json").stdout)["daemon"]
        assert status["ecs_waiting"] == [HOST_ADDRESS]
        assert "once it exists here" in ssod_daemon.ssod("status").stdout
        pair.add_host_address()
        deadline = time.monotonic() + 10
        while HOST_ADDRESS not in str(ssod_daemon.request(Op.ENDPOINT)["urls"]):
            assert time.monotonic() < deadline, ssod_daemon.log()[-2000:]
            time.sleep(0.1)
        status = json.loads(ssod_daemon.ssod("status", "--json").stdout)["daemon"]
        assert status["ecs_waiting"] == []
        port = status["ecs_url"].rsplit(":", 1)[1]
        assert status["ecs_urls"] == [f"http://127.0.0.1:{port}", f"http://{HOST_ADDRESS}:{port}"]
        assert "event=listen_waiting" in ssod_daemon.log()


def _listening(pid: int, host: str, port: int) -> bool:
    """Whether a socket in ``pid``'s network namespace listens on ``host``:``port``."""
    wanted = f"{socket.inet_aton(host)[::-1].hex().upper()}:{port:04X}"
    rows = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    return any(r.split()[1] == wanted and r.split()[3] == "0A" for r in rows)


def test_an_address_that_goes_away_is_no_longer_served(ssod_daemon: DaemonHarness) -> None:
    """The bridge is removed (``docker network rm``): the daemon closes that socket, stops
    listing the address, waits for it again, and serves it when it comes back."""
    with confined(ssod_daemon) as pair:
        ssod_daemon.env["SSOD_LISTEN_RETRY"] = "0.2"
        ssod_daemon.start()
        pid = ssod_daemon.pid
        port = int(ssod_daemon.request(Op.ENDPOINT)["port"])
        assert HOST_ADDRESS in str(ssod_daemon.request(Op.ENDPOINT)["urls"])
        assert _listening(pid, HOST_ADDRESS, port)
        ip("-n", pair.host.name, "addr", "del", f"{HOST_ADDRESS}/24", "dev", pair.host_if)
        deadline = time.monotonic() + 10
        while HOST_ADDRESS in str(ssod_daemon.request(Op.ENDPOINT)["urls"]):
            assert time.monotonic() < deadline, ssod_daemon.log()[-2000:]
            time.sleep(0.1)
        assert not _listening(pid, HOST_ADDRESS, port)  # the socket is closed, not just unlisted
        status = json.loads(ssod_daemon.ssod("status", "--json").stdout)["daemon"]
        assert status["ecs_waiting"] == [HOST_ADDRESS]
        assert status["ecs_urls"] == [f"http://127.0.0.1:{port}"]
        assert "event=listen_gone" in ssod_daemon.log()
        pair.add_host_address()
        while HOST_ADDRESS not in str(ssod_daemon.request(Op.ENDPOINT)["urls"]):
            assert time.monotonic() < deadline + 10, ssod_daemon.log()[-2000:]
            time.sleep(0.1)
        assert _listening(pid, HOST_ADDRESS, port)


def test_credentials_stay_fresh_past_their_lifetime(
    ssod_daemon: DaemonHarness, container: tuple[Bridged, Path], tmp_path: Path
) -> None:
    """Role credentials live 8 s; a boto3 process in the namespace keeps calling STS for 16 s
    and every call succeeds with credentials that the daemon renewed underneath."""
    pair, home = container
    ns = pair.container
    ssod_daemon.emulator.settings(credential_lifetime=8)
    ssod_daemon.env["SSOD_CREDENTIAL_MARGIN"] = "3"
    relay = start(ssod_daemon, pair)
    try:
        env = container_env(home, relay, env_file(ssod_daemon, "dev", tmp_path))
        done = ns.run([sys.executable, "-c", FRESH, "16"], env, timeout=90)
        assert done.returncode == 0, done.stderr[-3000:]
        keys = json.loads(done.stdout)
        assert len(keys) >= 10
        assert len(set(keys)) >= 3, keys  # renewed at least twice while the process ran
    finally:
        relay.close()


IMDS_FETCH = """\
import boto3
c = boto3.Session().get_credentials()
print(c.get_frozen_credentials().access_key if c else "none")
"""


def test_imds_on_the_container_address_only_when_asked(
    ssod_daemon: DaemonHarness, container: tuple[Bridged, Path]
) -> None:
    """With ``--imds-listen ...,169.254.170.2`` a container gets the IMDS profile with no
    token at all (IMDSv2 only); a host user other than ours reaching that same address is
    still refused the session token."""
    pair, home = container
    ns = pair.container
    ssod_daemon.start(
        "--imds-profile", "dev", "--imds-port", "0", "--imds-listen", f"127.0.0.1,{HOST_ADDRESS}"
    )
    ssod_login(ssod_daemon)
    endpoint = ssod_daemon.request(Op.ENDPOINT)
    port = str(endpoint["imds_url"]).rsplit(":", 1)[1]
    assert endpoint["imds_urls"] == [f"http://127.0.0.1:{port}", f"http://{HOST_ADDRESS}:{port}"]
    url = f"http://{HOST_ADDRESS}:{port}/"
    base = {"PATH": os.environ["PATH"], "HOME": str(home), "AWS_EC2_METADATA_V1_DISABLED": "true"}
    env = {**base, "AWS_EC2_METADATA_SERVICE_ENDPOINT": url, "AWS_CONFIG_FILE": "/dev/null"}
    done = ns.run([sys.executable, "-c", IMDS_FETCH], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("ASIA")
    # From the host (its namespace), as nobody, on the container address: the socket is
    # listed, not ours.
    nobody = (
        "import os, urllib.request\n"
        "import encodings.idna, http.client, email.parser, email.feedparser\n"
        "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
        f"req = urllib.request.Request({url + 'latest/api/token'!r}, method='PUT',\n"
        "    headers={'X-aws-ec2-metadata-token-ttl-seconds': '60'})\n"
        "try:\n"
        "    urllib.request.urlopen(req, timeout=5)\n"
        "    print(200)\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(e.code)\n"
    )
    refused = pair.host.run([sys.executable, "-c", nobody], {"PATH": os.environ["PATH"]})
    assert refused.stdout.strip() == "403", refused.stderr


def host_links() -> set[str]:
    """The names of this machine's network interfaces (this process's namespace)."""
    return {name.split("@")[0] for name in os.listdir("/sys/class/net")}


def test_the_host_network_is_left_as_found() -> None:
    """Both veth ends and the gateway address live in the test's own namespaces: a daemon
    running on this machine never sees 169.254.170.2 appear (other tests on the machine may
    add links meanwhile, so only ours are checked)."""
    with bridged() as pair:
        assert {pair.host_if, pair.container_if}.isdisjoint(host_links())
        pair.host.create_server((HOST_ADDRESS, 0)).close()  # the gateway is there, not here
        inside = pair.host.run(["ip", "-o", "addr", "show", "dev", pair.host_if], {})
        assert f"inet {HOST_ADDRESS}/24" in inside.stdout, inside.stderr
    assert {pair.host_if, pair.container_if}.isdisjoint(host_links())
    assert not Path(f"/run/netns/{pair.host.name}").exists()
