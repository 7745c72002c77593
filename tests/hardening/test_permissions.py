"""Who may touch what: file modes, the runtime directory, and the `sudo ssod daemon` mistake.

The real daemon, started under a wide-open umask, must still create its runtime directory 0700
and every file holding a secret 0600. It must refuse a runtime directory that is open to
others, not a directory, or someone else's, and refuse to run in a HOME (or ``~/.aws``) that
belongs to another user, saying why; root in root's own HOME is fine. Ownership cases need
root (to chown), as in CI containers; elsewhere they skip.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hardening.support import token_path, wait_until
from harness import DaemonHarness
from ssod.daemon.host.ownership import check_home_ownership
from ssod.daemon.store.tokencache import registration_cache_key
from ssod.errors import SsodError
from ssod.wire import Op

NOBODY = 65534
needs_root = pytest.mark.skipif(os.getuid() != 0, reason="chown to another uid needs root")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def test_modes_under_an_open_umask(ssod_daemon: DaemonHarness) -> None:
    ssod_daemon.emulator.settings(approve_delay=0, token_lifetime=2)
    with umask(0):
        ssod_daemon.start()  # the daemon inherits umask 000
    ssod_daemon.login(use_device_code=True)
    path = token_path(ssod_daemon)
    first = path.read_bytes()
    # A refresh rewrites the file: the new one must be 0600 too.
    wait_until(lambda: path.read_bytes() != first, 5, "a refresh")
    endpoint = ssod_daemon.request(Op.ENDPOINT)
    key = registration_cache_key(
        "https://d-1234567890.awsapps.com/start", "us-east-1", ["sso:account:access"], "corp"
    )
    token_file = Path(endpoint["token_file"])
    ssod_daemon.request(Op.ISSUE_TOKEN, profile="dev")  # writes the scoped-token file
    expected = {
        ssod_daemon.runtime: 0o700,
        ssod_daemon.runtime / "lock": 0o600,
        ssod_daemon.cache_dir: 0o700,
        path: 0o600,
        ssod_daemon.cache_dir / f"{key}.json": 0o600,
        token_file: 0o600,
        token_file.parent: 0o700,
        token_file.with_name("scoped-tokens.json"): 0o600,
    }
    assert {str(p): oct(mode(p)) for p in expected} == {str(p): oct(m) for p, m in expected.items()}
    # Nothing in the cache is readable by others, whatever it is.
    loose = [p.name for p in ssod_daemon.cache_dir.iterdir() if mode(p) & 0o077]
    assert loose == []


def open_dir(path: Path) -> None:
    path.mkdir(mode=0o755)
    path.chmod(0o755)


def someone_elses(path: Path) -> None:
    path.mkdir(mode=0o700)
    os.chown(path, NOBODY, NOBODY)


def a_link(path: Path) -> None:
    real = path.with_name("real-rt")
    real.mkdir(mode=0o700)
    path.symlink_to(real)


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (open_dir, "open to group or others (mode 0755)"),
        (a_link, "is a symlink"),
        pytest.param(someone_elses, f"belongs to uid {NOBODY}", marks=needs_root),
    ],
)
def test_unsafe_runtime_dir_is_refused(
    ssod_daemon: DaemonHarness, make: Callable[[Path], None], says: str
) -> None:
    runtime = ssod_daemon.runtime.with_name("unsafe")
    make(runtime)
    out = ssod_daemon.ssod("daemon", env={"SSOD_RUNTIME_DIR": str(runtime)}, timeout=30)
    assert out.returncode != 0
    assert says in out.stderr and str(runtime) in out.stderr, out.stderr
    assert not (runtime / "ipc").exists()


@needs_root
@pytest.mark.parametrize("whose", ["HOME", "~/.aws", "~/.aws/sso/cache"])
def test_refuses_to_run_in_another_users_home(ssod_daemon: DaemonHarness, whose: str) -> None:
    target = {
        "HOME": ssod_daemon.home,
        "~/.aws": ssod_daemon.home / ".aws",
        "~/.aws/sso/cache": ssod_daemon.cache_dir,
    }[whose]
    target.mkdir(parents=True, exist_ok=True)
    os.chown(target, NOBODY, NOBODY)
    try:
        out = ssod_daemon.ssod("daemon", timeout=30)
    finally:
        os.chown(target, 0, 0)
    assert out.returncode != 0
    assert f"{target} belongs to uid {NOBODY}" in out.stderr, out.stderr
    assert "ssod runs as uid 0" in out.stderr and "sudo" in out.stderr
    # It stopped before touching anything: no runtime dir, no files of root's in their cache.
    assert not ssod_daemon.runtime.exists()
    if ssod_daemon.cache_dir.exists():
        assert [p for p in ssod_daemon.cache_dir.iterdir() if p.stat().st_uid == 0] == []


@pytest.mark.skipif(os.getuid() != 0, reason="needs to run as root")
def test_root_in_its_own_home_is_fine(ssod_daemon: DaemonHarness) -> None:
    assert ssod_daemon.home.stat().st_uid == 0
    ssod_daemon.start()
    assert ssod_daemon.request(Op.STATUS)["daemon"]["pid"] > 0


def test_ownership_check_without_root(tmp_path: Path) -> None:
    """The same rule, judged for a pretend uid, so it runs for every tester."""
    home = tmp_path / "home-of-someone"
    (home / ".aws").mkdir(parents=True)
    check_home_ownership(home)  # ours, and ~/.aws/sso does not exist yet: fine
    with pytest.raises(SsodError, match=rf"{home} belongs to uid {os.getuid()}.*sudo"):
        check_home_ownership(home, uid=os.getuid() + 1)


def test_every_directory_and_socket_ssod_creates_under_an_open_umask(
    ssod_daemon: DaemonHarness, short_tmp: Path
) -> None:
    # Nothing of ~/.aws or ~/.local exists yet: the config lives elsewhere, so ssod makes them.
    home = ssod_daemon.home
    config = short_tmp / "config"
    (home / ".aws" / "config").replace(config)
    (home / ".aws").rmdir()
    ssod_daemon.env["AWS_CONFIG_FILE"] = str(config)
    runtime = short_tmp / "deep" / "rt"
    ssod_daemon.runtime = runtime
    ssod_daemon.env["SSOD_RUNTIME_DIR"] = str(runtime)
    with umask(0):
        ssod_daemon.start()
    ssod_daemon.login(use_device_code=True)
    expected = {
        home / ".aws": 0o700,
        home / ".aws" / "sso": 0o700,
        ssod_daemon.cache_dir: 0o700,
        home / ".local": 0o700,
        home / ".local" / "state": 0o700,
        home / ".local" / "state" / "ssod": 0o700,
        runtime.parent: 0o700,
        runtime: 0o700,
        runtime / "ipc": 0o600,
        runtime / "fast": 0o600,
    }
    assert {str(p): oct(mode(p)) for p in expected} == {str(p): oct(m) for p, m in expected.items()}
