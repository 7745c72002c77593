"""Network isolation for tests, without Docker: namespaces of their own, joined by veth pairs.

Nothing here changes the host's network: every interface and address lives in a namespace the
test creates and removes. ``bridged()`` gives a ``Bridged`` pair standing in for a host with a
container on a bridge network: a "host" namespace whose veth end has the gateway
``169.254.170.2/24`` (as docker gives a network created by ``ssod docker setup``), where the
daemon under test runs (``Bridged.confine``), and a "container" namespace at
``169.254.170.10/24``. A user's own daemon on this machine never sees 169.254.170.2 appear.
The host namespace reaches this process's loopback (the emulator) only through a ``Relay``
listening inside it (``Namespace.create_server``). ``Namespace`` alone (loopback only) is the
SSH test's "remote host". Names carry the pid, so parallel runs never collide; ``down()``
removes everything even after a failure. Needs root; ``require_root()`` skips otherwise.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence

import pytest

HOST_ADDRESS = "169.254.170.2"
NS_ADDRESS = "169.254.170.10"
_CLONE_NEWNET = 0x40000000


def require_root() -> None:
    """Skip the test unless we are root (namespaces, veth pairs and addresses need it)."""
    if os.geteuid() != 0:
        pytest.skip("needs root: creates network namespaces, a veth pair and addresses")
    if shutil.which("ip") is None:
        pytest.skip("needs iproute2's ip (.ci/run installs it)")


def ip(*args: str) -> None:
    """Run ``ip ARGS``; fail with its message."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)}: {done.stderr.strip()}")


class Namespace:
    """A network namespace of its own, with its loopback up."""

    def __init__(self, tag: str) -> None:
        self.name = f"ssod-{tag}-{os.getpid()}"
        self._up = False

    def up(self) -> None:
        """Create the namespace and bring its loopback up."""
        ip("netns", "add", self.name)
        self._up = True
        ip("-n", self.name, "link", "set", "lo", "up")

    def down(self) -> None:
        """Remove the namespace (and the interfaces in it); never raises."""
        if self._up:
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)
            self._up = False

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

    def create_server(self, address: tuple[str, int]) -> socket.socket:
        """A listening TCP socket inside the namespace (made by a thread that enters it)."""
        made: list[socket.socket | BaseException] = []

        def enter_and_listen() -> None:
            # setns moves only the calling thread; a socket stays in the namespace it was made in.
            try:
                with open(f"/run/netns/{self.name}", "rb") as handle:
                    libc = ctypes.CDLL(None, use_errno=True)
                    if libc.setns(handle.fileno(), _CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns")
                made.append(socket.create_server(address))
            except BaseException as err:  # handed to the caller
                made.append(err)

        thread = threading.Thread(target=enter_and_listen)
        thread.start()
        thread.join()
        [result] = made
        if isinstance(result, BaseException):
            raise result
        return result


class Bridged:
    """A "host" and a "container" namespace on one veth pair, as a docker bridge network."""

    def __init__(self) -> None:
        pid = os.getpid()
        self.host = Namespace("h")
        self.container = Namespace("c")
        self.host_if = f"sbh{pid}"[:15]
        self.container_if = f"sbc{pid}"[:15]

    def up(self, *, host_address: bool = True) -> None:
        """Both namespaces, the veth pair between them and the container's address."""
        self.host.up()
        self.container.up()
        # Made inside the host namespace with its peer in the container's: never on this host.
        ip("-n", self.host.name, "link", "add", self.host_if, "type", "veth",
           "peer", "name", self.container_if, "netns", self.container.name)  # fmt: skip
        ip("-n", self.container.name, "addr", "add", f"{NS_ADDRESS}/24", "dev", self.container_if)
        ip("-n", self.container.name, "link", "set", self.container_if, "up")
        ip("-n", self.host.name, "link", "set", self.host_if, "up")
        if host_address:
            self.add_host_address()

    def add_host_address(self) -> None:
        """Put the gateway address on the host end (what docker does when its bridge comes up)."""
        ip("-n", self.host.name, "addr", "add", f"{HOST_ADDRESS}/24", "dev", self.host_if)

    def down(self) -> None:
        """Remove both namespaces and so the veth pair; never raises."""
        self.container.down()
        self.host.down()

    def confine(self, command: Sequence[str]) -> list[str]:
        """``command`` run in the host namespace (the daemon under test)."""
        return self.host.argv(command)


@contextlib.contextmanager
def bridged(*, address_now: bool = True) -> Iterator[Bridged]:
    """A "host" namespace with the gateway 169.254.170.2 and a "container" behind it."""
    require_root()
    pair = Bridged()
    try:
        pair.up(host_address=address_now)
        yield pair
    finally:
        pair.down()


class Relay:
    """Forwards each TCP connection to ``listen`` on to ``target`` (threads).

    The listening socket is made in ``namespace`` when given; ``target`` is reached from this
    process's own network (its loopback: the emulator).
    """

    def __init__(
        self,
        listen: tuple[str, int],
        target: tuple[str, int],
        namespace: Namespace | None = None,
    ) -> None:
        self._target = target
        if namespace is None:
            self._server = socket.create_server(listen)
        else:
            self._server = namespace.create_server(listen)
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
