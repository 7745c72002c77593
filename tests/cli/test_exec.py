"""``ssod exec`` as a subprocess against a real daemon and the emulator: boto3 in the command gets
the profile's account, variables that would win are gone, exit codes and signals are the
command's own (ssod execs into it), nesting is refused, and a needed login runs first.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_support import NO_BROWSER, OVER_SSH, boto3_key, refused, wait_until
from harness import STANDARD_CONFIG, DaemonHarness
from ssod import errors, scoped
from ssod.wire import Op

PY = sys.executable

#: Prints the account boto3 gets and the variables ``ssod exec`` sets or removes.
REPORT = """\
import boto3, json, os
sts = boto3.client("sts")
names = ["AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
         "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
         "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
         "AWS_REGION", "AWS_DEFAULT_REGION", "SSOD_PROFILE", "KEEP_ME"]
print(json.dumps({"account": sts.get_caller_identity()["Account"],
                  "env": {n: os.environ.get(n) for n in names}}))
"""

#: Writes its token to the file argv[1] (atomically), then runs until its stdin closes.
HOLDER = """import os, sys
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"])
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
sys.stdin.read()
"""

#: Waits for a signal, records it (and its own pid) in the marker file, exits 40 + signum.
WAITER = """\
import os, signal, sys, time
marker = sys.argv[1]
def got(signum, frame):
    with open(marker, "a") as f:
        f.write(f"signal {signum}\\n")
    sys.exit(40 + signum)
signal.signal(signal.SIGINT, got)
signal.signal(signal.SIGTERM, got)
with open(marker, "w") as f:
    f.write(f"pid {os.getpid()}\\n")
