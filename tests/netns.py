"""Network isolation for tests, without Docker: namespaces joined to the host by veth pairs.

``Bridged`` stands in for a container on a bridge network: a network namespace whose veth end
has ``169.254.170.10/24`` while the host end has the gateway ``169.254.170.2/24``, as docker
gives a network created by ``ssod docker setup``. ``Namespace`` is the general form (the SSH
test's "remote host" uses another subnet). Names carry the pid, so parallel runs never collide;
``down()`` removes everything even after a failure, and the address 169.254.170.2 is held
under a file lock for the whole test, because two interfaces with it would fight over the
route. ``Relay`` forwards TCP from an address the namespace can reach to a loopback port on
the host (the emulator: SDKs in the namespace call STS there). Needs root; ``require_root()``
skips otherwise.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

HOST_ADDRESS = "169.254.170.2"
NS_ADDRESS = "169.254.170.10"
_LOCK = Path("/tmp/ssod-tests-169.254.170.2.lock")


def require_root() -> None:
    """Skip the test unless we are root (namespaces, veth pairs and addresses need it)."""
    if os.geteuid() != 0:
        pytest.skip("needs root: creates a network namespace, a veth pair and an address")
    if shutil.which("ip") is None:
        pytest.skip("needs iproute2's ip (.ci/run installs it)")


def ip(*args: str) -> None:
    """Run ``ip ARGS``; fail with its message."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)}: {done.stderr.strip()}")


class Namespace:
    """A network namespace joined to the host by a veth pair with one address on each end."""

    def __init__(self, tag: str, host_cidr: str, ns_cidr: str) -> None:
        pid = os.getpid()
        self.name = f"ssod-{tag}-{pid}"
        self.host_if = f"s{tag[0]}h{pid}"[:15]
        self.ns_if = f"s{tag[0]}n{pid}"[:15]
        self.host_cidr, self.ns_cidr = host_cidr, ns_cidr
        self.host_address = host_cidr.split("/", maxsplit=1)[0]
        self.address = ns_cidr.split("/", maxsplit=1)[0]
        self._created: list[str] = []

    def up(self, *, host_address: bool = True) -> None:
        """Create the namespace, the veth pair and both addresses, and bring the links up."""
        ip("netns", "add", self.name)
        self._created.append("netns")
        ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        self._created.append("link")
        ip("link", "set", self.ns_if, "netns", self.name)
        ip("-n", self.name, "link", "set", "lo", "up")
        ip("-n", self.name, "addr", "add", self.ns_cidr, "dev", self.ns_if)
        ip("-n", self.name, "link", "set", self.ns_if, "up")
        ip("link", "set", self.host_if, "up")
        if host_address:
            self.add_host_address()

    def add_host_address(self) -> None:
        """Put the host end's address on (what docker does when its bridge comes up)."""
        ip("addr", "add", self.host_cidr, "dev", self.host_if)

    def down(self) -> None:
        """Remove the veth pair (both ends) and the namespace; never raises."""
        if "link" in self._created:
            subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, check=False)
        if "netns" in self._created:
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)
        self._created.clear()

    def argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def run(
        self, argv: Sequence[str], env: Mapping[str, str], timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the namespace to completion."""
        return subprocess.run(
            self.argv(argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@contextlib.contextmanager
def bridged(*, address_now: bool = True) -> Iterator[Namespace]:
    """A "container" namespace on a bridge whose host side is 169.254.170.2 (held locked)."""
    require_root()
    with _LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ns = Namespace("c", f"{HOST_ADDRESS}/24", f"{NS_ADDRESS}/24")
        try:
            ns.up(host_address=address_now)
            yield ns
        finally:
            ns.down()


class Relay:
    """Forwards each TCP connection to ``listen_host:port`` on to ``target`` (threads)."""

    def __init__(self, listen_host: str, target: tuple[str, int]) -> None:
        self._target = target
        self._server = socket.create_server((listen_host, 0))
        self.address = self._server.getsockname()[:2]
        self._stopped = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the relay."""
        return f"http://{self.address[0]}:{self.address[1]}"

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._pair, args=(client,), daemon=True).start()

    def _pair(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self._target, timeout=10)
        except OSError:
            client.close()
            return
        back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
        back.start()
        _pipe(client, upstream)
        back.join(timeout=60)
        client.close()
        upstream.close()

    def close(self) -> None:
        """Stop accepting (open pairs end with their peers)."""
        self._stopped = True
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join(timeout=5)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
