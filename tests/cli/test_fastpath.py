"""The fast path of ``ssod credentials`` and ``ssod env``: the same bytes and exits as the full CLI.

Every case runs twice against one real daemon: through the console script's fast path (the
daemon's fast socket) and with ``SSOD_FAST_PATH=0`` (argparse, pyzmq, the ZeroMQ socket). The
daemon's log proves which path answered.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from harness import STANDARD_CONFIG, DaemonHarness
from ssod import errors, fastwire
from ssod.client import fastpath
from ssod.client.ipc import IpcClient

DENIED = (
    "\n[profile denied]\nsso_session = corp\nsso_account_id = 999999999999\nsso_role_name = X\n"
)

#: (name, argv, extra environment, expected exit code)
CASES: list[tuple[str, tuple[str, ...], dict[str, str], int]] = [
    ("process", ("credentials", "--profile", "dev"), {}, 0),
    ("env format", ("credentials", "--profile", "prod", "--format", "env"), {}, 0),
    ("json, = form", ("credentials", "--profile=dev", "--format=json", "--no-start"), {}, 0),
    ("repeated flag", ("credentials", "--profile", "nope", "--profile", "dev"), {}, 0),
    ("chained", ("credentials", "--format", "process", "--profile", "chained"), {}, 0),
    ("no such profile", ("credentials", "--profile", "nope"), {}, errors.EXIT_NOT_FOUND),
    ("empty profile", ("credentials", "--profile="), {}, errors.EXIT_USAGE),
    ("access denied", ("credentials", "--profile", "denied"), {}, errors.EXIT_AWS),
    ("env", ("env", "--profile", "dev"), {}, 0),
    ("env fish", ("env", "--shell", "fish", "--profile", "prod"), {}, 0),
    ("env bash", ("env", "--shell", "bash", "--profile", "prod"), {}, 0),
    ("env zsh", ("env", "--shell=zsh"), {"AWS_PROFILE": "prod"}, 0),
    ("env from AWS_PROFILE", ("env",), {"AWS_PROFILE": "prod"}, 0),
    (
        "env with notes",
        ("env", "--shell=powershell"),
        {"AWS_DEFAULT_PROFILE": "dev", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"},
        0,
    ),
    (
        "env relative uri",
        ("env", "--profile", "dev"),
        {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/x"},
        0,
    ),
    ("env no profile", ("env", "--profile", "nope"), {}, errors.EXIT_NOT_FOUND),
    ("env default", ("env",), {}, errors.EXIT_NOT_FOUND),
]


def _run(
    harness: DaemonHarness, args: tuple[str, ...], env: dict[str, str]
) -> tuple[int, bytes, bytes]:
    out = subprocess.run(
        [sys.executable, "-m", "ssod.client.cli", *args],
        env={**harness.env, **env},
        capture_output=True,
        timeout=60,
        check=False,
    )
    return out.returncode, out.stdout, out.stderr


def _fast_requests(harness: DaemonHarness) -> int:
    return harness.log().count("fast request op=")


def test_fast_and_full_paths_print_the_same_bytes(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.write_config(STANDARD_CONFIG + DENIED)
    ssod_daemon.start()
    # Before the login: login required, on both paths.
    cases = [("login required", ("credentials", "--profile", "dev"), {}, 4), *CASES]
    for index, (name, args, env, expected) in enumerate(cases):
        if index == 1:
            ssod_daemon.login(profile="dev", use_device_code=True)
        before = _fast_requests(ssod_daemon)
        full = _run(ssod_daemon, args, {**env, "SSOD_FAST_PATH": "0"})
        assert _fast_requests(ssod_daemon) == before, name
        fast = _run(ssod_daemon, args, env)
        assert _fast_requests(ssod_daemon) == before + 1, (name, ssod_daemon.log()[-2000:])
        assert fast == full, name
        assert fast[0] == expected, (name, fast)
        assert b"Traceback" not in fast[2], name


def test_shapes_the_fast_path_leaves_to_argparse_still_work(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    before = _fast_requests(ssod_daemon)
    for args in [
        ("credentials", "--prof", "dev"),  # an abbreviation argparse accepts
        ("credentials", "--format", "yaml", "--profile", "dev"),
        ("credentials",),
        ("env", "--help"),
    ]:
        full = _run(ssod_daemon, args, {"SSOD_FAST_PATH": "0"})
        assert _run(ssod_daemon, args, {}) == full, args
    assert _fast_requests(ssod_daemon) == before


def test_a_runtime_dir_open_to_others_is_not_trusted(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    assert stat.S_IMODE(os.stat(ssod_daemon.runtime / fastwire.SOCKET_NAME).st_mode) == 0o600
    before = _fast_requests(ssod_daemon)
    ssod_daemon.runtime.chmod(0o750)
    try:
        code, _, stderr = _run(ssod_daemon, ("credentials", "--profile", "dev"), {})
    finally:
        ssod_daemon.runtime.chmod(0o700)
    assert code == errors.EXIT_LOGIN_REQUIRED, stderr  # answered, by the full path
    assert _fast_requests(ssod_daemon) == before


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["credentials", "--profile", "dev"], {"op": "credentials", "profile": "dev"}),
        (["credentials", "--profile=a=b", "--no-start"], {"op": "credentials", "profile": "a=b"}),
        (["credentials", "--format", "env", "--profile", "x"], {"format": "env", "profile": "x"}),
        (["credentials", "--profile", "-x"], None),
        (["credentials", "--profile"], None),
        (["credentials", "--format", "yaml", "--profile", "x"], None),
        (["credentials", "--prof", "x"], None),
        (["credentials", "-h"], None),
        (["credentials", "--", "--profile", "x"], None),
        (["credentials", "extra", "--profile", "x"], None),
        (["credentials"], None),
        (["env", "--format", "env"], None),
        (["env", "--shell", "fish"], {"op": "env", "shell": "fish"}),
        (["env", "--shell", "zsh"], {"op": "env", "shell": "sh"}),
        (["status"], None),
        ([], None),
    ],
)
def test_parse_takes_only_what_argparse_would(
    argv: list[str], expected: dict[str, str] | None
) -> None:
    fields = fastpath.parse(argv)
    if expected is None:
        assert fields is None
    else:
        assert fields is not None
        assert expected.items() <= fields.items()


def test_wire_round_trips_and_refuses_garbage() -> None:
    fields = {"op": "credentials", "profile": "dév=1"}
    assert fastwire.decode_request(fastwire.encode_request(fields)) == fields
    for bad in [b"", b"ssod-fast/2\0op=x", b"ssod-fast/1\0novalue", b"ssod-fast/1\0\xff=1"]:
        with pytest.raises(ValueError):
            fastwire.decode_request(bad)
    with pytest.raises(ValueError):
        fastwire.encode_request({"profile": "a\0b"})
    answer = fastwire.encode_answer(4, "out ✓\n", "ssod: err\n")
    assert fastwire.decode_answer(answer) == (4, "out ✓\n", "ssod: err\n")
    for bad in [fastwire.FALLBACK, b"ssod-fast/1 0 99\nshort", b"junk", b""]:
        assert fastwire.decode_answer(bad) is None


def test_no_answer_says_what_the_full_client_says(
    short_tmp: os.PathLike[str], capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = os.fspath(short_tmp)
    assert fastpath._no_answer(runtime, 15.0) == errors.EXIT_NO_DAEMON
    client = IpcClient(f"ipc://{os.path.join(runtime, 'ipc')}")
    assert capsys.readouterr().err == f"ssod: {client._unavailable('no answer within 15s')}\n"


def test_the_fast_path_imports_no_pyzmq_json_argparse_or_typing(
    ssod_daemon: DaemonHarness, tmp_path: Path
) -> None:
    ssod_daemon.start()
    modules = tmp_path / "modules.txt"
    code = (
        "import sys\n"
        "from ssod.client import fastpath\n"
        "code = fastpath.main()\n"
        f"open({str(modules)!r}, 'w').write(' '.join(sorted(sys.modules)))\n"
        "sys.exit(code)\n"
    )
    for args in (("credentials", "--profile", "dev"), ("env", "--profile", "dev")):
        out = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=ssod_daemon.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert out.returncode in (0, errors.EXIT_LOGIN_REQUIRED), out.stderr
        loaded = set(modules.read_text().split())
        heavy = {"zmq", "json", "argparse", "typing", "socket", "ssod.wire", "ssod.client.cli"}
        heavy |= {"secretstorage", "jeepney", "keyring", "cryptography"}  # the daemon's only
        assert loaded & heavy == set(), args


def test_the_fast_parser_knows_what_the_full_parser_knows() -> None:
    from ssod.client import common
    from ssod.client.commands import credentials as cmd_credentials
    from ssod.client.commands import eks as cmd_eks
    from ssod.client.output import env as env_output
    from ssod.client.output import shell

    assert fastpath._CHOICES["credentials"]["--format"] == shell.CREDENTIAL_FORMATS
    assert tuple(env_output.USAGE) == shell.SHELLS
    assert fastpath._CHOICES["env"]["--shell"] == env_output.SHELL_CHOICES
    assert fastpath._TIMEOUTS == {
        "credentials": cmd_credentials.CREDENTIALS_TIMEOUT,
        "env": common.DEFAULT_TIMEOUT,
        "eks_token": cmd_eks.TOKEN_TIMEOUT,
    }


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another uid")
def test_the_daemon_answers_no_other_uid(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.start()
    sock_path = ssod_daemon.runtime / fastwire.SOCKET_NAME
    # Open the way on purpose (the 0700 directory and 0600 socket normally stop a stranger first)
    # to prove the daemon's own peer check.
    parent_mode = ssod_daemon.runtime.parent.stat().st_mode
    ssod_daemon.runtime.parent.chmod(0o711)
    ssod_daemon.runtime.chmod(0o711)
    sock_path.chmod(0o666)
    request = fastwire.encode_request({"op": "credentials", "profile": "dev", "format": "process"})
    code = (
        "import os, socket, sys\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        f"s.connect({str(sock_path)!r})\n"
        "try:\n"
        f"    s.sendall({request!r}); s.shutdown(socket.SHUT_WR)\n"
        "    sys.stdout.write(repr(s.recv(65536)))\n"
        "except (ConnectionResetError, BrokenPipeError):\n"
        "    sys.stdout.write('reset')\n"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
        )
    finally:
        ssod_daemon.runtime.chmod(0o700)
        ssod_daemon.runtime.parent.chmod(stat.S_IMODE(parent_mode))
        sock_path.chmod(0o600)
    assert out.returncode == 0, out.stderr
    assert out.stdout in ("b''", "reset")  # closed unanswered
    assert "fast request refused: peer of another uid" in ssod_daemon.log()