time.sleep(60)
"""


@pytest.fixture
def daemon(ssod_daemon: DaemonHarness) -> DaemonHarness:
    ssod_daemon.start()
    ssod_daemon.login(profile="dev", use_device_code=True)
    return ssod_daemon


def test_command_gets_the_profile_and_nothing_overrides_it(
    daemon: DaemonHarness, tmp_path: Path
) -> None:
    script = tmp_path / "report.py"
    script.write_text(REPORT)
    stale = {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00",
        "AWS_SECRET_ACCESS_KEY": "not-a-secret",
        "AWS_SESSION_TOKEN": "stale",
        "AWS_PROFILE": "dev",
        "AWS_DEFAULT_PROFILE": "dev",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/elsewhere",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/elsewhere",
        "AWS_REGION": "ap-south-1",
        "KEEP_ME": "yes",
    }
    out = daemon.ssod("exec", "--profile", "prod", "--", PY, str(script), env=stale)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["account"] == "222222222222"
    env = report["env"]
    assert env["SSOD_PROFILE"] == "prod"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["KEEP_ME"] == "yes"
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"].endswith("/prod")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        assert env[name] is None, name
    assert env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] is None
    # A token for this command alone, and no main-token file (botocore would read it first).
    assert env["AWS_CONTAINER_AUTHORIZATION_TOKEN"].startswith("ssod.")
    assert env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] is None
    assert "note" not in out.stderr
    # The default profile comes from AWS_PROFILE, exactly as for `ssod env`.
    dev = daemon.ssod("exec", "--", PY, str(script), env={"AWS_PROFILE": "dev"})
    assert json.loads(dev.stdout)["account"] == "111111111111", dev.stderr


def test_exit_status_is_the_commands(daemon: DaemonHarness) -> None:
    for code in (0, 3, 17):
        out = daemon.ssod("exec", "--profile", "dev", "--", PY, "-c", f"raise SystemExit({code})")
        assert out.returncode == code, out.stderr
    missing = daemon.ssod("exec", "--profile", "dev", "--", "no-such-command-ssod")
    assert missing.returncode == 127
    assert "no-such-command-ssod: command not found" in missing.stderr


def test_without_a_command_it_starts_the_shell(daemon: DaemonHarness) -> None:
    out = daemon.ssod(
        "exec", "--profile", "prod", input='echo "in $SSOD_PROFILE"\n', env={"SHELL": "/bin/sh"}
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "in prod\n"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and exec")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signals_reach_the_command_which_is_ssod_itself(
    daemon: DaemonHarness, tmp_path: Path, signum: signal.Signals
) -> None:
    marker = tmp_path / "marker"
    script = tmp_path / "waiter.py"
    script.write_text(WAITER)
    argv = [PY, "-m", "ssod.client.cli", "exec", "--profile", "dev", "--", PY, str(script)]
    argv.append(str(marker))
    proc = subprocess.Popen(argv, env={**daemon.env, **NO_BROWSER})
    try:
        wait_until(lambda: marker.exists() and "pid" in marker.read_text(), what="the command")
        # ssod exec'd into the command: the process we started *is* the command.
        assert marker.read_text().split() == ["pid", str(proc.pid)]
        proc.send_signal(signum)
        assert proc.wait(20) == 40 + signum
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert marker.read_text().splitlines()[-1] == f"signal {int(signum)}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_the_command_inherits_no_ignored_sigpipe_and_no_descriptors(daemon: DaemonHarness) -> None:
    out = daemon.ssod("exec", "--profile", "dev", "--", "cat", "/proc/self/status")
    assert out.returncode == 0, out.stderr
    [ignored] = [line.split()[1] for line in out.stdout.splitlines() if line.startswith("SigIgn")]
    assert not int(ignored, 16) & (1 << (signal.SIGPIPE - 1))
    # Nothing of ssod's (the IPC socket, zmq's event fds) stays open in the command.
    fds = daemon.ssod("exec", "--profile", "dev", "--", "ls", "/proc/self/fd")
    assert fds.stdout.split() == ["0", "1", "2", "3"]  # 3: the directory ls reads


def test_nested_exec_for_another_profile_is_refused_unless_forced(
    daemon: DaemonHarness, tmp_path: Path
) -> None:
    script = tmp_path / "report.py"
    script.write_text(REPORT)
    inner = [PY, "-m", "ssod.client.cli", "exec", "--profile", "prod", "--", "true"]
    nested = daemon.ssod("exec", "--profile", "dev", "--", *inner)
    assert nested.returncode == errors.EXIT_USAGE
    assert "already runs under `ssod exec` for profile 'dev'" in nested.stderr
    assert "--force" in nested.stderr
    forced = daemon.ssod("exec", "--profile", "dev", "--", *inner[:4], "--force", *inner[4:])
    assert forced.returncode == 0, forced.stderr
    same = daemon.ssod("exec", "--profile", "dev", "--", *inner[:5], "dev", "--", "true")
    assert same.returncode == 0, same.stderr  # the same profile again changes nothing
    # Inside, a command without --profile means the profile it runs under.
    unnamed = daemon.ssod("exec", "--profile", "prod", "--", *inner[:4], "--", PY, str(script))
    assert unnamed.returncode == 0, unnamed.stderr
    assert json.loads(unnamed.stdout)["account"] == "222222222222"


def test_a_needed_login_runs_first_unless_no_login(
    ssod_daemon: DaemonHarness, tmp_path: Path
) -> None:
    ssod_daemon.start()
    marker = tmp_path / "ran"
    touch = [PY, "-c", f"open({str(marker)!r}, 'w').write('ran')"]
    refused = ssod_daemon.ssod("exec", "--profile", "dev", "--no-login", "--", *touch)
    assert refused.returncode == errors.EXIT_LOGIN_REQUIRED
    assert "ssod login --sso-session corp" in refused.stderr
    assert not marker.exists()
    # Over SSH no browser can open: the shared login flow uses the device code by itself.
    out = ssod_daemon.ssod("exec", "--profile", "dev", "--", *touch, env=OVER_SSH)
    assert out.returncode == 0, out.stderr
    assert marker.read_text() == "ran"
    assert "Successfully logged into Start URL" in out.stderr
    assert out.stdout == ""  # stdout belongs to the command
    assert ssod_daemon.emulator.calls().get("CreateToken:device_code", 0) >= 1


def test_unknown_profile_and_no_daemon(ssod_daemon: DaemonHarness) -> None:
    none = ssod_daemon.ssod("exec", "--profile", "dev", "--", "true")
    assert none.returncode == errors.EXIT_NO_DAEMON
    ssod_daemon.start()
    unknown = ssod_daemon.ssod("exec", "--profile", "nope", "--", "true")
    assert unknown.returncode == errors.EXIT_NOT_FOUND
    assert "nope" in unknown.stderr


def test_a_default_profile_with_sso_settings_does_not_win(
    ssod_daemon: DaemonHarness, tmp_path: Path
) -> None:
    """SDKs use [default]'s SSO settings before the endpoint: exec names the profile instead."""
    default = (
        "[default]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\n"
    )
    ssod_daemon.write_config(default + STANDARD_CONFIG)
    ssod_daemon.start()
    ssod_daemon.login(profile="dev", use_device_code=True)
    script = tmp_path / "report.py"
    script.write_text(REPORT)
    out = ssod_daemon.ssod("exec", "--profile", "prod", "--", PY, str(script))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["account"] == "222222222222"
    assert report["env"]["AWS_PROFILE"] == "prod"
    assert "[default] has credentials of its own" in out.stderr


