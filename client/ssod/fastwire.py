"""The fast socket's wire: one request, one rendered answer (``credentials``, ``env``, EKS tokens).

The ZeroMQ IPC socket (``ssod.wire``) is the general contract. Next to it the daemon serves a
plain Unix stream socket, ``<runtime dir>/fast``, for the two commands other programs run
thousands of times a day (credential_process, shell start-up). On it the daemon does the
command's whole work, rendering included, with the same functions the full client uses, so the
client needs neither pyzmq nor json nor argparse: it sends its parsed arguments and writes what
comes back. Pure and import-free (no ``typing`` either: every import is paid on that path).

    request  b"ssod-fast/1" NUL key=value NUL key=value ...   then the client shuts down writing
    answer   b"ssod-fast/1 EXIT OUTLEN\\n" + stdout bytes (OUTLEN) + stderr bytes (the rest)
    or       b"ssod-fast/1 fallback\\n": run the full client instead (it gives the same answer)

Keys and values are UTF-8 without NUL (argv and environment strings cannot hold NUL anyway).
"""

from __future__ import annotations

MAGIC = b"ssod-fast/1"
#: The socket's name in the runtime directory, beside the ZeroMQ ``ipc`` socket.
SOCKET_NAME = "fast"
#: Largest request the daemon reads (a request is a few short fields).
MAX_REQUEST_BYTES = 16 * 1024
FALLBACK = MAGIC + b" fallback\n"

#: Request keys. ``op`` is ``credentials``, ``env`` or ``eks_token`` (its keys: ``ssod.eksargv``
#: field names and ``eksargv.ENVIRONMENT``); the rest are that command's arguments and
#: the few facts about the client's environment ``ssod env`` depends on.
OP = "op"
PROFILE = "profile"
FORMAT = "format"
SHELL = "shell"
#: ``AWS_DEFAULT_PROFILE`` and ``AWS_PROFILE`` as set in the client's environment.
ENV_DEFAULT_PROFILE = "AWS_DEFAULT_PROFILE"
ENV_PROFILE = "AWS_PROFILE"
#: "1" when set (non-empty) in the client's environment; the values never travel.
HAS_KEYS = "has_keys"
HAS_RELATIVE_URI = "has_relative_uri"
#: "1" when the client's stdout is a terminal.
STDOUT_TTY = "stdout_tty"


def encode_request(fields: dict[str, str]) -> bytes:
    """The request bytes; raises ``ValueError`` for a NUL or a string that is not UTF-8."""
    parts = [MAGIC]
    for key, value in fields.items():
        if "\0" in key or "\0" in value or "=" in key:
            raise ValueError("a request field holds NUL or a bad key")
        parts.append(f"{key}={value}".encode())  # UnicodeEncodeError is a ValueError
    return b"\0".join(parts)


def decode_request(data: bytes) -> dict[str, str]:
    """The request's fields; raises ``ValueError`` for anything malformed."""
    if len(data) > MAX_REQUEST_BYTES:
        raise ValueError("request too large")
    parts = data.split(b"\0")
    if parts[0] != MAGIC:
        raise ValueError("not an ssod-fast/1 request")
    fields: dict[str, str] = {}
    for part in parts[1:]:
        key, sep, value = part.decode().partition("=")
        if not sep or not key or key in fields:
            raise ValueError("malformed request field")
        fields[key] = value
    return fields


def encode_answer(exit_code: int, stdout: str, stderr: str) -> bytes:
    """An answer: what the client writes to stdout and stderr, and its exit code."""
    out = stdout.encode("utf-8", "surrogateescape")
    err = stderr.encode("utf-8", "surrogateescape")
    return MAGIC + f" {exit_code} {len(out)}\n".encode() + out + err


def decode_answer(data: bytes) -> tuple[int, str, str] | None:
    """``(exit code, stdout, stderr)``, or None for a fallback or anything malformed."""
    head, sep, rest = data.partition(b"\n")
    words = head.split(b" ")
    if not sep or len(words) != 3 or words[0] != MAGIC:
        return None
    if not (words[1].isdigit() and words[2].isdigit()) or int(words[2]) > len(rest):
        return None
    size = int(words[2])
    out, err = rest[:size], rest[size:]
    return (
        int(words[1]),
        out.decode("utf-8", "surrogateescape"),
        err.decode("utf-8", "surrogateescape"),
    )
