"""What another local user can do to ssod, tried as that user: a real second uid.

Each test creates a throwaway account (``other_user``, tests/otheruser.py; root only, skips
otherwise) and runs the attacker as its uid beside a real daemon of ours.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

from cli_support import NO_BROWSER
from hardening.support import ecs_get
from harness import DaemonHarness
from otheruser import OtherUser
from ssod.emulator.testing.background import BackgroundEmulator
from ssod.wire import Op, Request, encode_request

#: The attacker of issue 19: read every process's argv until a console link shows up, then
#: follow it at once (no redirects), and say what it got.
_CMDLINE_SNOOPER = """
link = None
deadline = time.monotonic() + 30
while link is None and time.monotonic() < deadline:
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                args = f.read().split(b'\\0')
        except OSError:
            continue
        for arg in args:
            if arg.startswith(b'http://127.0.0.1:') and b'/console/' in arg:
                link = arg.decode()
    time.sleep(0.002)
if link is None:
    print(json.dumps({'status': None})); sys.exit(0)
host, _, path = link[len('http://'):].partition('/')
conn = http.client.HTTPConnection(host, timeout=10)
conn.request('GET', '/' + path)
resp = conn.getresponse()
print(json.dumps({'status': resp.status, 'location': resp.getheader('Location')}))
"""


def _slow_browser(directory: Path) -> tuple[str, Path, Path]:
    """A BROWSER that keeps its URL in its argv and follows it only once ``go`` exists."""
    go, result, program = directory / "go", directory / "browser.json", directory / "browser"
    program.write_text(
        f"#!{sys.executable}\n"
        "import http.client, json, os, sys, time\n"
        "deadline = time.monotonic() + 60\n"
        f"while not os.path.exists({str(go)!r}) and time.monotonic() < deadline:\n"
        "    time.sleep(0.02)\n"
        "host, _, path = sys.argv[1][len('http://'):].partition('/')\n"
        "conn = http.client.HTTPConnection(host, timeout=10)\n"
        "conn.request('GET', '/' + path)\n"
        "resp = conn.getresponse()\n"
        f"with open({str(result)!r}, 'w') as f:\n"
        "    json.dump({'status': resp.status, 'location': resp.getheader('Location')}, f)\n"
    )
    program.chmod(0o755)
    return str(program), go, result


def test_another_user_reading_the_browsers_argv_cannot_use_the_console_link(
    ssod_daemon: DaemonHarness, other_user: OtherUser, tmp_path: Path
) -> None:
    ssod_daemon.start()
    ssod_daemon.login(profile="dev", use_device_code=True)
    browser, go, result = _slow_browser(tmp_path)
    snooper = other_user.popen(_CMDLINE_SNOOPER)
    try:
        out = ssod_daemon.ssod(
            "console", "--profile", "dev", env={**NO_BROWSER, "BROWSER": browser}
        )
        assert out.returncode == 0, out.stderr
        stolen, errors = snooper.communicate(timeout=60)
    finally:
        snooper.kill()
        go.touch()
    # The other user saw the link in the browser's argv and followed it first: refused.
    assert json.loads(stolen) == {"status": 403, "location": None}, errors
    # The owner's browser, a second late, still lands on the sign-in URL.
    from cli_support import wait_until

    wait_until(result.exists, 30, "the browser to follow its link")
    got = json.loads(result.read_text())
    assert got["status"] == 302
    assert got["location"].startswith(f"{ssod_daemon.emulator.url}/federation?Action=login&")
    assert "event=console_link_refused reason=other_user" in ssod_daemon.log()


#: Another user's ZeroMQ client: one status request on the daemon's IPC socket, then up to
#: ``wait`` seconds for any answer.
_IPC_CLIENT = """
sock = zmq.Context().socket(zmq.DEALER)
sock.setsockopt(zmq.LINGER, 0)
sock.connect(ENDPOINT)
sock.send(REQUEST)
print('answered' if sock.poll(WAIT * 1000) else 'nothing')
"""


def test_another_user_gets_no_answer_on_the_ipc_socket(
    ssod_daemon: DaemonHarness, other_user: OtherUser
) -> None:
    ssod_daemon.start()
    ipc = ssod_daemon.runtime / "ipc"
    # Open the way on purpose (the 0700 directory and the 0600 socket stop a stranger first),
    # as happens once a runtime directory is opened later, to prove the daemon's own check.
    parent_mode = ssod_daemon.runtime.parent.stat().st_mode
    ssod_daemon.runtime.parent.chmod(0o711)
    ssod_daemon.runtime.chmod(0o711)
    ipc.chmod(0o666)
    request = encode_request(Request(id="0123456789abcdef", op=Op.STATUS))
    preamble = f"ENDPOINT = {ssod_daemon.endpoint!r}\nREQUEST = {request!r}\nWAIT = 3\n"
    try:
        stranger = other_user.python(preamble + _IPC_CLIENT)
    finally:
        ssod_daemon.runtime.chmod(0o700)
        ssod_daemon.runtime.parent.chmod(stat.S_IMODE(parent_mode))
        ipc.chmod(0o600)
    assert stranger.stdout.strip() == "nothing", stranger.stderr
    # The owner is still served.
    assert ssod_daemon.request(Op.STATUS)["daemon"]["pid"] == ssod_daemon.pid


#: The starving attacker of issue 19: up to 300 connections to the ECS port, topped up all the
#: time, each sending a cheap refused request (``/health`` with a wrong Host, no token) every
#: 2 s. Prints ``attacking`` once it has opened 300 connections (however many the server kept).
_STARVER = """
bad = f'GET /health HTTP/1.1\\r\\nHost: evil.example:{PORT}\\r\\n\\r\\n'.encode()
socks, next_send, said, opened = [], time.monotonic(), False, 0
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    alive = []
    for s in socks:
        try:
            if s.recv(65536) == b'':
                s.close()
                continue
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        alive.append(s)
    socks = alive
    for _ in range(min(50, 300 - len(socks))):
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect(('127.0.0.1', PORT))
        except OSError:
            s.close()
            break
        s.setblocking(False)
        socks.append(s)
        opened += 1
    if time.monotonic() >= next_send:
        next_send += 2
        for s in socks:
            try:
                s.send(bad)
            except OSError:
                pass
    if not said and opened >= 300:
        print('attacking', flush=True)
        said = True
    time.sleep(0.05)
