"""The rendered systemd unit and launchd plist: placeholders, quoting, and what the managers need.

``systemd-analyze verify`` checks the unit offline (Debian's ``systemd`` package; the test skips
with the reason when it is missing). It exits 0 on unknown keys and bad values, printing only a
warning, so the tests also require it to print nothing about the unit.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ssod.client.service import units as service
from ssod.client.service.units import ServiceSpec
from ssod.errors import SsodError

HOME = Path("/home/alice")
SPEC = ServiceSpec(
    program=(sys.executable, "-m", "ssod.client.cli"),
    environment=(("AWS_CONFIG_FILE", "/etc/aws conf/100%"), ("PRICE", 'a$b "q" \\x')),
    home=HOME,
    runtime_dir=Path("/run/user/1000/ssod"),
    state_dir=HOME / ".local" / "state" / "ssod",
    xdg_runtime_dir=Path("/run/user/1000"),
)
# Options that shrink the capability bounding set: a user manager without user namespaces
# (systemd <= 252) fails the unit with 218/CAPABILITIES (seen with a real user manager).
CAPABILITY_OPTIONS = ("PrivateDevices", "ProtectClock", "ProtectKernelModules", "ProtectKernelLogs")


def unit_lines(spec: ServiceSpec = SPEC) -> list[str]:
    return service.render_unit(service.unit_template(), spec).splitlines()


def test_unit_has_the_type_restart_and_hardening_the_daemon_needs() -> None:
    lines = unit_lines()
    for line in (
        "Type=notify",
        "Restart=on-failure",
        "RestartSec=5",
        "RuntimeDirectory=ssod",
        "RuntimeDirectoryMode=0700",
        "UMask=0077",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=read-only",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "ReadWritePaths=-%h/.aws",
        "ReadWritePaths=-%h/.local/state/ssod",
        "WantedBy=default.target",
    ):
        assert line in lines
    assert not [line for line in lines if line.startswith(CAPABILITY_OPTIONS)]
    assert not [line for line in lines if "@SSOD@" in line or "@ENVIRONMENT@" in line]


def test_unit_quotes_and_escapes_what_systemd_would_expand() -> None:
    lines = unit_lines()
    assert f"ExecStart={sys.executable} -m ssod.client.cli daemon --started-by service" in lines
    assert 'Environment="AWS_CONFIG_FILE=/etc/aws conf/100%%"' in lines
    assert 'Environment="PRICE=a$b \\"q\\" \\\\x"' in lines
    assert "Environment=SSOD_STATE_DIR=%h/.local/state/ssod" in lines
    assert not [line for line in lines if line.startswith("Environment=SSOD_RUNTIME_DIR")]
    odd = ServiceSpec(
        program=("/opt/my tools/100%/$bin/ssod",),
        environment=(),
        home=HOME,
        runtime_dir=Path("/srv/rt"),
        state_dir=Path("/var/lib/ssod"),
        xdg_runtime_dir=None,
    )
    lines = unit_lines(odd)
    assert 'ExecStart="/opt/my tools/100%%/$$bin/ssod" daemon --started-by service' in lines
    assert "Environment=SSOD_RUNTIME_DIR=/srv/rt" in lines
    assert "ReadWritePaths=-/srv/rt" in lines
    assert "ReadWritePaths=-/var/lib/ssod" in lines


def test_carried_environment_picks_known_names_and_refuses_line_breaks() -> None:
    environ = {
        "AWS_CONFIG_FILE": "/c",
        "AWS_ENDPOINT_URL_SSO": "http://127.0.0.1:1",
        "SSOD_ECS_PORT": "9000",
        "no_proxy": "localhost",
        "AWS_SECRET_ACCESS_KEY": "never",
        "SSOD_SERVICE_PLATFORM": "launchd",
        "PATH": "/bin",
    }
    assert service.carried_environment(environ) == (
        ("AWS_CONFIG_FILE", "/c"),
        ("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:1"),
        ("SSOD_ECS_PORT", "9000"),
        ("no_proxy", "localhost"),
    )
    with pytest.raises(SsodError, match="line break"):
        service.carried_environment({}, ["X=a\nb"])


def test_the_token_store_setting_is_carried_into_the_service() -> None:
    carried = service.carried_environment({"SSOD_TOKEN_STORE": "keyring", "PATH": "/bin"})
    assert carried == (("SSOD_TOKEN_STORE", "keyring"),)


def test_daemon_program_prefers_the_script_beside_the_interpreter(tmp_path: Path) -> None:
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    assert service.daemon_program(str(python)) == (str(python), "-m", "ssod.client.cli")
    script = python.parent / "ssod"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    # The symlinked interpreter is kept as is: resolving it would leave the venv.
    assert service.daemon_program(str(python)) == (str(script),)


def analyze(unit: Path, *flags: str, env: dict[str, str] | None = None) -> str:
    binary = shutil.which("systemd-analyze")
    if binary is None:
        pytest.skip("systemd-analyze is not installed (Debian package: systemd)")
    result = subprocess.run(
        [binary, *flags, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


@pytest.mark.parametrize("spec_name", ["this-install", "odd-paths"])
def test_rendered_unit_passes_systemd_analyze_verify(tmp_path: Path, spec_name: str) -> None:
    spec = service.build_spec(os.environ)
    if spec_name == "odd-paths":
        spec = ServiceSpec(
            program=spec.program,
            environment=SPEC.environment,
            home=HOME,
            runtime_dir=Path("/srv/ssod rt"),
            state_dir=HOME / "state 100%",
            xdg_runtime_dir=Path("/run/user/1000"),
        )
    unit = tmp_path / service.UNIT_NAME
    unit.write_text(service.render_unit(service.unit_template(), spec))
    assert analyze(unit).strip() == ""
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700)
    user_env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    assert analyze(unit, "--user", env=user_env).strip() == ""


def test_rendered_plist_parses_and_has_what_launchd_needs() -> None:
    data = plistlib.loads(service.render_plist(service.plist_template(), SPEC))
    assert data["Label"] == service.LAUNCHD_LABEL == "io.ssod.daemon"
    assert data["ProgramArguments"] == [
        sys.executable,
        "-m",
        "ssod.client.cli",
        "daemon",
        "--started-by",
        "service",
    ]
    assert all(Path(arg).is_absolute() for arg in data["ProgramArguments"][:1])
    assert data["RunAtLoad"] is True
    assert data["KeepAlive"] == {"SuccessfulExit": False}
    assert data["ProcessType"] in {"Interactive", "Background", "Standard", "Adaptive"}
    assert data["Umask"] == 0o077
    log = str(HOME / "Library" / "Logs" / "ssod" / "ssod.log")
    assert data["StandardOutPath"] == data["StandardErrorPath"] == log
    assert data["EnvironmentVariables"] == {
        "AWS_CONFIG_FILE": "/etc/aws conf/100%",
        "PRICE": 'a$b "q" \\x',
        "SSOD_RUNTIME_DIR": "/run/user/1000/ssod",
        "SSOD_STATE_DIR": str(HOME / ".local" / "state" / "ssod"),
    }


def test_templates_ship_where_the_wheel_puts_them() -> None:
    root = Path(__file__).resolve().parents[2]
    pyproject = (root / "pyproject.toml").read_text()
    assert '"systemd" = "ssod/units/systemd"' in pyproject
    assert '"launchd" = "ssod/units/launchd"' in pyproject
    assert (
        service.read_template(f"systemd/{service.UNIT_NAME}")
        == (root / "systemd" / service.UNIT_NAME).read_bytes()
    )
    template = plistlib.loads(service.plist_template())
    assert template["Label"] == service.LAUNCHD_LABEL
    assert (root / "launchd" / f"{service.LAUNCHD_LABEL}.plist").is_file()
