"""The dependency rules of `make lint` (pyproject.toml ``[tool.importlinter]``) hold.

Two things the contracts alone cannot show: that the light side's contract lists every module
of ``client/ssod`` (a new light module must be named, or the rule would not cover it), and
that the checker sees an import made inside a function (a lazy import that hides a cycle counts).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["id"]: c for c in config["contracts"]}


def test_the_light_contract_names_every_module_of_client_ssod() -> None:
    top = ROOT / "client" / "ssod"
    on_disk = {
        f"ssod.{entry.stem}"
        for entry in top.iterdir()
        if (entry.suffix == ".py" or (entry / "__init__.py").is_file())
        and entry.name != "__pycache__"
    }
    assert on_disk, top
    assert set(_contracts()["light"]["source_modules"]) == on_disk


def _lint(tmp_path: Path, body_a: str) -> subprocess.CompletedProcess[str]:
    package = tmp_path / "probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(textwrap.dedent(body_a))
    (package / "b.py").write_text("from probe import a\n")
    (tmp_path / ".importlinter").write_text(
        textwrap.dedent(
            """\
            [importlinter]
            root_package = probe

            [importlinter:contract:acyclic]
            name = No cycles
            type = acyclic_siblings
            ancestors = probe
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_cycle_through_an_import_inside_a_function_breaks_the_contract(tmp_path: Path) -> None:
    lazy = """\
        def later() -> None:
            from probe import b  # noqa: F401
        """
    result = _lint(tmp_path, lazy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout


def test_no_cycle_keeps_the_contract(tmp_path: Path) -> None:
    result = _lint(tmp_path, "VALUE = 1\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout


_CITED = re.compile(
    r"docs/protocols\.md[\s#:]*(?:sections?\s+|§)?(\d+(?:\.\d+)?)"
    r"((?:\s*(?:,|and)\s*(?:§)?\d+(?:\.\d+)?)*)"
)


def _sections() -> set[str]:
    text = (ROOT / "docs" / "protocols.md").read_text()
    return set(re.findall(r"^##+ (\d+(?:\.\d+)?)\.? ", text, flags=re.MULTILINE))


def test_every_protocol_citation_names_a_section_that_exists() -> None:
    sections = _sections()
    assert {"1.5", "3.4", "6", "8", "10"} <= sections
    cited: dict[str, set[str]] = {}
    for folder in ("daemon", "client", "tests", "bench", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == Path(__file__).resolve() or ".venv" in path.parts:
                continue
            text = path.read_text()
            assert re.search(r"(?<!docs/)protocols\.md", text) is None, f"{path}: cite docs/"
            for match in _CITED.finditer(text):
                numbers = [match[1], *re.findall(r"\d+(?:\.\d+)?", match[2])]
                cited.setdefault(str(path.relative_to(ROOT)), set()).update(numbers)
            assert text.count("docs/protocols.md") == len(list(_CITED.finditer(text))), (
                f"{path}: a citation without a section number"
            )
    assert len(cited) > 30
    missing = {path: numbers - sections for path, numbers in cited.items() if numbers - sections}
    assert missing == {}
