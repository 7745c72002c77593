"""The ``ssod`` console script: ``credentials``, ``env`` and ``eks token`` over the fast socket.

credential_process runs ``ssod credentials --profile NAME`` before every AWS CLI call and
Terraform run, and shells run ``ssod env`` at start-up, so those two argv shapes skip argparse,
pyzmq and json: a hand-rolled parser takes exactly the forms argparse would accept for them, and
the daemon's fast socket (``ssod.fastwire``) answers with the finished output, rendered by the
same functions the full client uses. Anything else, and any doubt (an unknown or abbreviated
flag, ``--help``, no fast socket, a socket or directory that is not the user's own, an older
daemon), runs the full command line (``ssod.client.cli``), which gives the same answer, starts
a daemon when none runs, and words every usage error. ``SSOD_FAST_PATH=0`` turns this off.
kubectl's exec plugin (``ssod eks token``, or the AWS CLI's ``eks get-token`` argv) is read by
``ssod.eksargv``, which is import-free too.

Imports only ``os``, ``sys``, ``_socket`` and ``ssod.fastwire`` (the floor of the interpreter,
measured in docs/performance.md); never ``typing``, ``socket`` or ``json``.
"""

from __future__ import annotations

import os
import sys

from ssod import fastwire

#: Each command's flags and, for those with choices, the values argparse accepts.
_CHOICES: dict[str, dict[str, tuple[str, ...] | None]] = {
    "credentials": {"--profile": None, "--format": ("process", "env", "json")},
    "env": {"--profile": None, "--shell": ("sh", "fish", "powershell", "bash", "zsh")},
}
_DEST = {"--profile": fastwire.PROFILE, "--format": fastwire.FORMAT, "--shell": fastwire.SHELL}
#: The full client's reply timeouts (cmd_credentials.CREDENTIALS_TIMEOUT, common.DEFAULT_TIMEOUT).
_TIMEOUTS = {"credentials": 15.0, "env": 10.0, "eks_token": 15.0}


def parse(argv: list[str]) -> dict[str, str] | None:
    """The fast request for ``argv``, or None when the full command line must handle it."""
    if argv and argv[0] not in _CHOICES:
        return _eks_token(argv)
    if not argv:
        return None
    command = argv[0]
    fields = _flags(argv[1:], _CHOICES[command])
    if fields is None:
        return None
    fields[fastwire.OP] = command
    if command == "credentials":
        if fastwire.PROFILE not in fields:
            return None  # "the following arguments are required: --profile"
        fields.setdefault(fastwire.FORMAT, "process")
        return fields
    if fields.setdefault(fastwire.SHELL, "sh") in ("bash", "zsh"):
        fields[fastwire.SHELL] = "sh"  # their syntax is sh's (an older daemon knows only sh)
    env = os.environ
    for key in (fastwire.ENV_DEFAULT_PROFILE, fastwire.ENV_PROFILE):
        if key in env:
            fields[key] = env[key]
    if env.get("AWS_ACCESS_KEY_ID"):
        fields[fastwire.HAS_KEYS] = "1"
    if env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        fields[fastwire.HAS_RELATIVE_URI] = "1"
    if sys.stdout.isatty():
        fields[fastwire.STDOUT_TTY] = "1"
    return fields


def _eks_token(argv: list[str]) -> dict[str, str] | None:
    """``ssod eks token ...`` or the AWS CLI's ``eks get-token`` argv (kubectl's exec plugin)."""
    from ssod import eksargv

    words = argv if argv[:2] == ["eks", "token"] else eksargv.translate(argv)
    fields = eksargv.token_fields(words[2:]) if words is not None else None
    if fields is None:
        return None
    fields[fastwire.OP] = "eks_token"
    env = os.environ
    for key in eksargv.ENVIRONMENT:
        if key in env:
            fields[key] = env[key]
    return fields