def test_static_default_keys_do_not_win(daemon: DaemonHarness, tmp_path: Path) -> None:
    """botocore reads ~/.aws/credentials before the endpoint too."""
    credentials = daemon.home / ".aws" / "credentials"
    credentials.write_text(
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    )
    script = tmp_path / "report.py"
    script.write_text(REPORT)
    out = daemon.ssod("exec", "--profile", "prod", "--", PY, str(script))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["account"] == "222222222222"


def _hold(daemon: DaemonHarness, script: Path, marker: Path) -> subprocess.Popen[str]:
    argv = [PY, "-m", "ssod.client.cli", "exec", "--profile", "dev", "--ttl", "1h", "--"]
    argv += [PY, str(script), str(marker)]
    env = {**daemon.env, **NO_BROWSER}
    return subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, text=True)


def _end(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(20) == 0


def _listed(daemon: DaemonHarness) -> list[tuple[str, str, int]]:
    tokens = json.loads(daemon.ssod("token", "list", "--json").stdout)["tokens"]
    return sorted((t["name"], t["profile"], t["pid"]) for t in tokens)


def test_the_commands_token_lives_exactly_as_long_as_the_command(
    daemon: DaemonHarness, tmp_path: Path
) -> None:
    """Bound to the command's pid: listed while it runs, refused once it ends, across a restart."""
    script = tmp_path / "hold.py"
    script.write_text(HOLDER)
    procs = [_hold(daemon, script, tmp_path / name) for name in ("a", "b")]
    try:
        for name in ("a", "b"):
            wait_until((tmp_path / name).exists, what=f"command {name}")
        first, second = ((tmp_path / n).read_text() for n in ("a", "b"))
        assert first.startswith(scoped.PREFIX) and second.startswith(scoped.PREFIX)
        assert _listed(daemon) == sorted(("exec", "dev", p.pid) for p in procs)
        [record] = [t for t in daemon.request(Op.LIST_TOKENS)["tokens"] if t["pid"] == procs[0].pid]
        assert _epoch(record["expires_at"]) - _epoch(record["created_at"]) == 3600  # --ttl 1h
        served = boto3_key(daemon, "dev", first)
        assert served.returncode == 0 and served.stdout.startswith("ASIA"), served.stderr
        assert refused(boto3_key(daemon, "prod", first))  # its profile only

        daemon.stop()
        _end(procs[0])  # ends while the daemon is down: the restart drops its token
        daemon.start()
        assert _listed(daemon) == [("exec", "dev", procs[1].pid)]
        assert refused(boto3_key(daemon, "dev", first))
        assert boto3_key(daemon, "dev", second).returncode == 0

        _end(procs[1])
        assert refused(boto3_key(daemon, "dev", second))  # at once: the endpoint looks at the pid
        assert _listed(daemon) == []
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    log = daemon.log()
    assert first not in log and second.rsplit(".", 1)[1] not in log
    assert "event=scoped_token_process_gone" in log


def _epoch(text: str) -> int:
    import calendar
    import time

    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def test_the_main_token_when_the_daemon_issues_none(
    ssod_daemon: DaemonHarness, tmp_path: Path
) -> None:
    """At the cap of live scoped tokens the command still runs, with the main token and a note."""
    state = ssod_daemon.home / ".local" / "state" / "ssod"
    state.mkdir(parents=True, mode=0o700, exist_ok=True)
    full = [scoped.issue("prod", 3600, time.time()).record for _ in range(scoped.MAX_TOKENS)]
    path = state / "scoped-tokens.json"
    path.write_bytes(scoped.dump(full))
    path.chmod(0o600)
    ssod_daemon.start()
    ssod_daemon.login(profile="dev", use_device_code=True)
    script = tmp_path / "report.py"
    script.write_text(REPORT)
    out = ssod_daemon.ssod("exec", "--profile", "dev", "--", PY, str(script))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["account"] == "111111111111"
    main = ssod_daemon.request(Op.ENDPOINT)
    assert report["env"]["AWS_CONTAINER_AUTHORIZATION_TOKEN"] == main["token"]
    assert report["env"]["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] == main["token_file"]
    assert "Note: the daemon gave no token for this command alone" in out.stderr
    assert "the most ssod keeps" in out.stderr
    assert main["token"] not in out.stderr
    # A bad --ttl is the user's mistake, not the daemon's: refused before anything runs.
    bad = ssod_daemon.ssod("exec", "--profile", "dev", "--ttl", "forever", "--", "true")
    assert bad.returncode == errors.EXIT_USAGE and "is not a duration" in bad.stderr
