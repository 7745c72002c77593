"""Measurement 7: from sign-in to the account menu with 500 accounts, and the portal calls.

The emulator holds 500 accounts (two roles each, listed 20 to a ListAccounts page) and adds its
per-call latency to every call. ``ssod configure`` runs in a pseudo-terminal with every
session answer given as a flag and a device-code login the emulator approves at once; the
time is taken from "Successfully logged into ..." to the account menu's heading, as the two
lines reach the terminal, and the emulator counts the portal calls in between. The menu is
then left with Ctrl-C (the file is put back). ``ssod roles`` (every account's roles) is timed
the same way, from outside. With ``--baseline REV`` the old daemon and client run the same
rounds side by side.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.fixtures import Options, running_daemon
from bench.launcher import Emulator
from bench.report import Section, Table, Verdict, fmt_ms
from bench.stats import summarize
from ssod.emulator.testing.launcher import ssod_command, stop_process

ACCOUNTS = 500
PAGE_SIZE = 20
PORTAL_CALLS = ("ListAccounts", "ListAccountRoles")
SIGNED_IN = b"Successfully logged into Start URL"
MENU = f"There are {ACCOUNTS} AWS accounts available to you.".encode()
#: The menu's last line: drawn once the terminal is in the menu's raw mode (Ctrl-C is a key).
DRAWN = b"(up/down to move"


def directory_file(folder: Path) -> Path:
    """The emulator's directory: ``ACCOUNTS`` accounts whose names are not in id order."""
    accounts = [
        {
            "id": f"{100000000000 + i:012d}",
            "name": f"team-{(i * 7919) % ACCOUNTS:03d}",
            "roles": ["ReadOnly", "Admin"],
        }
        for i in range(ACCOUNTS)
    ]
    path = folder / "directory.json"
    path.write_text(json.dumps({"accounts": accounts}))
    return path


def _until(fd: int, proc: subprocess.Popen[bytes], marks: Sequence[bytes]) -> list[float]:
    """The perf_counter time each of ``marks`` first reached the terminal, in order."""
    seen, times, data = 0, [], b""
    deadline = time.monotonic() + 600
    while seen < len(marks):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"the wizard stopped before {marks[seen]!r}: {data[-2000:]!r}")
        if select.select([fd], [], [], 0.5)[0]:
            try:
                data += os.read(fd, 65536)
            except OSError:
                continue
            now = time.perf_counter()
            while seen < len(marks) and marks[seen] in data:
                times.append(now)
                seen += 1
    return times


def _wizard(command: Sequence[str], env: Mapping[str, str], round_: int) -> float:
    """Seconds from the sign-in line to the account menu's heading in one ``ssod configure``."""
    args = [
        "configure",
        "--sso-session",
        f"bench{round_}",
        "--sso-start-url",
        "https://d-1234567890.awsapps.com/start",
        "--sso-region",
        "us-east-1",
        "--scopes",
        "sso:account:access",
        "--use-device-code",
        "--no-browser",
    ]
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [*command, *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm"},
        start_new_session=True,
    )
    os.close(slave)
    try:
        signed_in, menu, _ = _until(master, proc, [SIGNED_IN, MENU, DRAWN])
        os.write(master, b"\x03")  # leave the menu: the config file is put back
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    os.read(master, 65536)  # keep the terminal drained while it ends
                except OSError:
                    break
        proc.wait(5)
    finally:
        stop_process(proc)
        os.close(master)
    return menu - signed_in


def _portal_calls(emulator: Emulator) -> dict[str, int]:
    calls = emulator.remote.calls()
    return {name: calls.get(name, 0) for name in PORTAL_CALLS}


def _variant(
    options: Options,
    data: Path,
    label: str,
    client: list[str],
    daemon: Sequence[str] | None = None,
    client_env: Mapping[str, str] | None = None,
) -> list[str]:
    """One row of the table for one version of ssod (its daemon and its client)."""
    rounds = options.reps(3, 1)
    menu_times: list[float] = []
    roles_times: list[float] = []
    menu_calls: dict[str, int] = {}
    roles_calls: dict[str, int] = {}
    with running_daemon(
        options, emulator_args=["--data", str(data)], daemon_command=daemon
    ) as scene:
        scene.emulator.remote.settings(page_size=PAGE_SIZE)
        env = {**scene.daemon.env, **(client_env or {})}
        for round_ in range(rounds):
            scene.emulator.remote.reset_calls()
            menu_times.append(_wizard(client, env, round_))
            menu_calls = _portal_calls(scene.emulator)
            scene.emulator.remote.reset_calls()
            started = time.perf_counter()
            subprocess.run(
                [*client, "roles", "--sso-session", "corp", "--json"],
                env=env,
                check=True,
                capture_output=True,
            )
            roles_times.append(time.perf_counter() - started)
            roles_calls = _portal_calls(scene.emulator)
    menu, roles = summarize(menu_times), summarize(roles_times)
    return [
        label,
        fmt_ms(menu.median, 0),
        " + ".join(str(menu_calls[n]) for n in PORTAL_CALLS),
        fmt_ms(roles.median, 0),
        " + ".join(str(roles_calls[n]) for n in PORTAL_CALLS),
    ]


def measure(options: Options) -> Section:
    """Run the wizard and ``ssod roles`` against 500 accounts (and the baseline's, if any)."""
    section = Section("accounts-menu", f"Sign-in to the account menu with {ACCOUNTS} accounts")
    section.commands.append(f"python -m bench.run --only accounts-menu{options.flag}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ssodb-dir-") as folder:
        data = directory_file(Path(folder))
        rows.append(_variant(options, data, "now", ssod_command()))
        base = options.baseline
        if base is not None:
            daemon = base.daemon_command("daemon", "--no-notify")
            client = base.client_command()
            rows.append(_variant(options, data, base.label, client, daemon, base.env()))
    section.tables.append(
        Table(
            [
                "ssod",
                "sign-in → account menu (median)",
                "portal calls: ListAccounts + ListAccountRoles",
                "`ssod roles` (median)",
                "its portal calls",
            ],
            rows,
        )
    )
    now_calls = rows[0][2]
    section.verdicts.append(
        Verdict(
            f"{ACCOUNTS} accounts: the wizard asks for no account's roles before its menu",
            f"{rows[0][1]} from sign-in to the menu, {now_calls} portal calls",
            now_calls.endswith("+ 0"),
        )
    )
    section.notes.append(
        f"The emulator adds {options.latency * 1000:g} ms to every call and pages "
        f"{PAGE_SIZE} accounts per ListAccounts; each account has two roles (one page). "
        "`ssod roles` lists the roles 8 accounts at a time (`schedule.ListingPolicy`)."
    )
    return section
