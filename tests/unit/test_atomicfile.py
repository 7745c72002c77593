"""``ssod.atomicfile``: whole, private, durable writes that never go through a link.

Table-driven over what may already sit at the target (nothing, a file, a link to a file, a
dangling link, a directory), the mode asked for and ``replace``; each row says what the
target must be afterwards and that no temp file is left behind, even when the write fails.
The kill -9 half lives in tests/hardening/test_crash_consistency.py.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ssod import atomicfile

OLD = b"old content\n"
NEW = b"new content, longer than the old one\n"


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    # The mode must come from the helper, not from the umask: run every case under umask 0.
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    # tmp_path itself holds the test's HOME (tests/conftest.py): work in a folder of our own.
    path = tmp_path / "folder"
    path.mkdir()
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def nothing(target: Path) -> None:
    pass


def a_file(target: Path) -> None:
    target.write_bytes(OLD)
    target.chmod(0o644)


def a_link_to_a_file(target: Path) -> None:
    elsewhere = target.parent / "elsewhere"
    elsewhere.write_bytes(OLD)
    target.symlink_to(elsewhere)


def a_dangling_link(target: Path) -> None:
    target.symlink_to(target.parent / "elsewhere")


def a_directory(target: Path) -> None:
    target.mkdir()


@dataclass(frozen=True)
class Case:
    name: str
    before: Callable[[Path], None]
    mode: int = 0o600
    replace: bool = True
    error: type[BaseException] | None = None


CASES = [
    Case("new file", nothing),
    Case("new file, mode asked for", nothing, mode=0o640),
    Case("new read-only file", nothing, mode=0o400),
    Case("replaces a file, mode from the caller", a_file),
    Case("replaces a link, never writes through it", a_link_to_a_file),
    Case("replaces a dangling link, creates nothing where it points", a_dangling_link),
    Case("exclusive: new file", nothing, replace=False),
    Case("exclusive: a file stays", a_file, replace=False, error=FileExistsError),
    Case("exclusive: a link stays", a_link_to_a_file, replace=False, error=FileExistsError),
    Case("exclusive: a dangling link stays", a_dangling_link, replace=False, error=FileExistsError),
    Case("a directory is not replaced", a_directory, error=IsADirectoryError),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_write(folder: Path, case: Case) -> None:
    target = folder / "target"
    case.before(target)
    before = {p.name: (p.is_symlink(), p.lstat().st_ino) for p in folder.iterdir()}
    elsewhere = folder / "elsewhere"
    elsewhere_bytes = elsewhere.read_bytes() if elsewhere.exists() else None
    if case.error is None:
        atomicfile.write(target, NEW, mode=case.mode, replace=case.replace)
        assert not target.is_symlink()
        assert stat.S_ISREG(target.lstat().st_mode)
        assert target.read_bytes() == NEW
        assert mode(target) == case.mode
    else:
        with pytest.raises(case.error):
            atomicfile.write(target, NEW, mode=case.mode, replace=case.replace)
        after = {p.name: (p.is_symlink(), p.lstat().st_ino) for p in folder.iterdir()}
        assert after == before  # the target untouched, no temp file left
    # Whatever a link pointed at is never written, nor created.
    assert (elsewhere.read_bytes() if elsewhere.exists() else None) == elsewhere_bytes
    assert [p.name for p in folder.iterdir() if atomicfile.is_temp_name(p.name)] == []


@pytest.mark.parametrize("size", [0, 1, 3 << 20], ids=["empty", "one byte", "3 MiB"])
def test_whole_content_of_any_size(folder: Path, size: int) -> None:
    data = os.urandom(size)
    atomicfile.write(folder / "f", data)
    assert (folder / "f").read_bytes() == data
    assert os.listdir(folder) == ["f"]


def test_str_path_and_relative_path(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    atomicfile.write(str(folder / "a"), b"a")
    monkeypatch.chdir(folder)
    atomicfile.write("b", b"b")
    assert (folder / "a").read_bytes() == b"a"
    assert (folder / "b").read_bytes() == b"b"


def test_a_missing_directory_is_an_error(folder: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomicfile.write(folder / "missing" / "f", b"x")
    assert os.listdir(folder) == []


def test_a_replaced_file_is_a_new_inode(folder: Path) -> None:
    # A reader holding the old file open keeps reading the old bytes: nothing is rewritten
    # in place.
    target = folder / "f"
    atomicfile.write(target, OLD)
    with target.open("rb") as held:
        atomicfile.write(target, NEW)
        assert held.read() == OLD
    assert target.read_bytes() == NEW


@pytest.mark.parametrize(
    ("name", "is_temp"),
    [
        (".ssod-0123456789abcdef.tmp", True),
        (".ssod-x.tmp", True),
        ("0123456789abcdef0123456789abcdef01234567.json", False),
        (".ssod.lock", False),
        (".ssod-0123.json", False),
        ("ssod-0123.tmp", False),
    ],
)
def test_is_temp_name(name: str, is_temp: bool) -> None:
    assert atomicfile.is_temp_name(name) is is_temp


def test_temp_names_are_hidden_random_and_never_json() -> None:
    names = {atomicfile.temp_name() for _ in range(100)}
    assert len(names) == 100
    for name in names:
        assert name.startswith(".") and not name.endswith(".json")
        assert atomicfile.is_temp_name(name)


@pytest.mark.parametrize("exists", [False, True])
def test_ensure_private_dir(folder: Path, exists: bool) -> None:
    path = folder / "a" / "b"
    if exists:
        path.mkdir(parents=True, mode=0o755)
        path.chmod(0o755)
    atomicfile.ensure_private_dir(path)
    assert path.is_dir()
    assert mode(path) == (0o755 if exists else 0o700)  # an existing directory keeps its mode


def _service_unit(path: Path, data: bytes) -> None:
    from ssod.client.service.control import write_private

    write_private(path, data)


def _emulator_port_file(path: Path, data: bytes) -> None:
    from ssod.emulator.main import _write_atomically

    _write_atomically(path, data.decode())


@pytest.mark.parametrize("writer", [_service_unit, _emulator_port_file])
def test_writers_that_used_a_predictable_temp_name_no_longer_follow_a_link_there(
    folder: Path, writer: Callable[[Path, bytes], None]
) -> None:
    # These two wrote `.<name>.<pid>.tmp` with O_TRUNC and no O_EXCL: a link planted under that
    # name sent the content wherever it pointed. Now every writer is ``atomicfile.write``.
    victim = folder / "victim"
    victim.write_bytes(OLD)
    target = folder / "unit"
    (folder / f".unit.{os.getpid()}.tmp").symlink_to(victim)
    writer(target, NEW)
    assert victim.read_bytes() == OLD
    assert target.read_bytes() == NEW
    assert mode(target) == 0o600


_OTHER_WRITES = (
    *("os.replace(", "os.rename(", "mkstemp(", "NamedTemporaryFile("),
    *(".write_text(", ".write_bytes(", ".replace(path)"),
)
#: Moves that write no data: an unreadable scoped-token file set aside, never overwritten.
_ALLOWED = {("daemon/ssod/daemon/store/scopedstore.py", "os.replace(")}


def test_no_module_writes_a_file_but_atomicfile() -> None:
    root = Path(__file__).resolve().parents[2]
    found = []
    for source in sorted([*root.glob("client/ssod/**/*.py"), *root.glob("daemon/ssod/**/*.py")]):
        rel = source.relative_to(root).as_posix()
        if rel == "client/ssod/atomicfile.py":
            continue
        text = source.read_text()
        found += [(rel, w) for w in _OTHER_WRITES if w in text and (rel, w) not in _ALLOWED]
    assert found == []
