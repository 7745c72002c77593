"""``make clean`` removes the virtual environment and every cache .gitignore names, anywhere.

The real Makefile's ``clean`` recipe runs in a scratch tree laid out like a used checkout.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Ignored but kept on purpose: the interop clients take minutes to install.
KEPT = {".interop", "node_modules"}
#: Made only at the top by their tools (pip, the build backend).
TOP_ONLY = {".venv", "build", "dist"}


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_clean_removes_every_cache(tmp_path: Path) -> None:
    ignored = [
        line.strip().rstrip("/")
        for line in (ROOT / ".gitignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    made: list[Path] = []
    for pattern in ignored:
        if pattern in KEPT:
            continue
        name = pattern.replace("*", "ssod")
        places = [tmp_path] if pattern in TOP_ONLY else [tmp_path, tmp_path / "tests" / "unit"]
        for where in places:
            target = where / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if pattern.endswith(".pyc"):
                target.write_bytes(b"")
                continue
            target.mkdir(exist_ok=True)
            (target / "f").write_text("x")
            made.append(target)
    kept = [tmp_path / ".interop" / "bin", tmp_path / "tests" / "interop" / "js" / "node_modules"]
    for path in kept:
        path.mkdir(parents=True)
    (tmp_path / "tests" / "unit" / "test_x.py").write_text("")
    out = subprocess.run(
        ["make", "-f", str(ROOT / "Makefile"), "clean"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    left = [p for p in made if p.exists()]
    assert not left, left
    assert all(p.exists() for p in kept)
    assert (tmp_path / "tests" / "unit" / "test_x.py").exists()
