"""sd_notify: the message reaches systemd's socket, a path or an abstract address; no-op without."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from ssod.daemon.host.sdnotify import sd_notify


@pytest.mark.parametrize("abstract", [False, True])
def test_the_message_reaches_the_notify_socket(
    abstract: bool, short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        if abstract:
            name = f"ssod-test-notify-{os.getpid()}"
            systemd.bind("\0" + name)
            monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        else:
            path = short_tmp / "notify"
            systemd.bind(str(path))
            monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        systemd.settimeout(10)
        sd_notify(b"READY=1")
        assert systemd.recv(64) == b"READY=1"


def test_without_systemd_or_with_its_socket_gone_nothing_happens(
    short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sd_notify(b"READY=1")  # NOTIFY_SOCKET is unset by the suite's clean environment
    monkeypatch.setenv("NOTIFY_SOCKET", str(short_tmp / "gone"))
    sd_notify(b"STOPPING=1")