"""


def test_another_user_holding_every_connection_cannot_starve_the_owner(
    ssod_daemon: DaemonHarness, other_user: OtherUser
) -> None:
    ssod_daemon.start()
    ssod_daemon.login(profile="dev", use_device_code=True)
    endpoint = ssod_daemon.request(Op.ENDPOINT)
    port = int(endpoint["url"].rsplit(":", 1)[1])
    attacker = other_user.popen(f"PORT = {port}\n" + _STARVER)
    try:
        assert attacker.stdout is not None
        assert attacker.stdout.readline().strip() == "attacking", attacker.stderr
        # The owner's SDK requests, one connection each, all while the attack goes on.
        statuses = [ecs_get(endpoint, "dev")[0] for _ in range(20)]
        assert attacker.poll() is None, "the attack must still be running"
    finally:
        attacker.kill()
        attacker.communicate(timeout=30)
    assert statuses == [200] * 20


_CONTROL = """
out = []
for method, path in (('GET', '/_emulator/health'), ('POST', '/_emulator/approve')):
    request = urllib.request.Request(URL + path, data=b'{}' if method == 'POST' else None,
                                     method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            out.append(reply.status)
    except urllib.error.HTTPError as err:
        out.append(err.code)
print(json.dumps(out))
"""


def test_another_user_cannot_drive_the_emulator(
    ssod_emulator: BackgroundEmulator, other_user: OtherUser
) -> None:
    stranger = other_user.python(f"URL = {ssod_emulator.url!r}\n" + _CONTROL)
    assert json.loads(stranger.stdout) == [403, 403], stranger.stderr
    assert ssod_emulator.health()  # its owner still can
    assert ssod_emulator.approve() == 0