def _flags(words: list[str], flags: dict[str, tuple[str, ...] | None]) -> dict[str, str] | None:
    """``--flag VALUE`` and ``--flag=VALUE`` pairs exactly as argparse reads them, else None."""
    fields: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--no-start":
            continue  # only matters when no daemon runs: then the full CLI handles it
        name, eq, value = word.partition("=")
        if name not in flags:
            return None  # -h, abbreviations, --, positionals: argparse's business
        if not eq:
            if i >= len(words) or words[i].startswith("-"):
                return None  # argparse: "expected one argument" (or a negative number)
            value = words[i]
            i += 1
        choices = flags[name]
        if choices is not None and value not in choices:
            return None
        fields[_DEST[name]] = value  # a repeated flag: the last one wins, as in argparse
    return fields


def _own_private_dir(path: str) -> bool:
    # The daemon's rules for its runtime directory: ours, a real directory, 0700.
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return st.st_uid == os.getuid() and (st.st_mode & 0o170077) == 0o040000


def peer_uid(sock: object) -> int | None:
    """The uid of the process at the other end of a connected Unix socket (None: unknown)."""
    import _socket

    getsockopt = sock.getsockopt  # type: ignore[attr-defined]
    if hasattr(_socket, "SO_PEERCRED"):  # Linux: struct ucred {pid, uid, gid}
        raw = getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
        return int.from_bytes(raw[4:8], sys.byteorder)
    if hasattr(_socket, "LOCAL_PEERCRED"):  # macOS: struct xucred {version, uid, ...}
        raw = getsockopt(0, _socket.LOCAL_PEERCRED, 76)
        return int.from_bytes(raw[4:8], sys.byteorder)
    return None


def ask(fields: dict[str, str]) -> int | None:
    """Send the request to this user's daemon and write its answer; None: use the full CLI."""
    try:
        request = fastwire.encode_request(fields)
    except ValueError:
        return None  # not UTF-8: the full path words whatever error that is
    runtime = _runtime_dir()
    if runtime is None or not _own_private_dir(runtime):
        return None
    timeout = _TIMEOUTS[fields[fastwire.OP]]
    try:
        data = _exchange(os.path.join(runtime, fastwire.SOCKET_NAME), request, timeout)
    except TimeoutError:
        return _no_answer(runtime, timeout)
    answer = fastwire.decode_answer(data) if data is not None else None
    if answer is None:
        return None
    code, out, err = answer
    if out:
        sys.stdout.write(out)
        sys.stdout.flush()
    if err:
        sys.stderr.write(err)
        sys.stderr.flush()
    return code


def _exchange(path: str, request: bytes, timeout: float) -> bytes | None:
    """The daemon's answer to ``request``; None if no daemon of ours answers on ``path``."""
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
        if peer_uid(sock) not in (os.getuid(), None):
            return None
        sock.sendall(request)
        sock.shutdown(_socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)
    except TimeoutError:
        raise
    except OSError:
        return None  # no daemon, an older one, or it went away: the full path decides
    finally:
        sock.close()


def _runtime_dir() -> str | None:
    from ssod import paths

    try:
        return paths.runtime_dir_name()
    except (OSError, KeyError):
        return None


def _no_answer(runtime: str, timeout: float) -> int:
    # What the full client says when the daemon takes too long (ssod.client.ipc), word for word.
    from ssod.client.service.autostart import unavailable_message
    from ssod.errors import EXIT_NO_DAEMON

    why = f"no answer within {timeout:g}s"
    where = os.path.join(runtime, "ipc")
    sys.stderr.write(f"ssod: {unavailable_message(where, why)}\n")
    return EXIT_NO_DAEMON


def main() -> int:
    """Entry point of the ``ssod`` console script."""
    argv = sys.argv[1:]
    try:
        if os.environ.get("SSOD_FAST_PATH") != "0":
            fields = parse(argv)
            if fields is not None:
                code = ask(fields)
                if code is not None:
                    return code
    except KeyboardInterrupt:
        return 130
    from ssod.client.cli import main as full_main

    return full_main(argv)


if __name__ == "__main__":
    sys.exit(main())
