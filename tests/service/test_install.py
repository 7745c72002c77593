"""``ssod service install|uninstall|status`` against fake ``systemctl``/``launchctl`` on PATH.

Each fake appends its argv (as JSON) to a calls file and answers from a table the test can
change with ``FakeManagers.reply``; by default a user manager is running and ssod is neither
active nor loaded. The environment is the one a user's shell would have: a runtime directory
under /run/user (never /tmp, which the unit's PrivateTmp hides) and no carried variables.
macOS behaviour is tested on any OS by setting ``SSOD_SERVICE_PLATFORM=launchd``.
"""

from __future__ import annotations

import json
import os
import plistlib
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ssod.client.cli import main
from ssod.client.service import control as servicectl
from ssod.client.service import units as service
from ssod.errors import EXIT_NO_DAEMON, EXIT_USAGE, SsodError

FAKE = """\
#!{python}
import json, os, sys
name = os.path.basename(sys.argv[0])
with open(os.environ["FAKE_MANAGER_CALLS"], "a") as f:
    f.write(json.dumps([name, *sys.argv[1:]]) + "\\n")
with open(os.environ["FAKE_MANAGER_REPLIES"]) as f:
    replies = json.load(f)
reply = replies.get(" ".join([name, *sys.argv[1:]]), {{}})
sys.stdout.write(reply.get("out", ""))
sys.stderr.write(reply.get("err", ""))
sys.exit(reply.get("rc", 0))
"""

RUNTIME = "/run/user/4242"


class FakeManagers:
    """The fake ``systemctl``/``launchctl``: set replies, read the recorded calls."""

    def __init__(self, root: Path) -> None:
        self.bin = root / "fakebin"
        self.bin.mkdir()
        self.calls_file = root / "calls.jsonl"
        self.replies_file = root / "replies.json"
        self.replies: dict[str, dict[str, object]] = {}
        for name in ("systemctl", "launchctl"):
            script = self.bin / name
            script.write_text(FAKE.format(python=sys.executable))
            script.chmod(0o755)
        self.reply("systemctl --user is-system-running", out="running\n")
        self.reply(f"systemctl --user is-active {service.UNIT_NAME}", rc=3, out="inactive\n")
        self.reply(f"systemctl --user is-enabled {service.UNIT_NAME}", rc=1, out="disabled\n")
        uid = os.getuid()
        self.reply(f"launchctl print gui/{uid}/{service.LAUNCHD_LABEL}", rc=113, err="nope\n")

    def reply(self, command: str, *, rc: int = 0, out: str = "", err: str = "") -> None:
        """Answer ``command`` (program and arguments joined by spaces) like this."""
        self.replies[command] = {"rc": rc, "out": out, "err": err}
        self.replies_file.write_text(json.dumps(self.replies))

    def calls(self) -> list[list[str]]:
        """Every recorded call, oldest first, as argv lists."""
        if not self.calls_file.exists():
            return []
        return [json.loads(line) for line in self.calls_file.read_text().splitlines()]

    def changes(self) -> list[list[str]]:
        """The recorded calls minus read-only queries."""
        queries = {"is-system-running", "is-active", "is-enabled", "print"}
        return [c for c in self.calls() if not queries & set(c)]

    def clear(self) -> None:
        """Forget the recorded calls."""
        self.calls_file.unlink(missing_ok=True)


@pytest.fixture
def managers(
    tmp_path: Path, clean_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeManagers]:
    """Fake service managers first on PATH, and a shell-like environment for install."""
    fakes = FakeManagers(tmp_path)
    monkeypatch.setenv("PATH", f"{fakes.bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_MANAGER_CALLS", str(fakes.calls_file))
    monkeypatch.setenv("FAKE_MANAGER_REPLIES", str(fakes.replies_file))
    monkeypatch.setenv("XDG_RUNTIME_DIR", RUNTIME)
    for name in [*service.CARRIED_NAMES, "XDG_CONFIG_HOME", service.PLATFORM_ENV]:
        monkeypatch.delenv(name, raising=False)
    yield fakes


UNIT = service.UNIT_NAME
SYSTEMCTL = ["systemctl", "--user"]


def unit_file(home: Path) -> Path:
    return home / ".config" / "systemd" / "user" / UNIT


def expected_unit() -> str:
    return service.render_unit(service.unit_template(), service.build_spec(os.environ))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["service", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_install_writes_the_unit_then_reloads_enables_and_starts(
    managers: FakeManagers, clean_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "install")
    assert code == 0
    path = unit_file(clean_environ)
    assert path.read_text() == expected_unit()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert managers.changes() == [
        [*SYSTEMCTL, "daemon-reload"],
        [*SYSTEMCTL, "enable", "--now", UNIT],
    ]
    for directory in (clean_environ / ".aws", clean_environ / ".local" / "state" / "ssod"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert f"wrote {path}" in out
    assert f"$ systemctl --user enable --now {UNIT}" in out
    program = Path(sys.executable).parent / "ssod"
    assert f"ExecStart={program} daemon --started-by service\n" in path.read_text()


def test_reinstall_over_a_running_service_restarts_it(
    managers: FakeManagers, capsys: pytest.CaptureFixture[str]
) -> None:
    managers.reply(f"systemctl --user is-active {UNIT}", out="active\n")
    assert run(capsys, "install")[0] == 0
    assert managers.changes() == [
        [*SYSTEMCTL, "daemon-reload"],
        [*SYSTEMCTL, "enable", "--now", UNIT],
        [*SYSTEMCTL, "restart", UNIT],
    ]


def test_dry_run_prints_the_file_verbatim_then_the_commands_and_changes_nothing(
    managers: FakeManagers, clean_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "install", "--dry-run")
    assert code == 0
    path = unit_file(clean_environ)
    state = clean_environ / ".local" / "state" / "ssod"
    assert out == (
        f"# would write {path}\n{expected_unit()}# would run\n"
        f"mkdir -p -m 700 {clean_environ / '.aws'} {state}\n"
        f"systemctl --user daemon-reload\nsystemctl --user enable --now {UNIT}\n"
    )
    assert err == ""
    assert managers.changes() == []
    assert sorted(p.name for p in clean_environ.iterdir()) == []


def test_uninstall_undoes_exactly_what_install_did(
    managers: FakeManagers, clean_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "install")
    managers.clear()
    code, out, _ = run(capsys, "uninstall", "--dry-run")
    path = unit_file(clean_environ)
    assert code == 0
    assert out == (
        f"# would run\nsystemctl --user disable --now {UNIT}\nrm -f {path}\n"
        "systemctl --user daemon-reload\n"
    )
    assert path.exists()
    assert managers.changes() == []
    assert run(capsys, "uninstall")[0] == 0
    assert not path.exists()
    assert managers.changes() == [
        [*SYSTEMCTL, "disable", "--now", UNIT],
        [*SYSTEMCTL, "daemon-reload"],
    ]
    code, out, _ = run(capsys, "uninstall")
    assert code == 0
    assert "not installed" in out


def test_status_reports_enabled_and_active(
    managers: FakeManagers, clean_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "status")
    assert code == EXIT_NO_DAEMON
    assert "(not installed)" in out
    run(capsys, "install")
    managers.reply(f"systemctl --user is-enabled {UNIT}", out="enabled\n")
    managers.reply(f"systemctl --user is-active {UNIT}", out="active\n")
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert out == f"unit file: {unit_file(clean_environ)}\nenabled:   enabled\nactive:    active\n"


def test_install_refuses_without_a_user_manager_and_says_what_to_run(
    managers: FakeManagers, clean_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    managers.reply(
        "systemctl --user is-system-running", rc=1, err="Failed to connect to bus: No medium\n"
    )
    code, out, err = run(capsys, "install")
    assert code == 1
    assert "no systemd user manager is reachable (Failed to connect to bus" in err
    assert "ssod daemon" in err
    assert "--dry-run" in err
    assert managers.changes() == []
    assert not unit_file(clean_environ).exists()
    code, out, err = run(capsys, "install", "--dry-run")
    assert code == 0
    assert out.startswith(f"# would write {unit_file(clean_environ)}\n")
    assert "a real install would stop here" in err


def test_a_failing_command_stops_the_install_with_its_message(
    managers: FakeManagers, capsys: pytest.CaptureFixture[str]
) -> None:
    managers.reply(f"systemctl --user enable --now {UNIT}", rc=1, err="Job for ssod failed.\n")
    code, _, err = run(capsys, "install")
    assert code == 1
    assert f"`systemctl --user enable --now {UNIT}` failed (exit 1):\nJob for ssod failed." in err


def test_environment_is_carried_and_env_flag_adds_names(
    managers: FakeManagers,
    clean_environ: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/etc/aws config")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("EDITOR", "vi")
    assert run(capsys, "install", "--env", "LANG", "--env", "TZ=UTC")[0] == 0
    env_lines = [
        line for line in unit_file(clean_environ).read_text().splitlines() if "Environment=" in line
    ]
    assert env_lines == [
        'Environment="AWS_CONFIG_FILE=/etc/aws config"',
        "Environment=HTTPS_PROXY=http://proxy:3128",
        "Environment=LANG=C.UTF-8",
        "Environment=TZ=UTC",
        "Environment=SSOD_STATE_DIR=%h/.local/state/ssod",
    ]


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("AWS_SECRET_ACCESS_KEY", "does not take static AWS credentials"),
        ("NOT_SET_ANYWHERE", "is not set in this shell"),
        ("1BAD", "not a variable name"),
    ],
)
def test_env_flag_refuses_secrets_unset_and_bad_names(
    managers: FakeManagers, capsys: pytest.CaptureFixture[str], flag: str, message: str
) -> None:
    code, _, err = run(capsys, "install", "--env", flag)
    assert code == 1
    assert message in err
    assert managers.changes() == []


def test_runtime_dir_under_tmp_is_refused_but_dry_run_still_shows_the_unit(
    managers: FakeManagers, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSOD_RUNTIME_DIR", "/tmp/ssod-test")
    code, _, err = run(capsys, "install")
    assert code == 1
    assert "PrivateTmp" in err
    assert managers.changes() == []
    code, out, err = run(capsys, "install", "--dry-run")
    assert code == 0
    assert "Environment=SSOD_RUNTIME_DIR=/tmp/ssod-test\n" in out
    assert "PrivateTmp" in err


def test_custom_runtime_dir_is_pinned_made_and_writable(
    managers: FakeManagers,
    clean_environ: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime = "/srv/ssod test/%rt"  # never created: a dry run only plans the mkdir
    monkeypatch.setenv("SSOD_RUNTIME_DIR", runtime)
    code, out, _ = run(capsys, "install", "--dry-run")
    assert code == 0
    assert 'Environment="SSOD_RUNTIME_DIR=/srv/ssod test/%%rt"\n' in out
    assert 'ReadWritePaths="-/srv/ssod test/%%rt"\n' in out
    assert out.count("SSOD_RUNTIME_DIR") == 1
    assert "mkdir -p -m 700 " in out
    assert f"'{runtime}'\n" in out


# -- launchd (macOS behaviour, chosen with SSOD_SERVICE_PLATFORM on any OS) ------------------


@pytest.fixture
def launchd(managers: FakeManagers, monkeypatch: pytest.MonkeyPatch) -> FakeManagers:
    monkeypatch.setenv(service.PLATFORM_ENV, "launchd")
    return managers


def test_launchd_install_writes_the_agent_and_bootstraps_it(
    launchd: FakeManagers, clean_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "install")[0] == 0
    plist = service.plist_path(clean_environ)
    assert plist == clean_environ / "Library" / "LaunchAgents" / "io.ssod.daemon.plist"
    data = plistlib.loads(plist.read_bytes())
    assert data["Label"] == service.LAUNCHD_LABEL
    assert data["ProgramArguments"] == [
        str(Path(sys.executable).parent / "ssod"),
        "daemon",
        "--started-by",
        "service",
    ]
    assert service.PLATFORM_ENV not in data["EnvironmentVariables"]
    assert (clean_environ / "Library" / "Logs" / "ssod").is_dir()
    assert launchd.changes() == [["launchctl", "bootstrap", f"gui/{os.getuid()}", str(plist)]]


def test_launchd_reinstall_boots_out_the_loaded_agent_first(
    launchd: FakeManagers, clean_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"gui/{os.getuid()}/{service.LAUNCHD_LABEL}"
    launchd.reply(f"launchctl print {target}", out="\tstate = running\n\tpid = 4321\n")
    assert run(capsys, "install")[0] == 0
    plist = str(service.plist_path(clean_environ))
    assert launchd.changes() == [
        ["launchctl", "bootout", target],
        ["launchctl", "bootstrap", f"gui/{os.getuid()}", plist],
    ]
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert out == f"plist:  {plist}\nloaded: yes\nstate:  running (pid 4321)\n"
    launchd.clear()
    assert run(capsys, "uninstall")[0] == 0
    assert launchd.changes() == [["launchctl", "bootout", target]]
    assert not service.plist_path(clean_environ).exists()


def test_launchd_dry_run_is_the_plist_verbatim_then_the_commands(
    launchd: FakeManagers, clean_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "install", "--dry-run")
    plist = service.plist_path(clean_environ)
    content = service.render_plist(service.plist_template(), service.build_spec(os.environ))
    logs = clean_environ / "Library" / "Logs" / "ssod"
    assert code == 0
    assert out == (
        f"# would write {plist}\n{content.decode()}# would run\nmkdir -p -m 700 {logs}\n"
        f"launchctl bootstrap gui/{os.getuid()} {plist}\n"
    )
    assert launchd.changes() == []
    assert not plist.exists()


def test_the_console_script_runs_service_from_its_own_venv(
    managers: FakeManagers, clean_environ: Path
) -> None:
    script = Path(sys.executable).parent / "ssod"
    if not script.exists():
        pytest.skip("no ssod console script beside this interpreter")
    result = subprocess.run(
        [str(script), "service", "install", "--dry-run"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"ExecStart={script} daemon --started-by service\n" in result.stdout
    assert RUNTIME not in result.stdout  # the default runtime dir is %t/ssod, not pinned


def test_service_without_an_action_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == EXIT_USAGE
    assert "install" in err
    assert out == ""


def test_only_systemd_and_launchd_are_supported() -> None:
    assert isinstance(servicectl.backend_for({}, "linux"), servicectl.Systemd)
    assert isinstance(servicectl.backend_for({}, "darwin"), servicectl.Launchd)
    with pytest.raises(SsodError, match="not win32"):
        servicectl.backend_for({}, "win32")
