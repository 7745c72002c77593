"""``configwriter`` and ``configview``: the AWS CLI's config writer, byte for byte, and safe saves.

Table-driven against literal texts (docs/protocols.md section 5.1 and the CLI's ``writer.py``),
plus a differential run against the AWS CLI's own ``ConfigFileWriter`` on a few thousand generated
files when an interpreter with ``awscli`` is on this machine (skipped otherwise).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ssod import configview, configwriter
from ssod.client.configure.edit import ConfigEdit
from ssod.configwriter import Section, Update, profile, sso_session
from ssod.errors import ConfigError, ConfigParseError

PROFILE_VALUES = {
    "sso_session": "my-sso",
    "sso_account_id": "123456789011",
    "sso_role_name": "ReadOnly",
    "region": "us-west-2",
    "output": "json",
}
SESSION_VALUES = {
    "sso_start_url": "https://d-1234567890.awsapps.com/start",
    "sso_region": "us-east-1",
    "sso_registration_scopes": "sso:account:access",
}
# docs/protocols.md section 5.1: what `aws configure sso` writes into a fresh file.
FRESH = """\
[profile my-dev]
sso_session = my-sso
sso_account_id = 123456789011
sso_role_name = ReadOnly
region = us-west-2
output = json
[sso-session my-sso]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access
"""

CASES: list[tuple[str, str | None, list[Update], str]] = [
    (
        "fresh file: profile, then sso-session, no blank line",
        None,
        [Update(profile("my-dev"), PROFILE_VALUES), Update(sso_session("my-sso"), SESSION_VALUES)],
        FRESH,
    ),
    ("empty file", "", [Update(profile("a"), {"region": "x"})], "[profile a]\nregion = x\n"),
    (
        "missing final newline gets exactly one",
        "[profile a]\nregion = x",
        [Update(profile("b"), {"region": "y"})],
        "[profile a]\nregion = x\n[profile b]\nregion = y\n",
    ),
    (
        "existing key rewritten in place, comments kept",
        "# mine\n[profile a]\n; note\nregion=eu-west-1\noutput = text\n\n[profile b]\n",
        [Update(profile("a"), {"region": "us-east-1"})],
        "# mine\n[profile a]\n; note\nregion = us-east-1\noutput = text\n\n[profile b]\n",
    ),
    (
        "new key goes after the section's last option, before blank lines",
        "[profile a]\nregion = x\n\n# next\n[profile b]\nregion = y\n",
        [Update(profile("a"), {"output": "json"})],
        "[profile a]\nregion = x\noutput = json\n\n# next\n[profile b]\nregion = y\n",
    ),
    (
        "at the end of the file: one line past the last option (the CLI's quirk)",
        "[profile a]\nregion = x\n\n\n",
        [Update(profile("a"), {"output": "json"})],
        "[profile a]\nregion = x\n\noutput = json\n\n",
    ),
    (
        "default profile is [default], not [profile default]",
        "[profile default]\nregion = x\n",
        [Update(profile("default"), {"output": "json"})],
        "[profile default]\nregion = x\n[default]\noutput = json\n",
    ),
    (
        "quoted header matches",
        '[profile "dev"]\nregion = x\n',
        [Update(profile("dev"), {"region": "y"})],
        '[profile "dev"]\nregion = y\n',
    ),
    (
        "indented header does not match (as in the CLI)",
        "  [profile dev]\nregion = x\n",
        [Update(profile("dev"), {"region": "y"})],
        "  [profile dev]\nregion = x\n[profile dev]\nregion = y\n",
    ),
    (
        "commented-out header is not the section",
        "# [profile dev]\n",
        [Update(profile("dev"), {"region": "y"})],
        "# [profile dev]\n[profile dev]\nregion = y\n",
    ),
    (
        "whitespace in a name is shlex-quoted",
        None,
        [Update(profile("my dev"), {"region": "y"})],
        "[profile 'my dev']\nregion = y\n",
    ),
    (
        'deviation: [profile "a b"] is the profile a b (the CLI appends a duplicate)',
        '[profile "my dev"]\nregion = x\n',
        [Update(profile("my dev"), {"region": "y"})],
        '[profile "my dev"]\nregion = y\n',
    ),
    (
        "deviation: no key glued onto an unterminated last line",
        "[profile a]\nregion = x\n# end",
        [Update(profile("a"), {"output": "json"})],
        "[profile a]\nregion = x\n# end\noutput = json\n",
    ),
    (
        "CRLF: a rewrite normalises the file like text-mode I/O",
        "[profile a]\r\nregion = x\r\n",
        [Update(profile("a"), {"region": "y"})],
        "[profile a]\nregion = y\n",
    ),
    (
        "CRLF: an appended section leaves the rest alone",
        "[profile a]\r\nregion = x\r\n",
        [Update(profile("b"), {"region": "y"})],
        "[profile a]\r\nregion = x\r\n[profile b]\nregion = y\n",
    ),
    (
        "sso-session values rewritten in place keep the section's other lines",
        "[sso-session corp]\nsso_start_url=https://x/start\nsso_region = us-east-1\n",
        [Update(sso_session("corp"), {"sso_start_url": "https://x/start", "sso_region": "eu"})],
        "[sso-session corp]\nsso_start_url = https://x/start\nsso_region = eu\n",
    ),
]


@pytest.mark.parametrize(
    ("before", "updates", "after"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_writes_like_the_cli(before: str | None, updates: list[Update], after: str) -> None:
    assert configwriter.apply(before, updates) == after


@pytest.mark.parametrize(
    ("section", "header"),
    [
        (profile("default"), "default"),
        (profile("dev"), "profile dev"),
        (profile("a b"), "profile 'a b'"),
        (profile("tab\there"), "profile 'tab\there'"),
        (sso_session("corp"), "sso-session corp"),
        (sso_session("my corp"), "sso-session 'my corp'"),
    ],
)
def test_headers(section: Section, header: str) -> None:
    assert section.header == header


@pytest.mark.parametrize("name", ["", " dev", "a]b", "a\nb", "[x"])
def test_unusable_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError):
        configwriter.apply(None, [Update(profile(name), {"region": "x"})])


def test_line_breaks_in_values_are_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as info:
        configwriter.apply(None, [Update(profile("a"), {"region": "x\n[evil]"})])
    assert "evil" not in str(info.value)


def test_remove_section_stops_at_the_next_header() -> None:
    text = "[profile a]\nx = 1\n[profile tmp]\ny = 2\n\n[profile b]\nz = 3\n"
    assert configwriter.remove_section(text, profile("tmp")) == (
        "[profile a]\nx = 1\n[profile b]\nz = 3\n"
    )
    assert configwriter.remove_section(text, profile("none")) == text


# -- saving ------------------------------------------------------------------------------


def test_save_creates_parents_and_a_0600_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / ".aws" / "config"
    configwriter.save(path, FRESH)
    assert path.read_text() == FRESH
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(path.parent) == ["config"]  # no temp file left behind


def test_save_keeps_an_existing_mode(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("[default]\n")
    path.chmod(0o640)
    configwriter.save(path, FRESH)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_save_writes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "aws-config"
    real.parent.mkdir()
    real.write_text("[default]\n")
    link = tmp_path / "config"
    link.symlink_to(real)
    configwriter.save(link, FRESH)
    assert link.is_symlink()
    assert real.read_text() == FRESH


def test_load(tmp_path: Path) -> None:
    path = tmp_path / "config"
    assert configwriter.load(path) is None
    path.write_bytes(b"[default]\nregion = \xff\n")
    with pytest.raises(ConfigParseError) as info:
        configwriter.load(path)
    assert info.value.line == 2


# -- the botocore view -------------------------------------------------------------------


def test_view_maps_sections_like_botocore() -> None:
    view = configview.parse(
        "[DEFAULT]\nshared = 1\n"
        "[profile dev]\nRegion = x\n"
        "[profile 'my dev']\nregion = y\n"
        "[profile a b]\nregion = dropped\n"
        "[sso-session corp]\nsso_region = us-east-1\n"
        "[default]\nregion = first\n"
        "[profile default]\nregion = second\n"
        "[plugins]\nx = 1\n"
    )
    assert view.profiles["dev"] == {"region": "x", "shared": "1"}
    assert view.profiles["my dev"]["region"] == "y"
    assert "a b" not in view.profiles
    assert view.profiles["default"]["region"] == "second"
    assert view.sessions["corp"] == {"sso_region": "us-east-1", "shared": "1"}


def test_view_refuses_what_botocore_refuses() -> None:
    with pytest.raises(ConfigParseError) as info:
        configview.parse("[profile a]\nx = 1\n[profile a]\n", "/c")
    assert info.value.line == 3


def test_credential_profiles() -> None:
    text = "[DEFAULT]\n[dev]\naws_access_key_id = x\n[profile odd]\n"
    assert configview.credential_profiles(text) == {"dev", "profile odd"}


# -- differential: the AWS CLI's own writer ------------------------------------------------

_RUNNER = """
import json, os, sys, tempfile
from awscli.customizations.configure.writer import ConfigFileWriter
out = []
for case in json.load(sys.stdin):
    path = os.path.join(tempfile.mkdtemp(), "sub", "config")
    if case["before"] is not None:
        os.makedirs(os.path.dirname(path))
        with open(path, "w", newline="") as f:
            f.write(case["before"])
    for header, values in case["updates"]:
        ConfigFileWriter().update_config(dict(values, __section__=header), path)
    with open(path, newline="") as f:
        out.append(f.read())
json.dump(out, sys.stdout)
"""


def _awscli_python() -> str | None:
    candidates = [sys.executable, shutil.which("python3") or ""]
    aws = shutil.which("aws")
    if aws:
        with open(aws, "rb") as f:
            first = f.readline().decode(errors="replace")
        if first.startswith("#!") and "python" in first:
            candidates.insert(0, first[2:].split()[0])
    for python in filter(None, candidates):
        probe = "import awscli.customizations.configure.writer"
        ok = subprocess.run([python, "-c", probe], capture_output=True, check=False)
        if ok.returncode == 0:
            return python
    return None


_LINES = [
    "[profile {n}]", "[sso-session {n}]", "[default]", '[profile "{n}"]', "  [profile {n}]",
    "{k} = v", "{k}=x", "{k}: y", "  {k} = nested", "", "# comment", "; c = 1", "# see https://x",
    "[services {n}]", "s3 =", "   max = 1", "=odd", "plain", "REGION = 1", "[profile {n}] # note",
]  # fmt: skip
_NAMES = ["dev", "prod", "default", "corp"]
_KEYS = ["region", "output", "sso_session", "sso_account_id", "sso_role_name"]


def _random_text(rnd: random.Random) -> str | None:
    if rnd.random() < 0.1:
        return None
    lines = [
        rnd.choice(_LINES).format(n=rnd.choice(_NAMES), k=rnd.choice(_KEYS))
        for _ in range(rnd.randint(0, 10))
    ]
    text = "".join(line + rnd.choice(["\n"] * 8 + ["\r\n", "\r"]) for line in lines)
    # An unterminated last line only where the CLI does not glue a key onto it (a deviation).
    if lines and rnd.random() < 0.2 and re.search(r"^\s*\[|.[:=]", lines[-1]):
        text = text.rstrip("\r\n")
    return text


def test_matches_the_aws_cli_writer_on_generated_files() -> None:
    python = _awscli_python()
    if python is None:
        pytest.skip("no Python with awscli (AWS CLI v1) on this machine")
    rnd = random.Random(20240611)
    cases = []
    for _ in range(3000):
        updates = [
            Update(
                Section(rnd.choice(["profile", "sso-session"]), rnd.choice(_NAMES)),
                {k: f"n{rnd.randint(0, 9)}" for k in rnd.sample(_KEYS, rnd.randint(0, 3))},
            )
            for _ in range(rnd.randint(1, 3))
        ]
        cases.append((_random_text(rnd), updates))
    payload = [
        {"before": before, "updates": [[u.section.header, list(u.values.items())] for u in ups]}
        for before, ups in cases
    ]
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONUTF8": "1", "HOME": os.environ["HOME"]}
    done = subprocess.run(
        [python, "-c", _RUNNER],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    theirs = json.loads(done.stdout)
    mismatches = [
        (before, ups, cli)
        for (before, ups), cli in zip(cases, theirs, strict=True)
        if configwriter.apply(before, ups) != cli
    ]
    assert mismatches[:1] == []


# -- one wizard run's edit ---------------------------------------------------------------

SESSION = Update(sso_session("new"), {"sso_start_url": "https://x/start", "sso_region": "eu"})
PROFILE = Update(profile("p"), {"sso_session": "new", "sso_account_id": "1", "sso_role_name": "R"})
TEMP = Update(profile("tmp"), {"sso_start_url": "https://x/start", "sso_account_id": "0"})


def test_edit_commits_what_the_cli_writes_from_the_original(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("[profile a]\nregion = x\n")
    edit = ConfigEdit(path)
    edit.write_early(SESSION)
    assert "[sso-session new]" in path.read_text()
    edit.commit([PROFILE, SESSION])
    assert path.read_text() == configwriter.apply("[profile a]\nregion = x\n", [PROFILE, SESSION])


def test_edit_keeps_a_concurrent_change_and_drops_the_provisional_section(tmp_path: Path) -> None:
    path = tmp_path / "config"
    edit = ConfigEdit(path)
    edit.write_early(TEMP, provisional=True)
    path.write_text(path.read_text() + "[profile theirs]\nregion = y\n")
    edit.commit([PROFILE])
    assert path.read_text() == "[profile theirs]\nregion = y\n" + (
        "[profile p]\nsso_session = new\nsso_account_id = 1\nsso_role_name = R\n"
    )


@pytest.mark.parametrize("original", [None, "", "# mine\n"])
def test_edit_rollback_restores_the_file(tmp_path: Path, original: str | None) -> None:
    path = tmp_path / "config"
    if original is not None:
        path.write_text(original)
    edit = ConfigEdit(path)
    edit.write_early(TEMP, provisional=True)
    edit.rollback()
    assert configwriter.load(path) == original


def test_edit_rollback_never_loses_a_concurrent_change(tmp_path: Path) -> None:
    path = tmp_path / "config"
    edit = ConfigEdit(path)
    edit.write_early(SESSION)
    edit.write_early(TEMP, provisional=True)
    changed = path.read_text() + "[profile theirs]\n"
    path.write_text(changed)
    edit.rollback()
    # Only the provisional profile goes; the session may be in use by the new profile now.
    assert path.read_text() == configwriter.remove_section(changed, profile("tmp"))
    assert "[sso-session new]" in path.read_text()


def test_edit_adopts_the_region_the_daemon_wrote(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("# mine\n")
    edit = ConfigEdit(path)
    edit.write_early(SESSION)
    region = Update(sso_session("new"), {"sso_region": "us-west-2"})
    configwriter.save(path, configwriter.update_text(path.read_text(), region))  # the daemon
    edit.followed(region)
    edit.rollback()
    assert path.read_text() == "# mine\n"  # counted as ours: undone with the rest


def test_edit_does_not_adopt_anything_more(tmp_path: Path) -> None:
    path = tmp_path / "config"
    edit = ConfigEdit(path)
    edit.write_early(SESSION)
    region = Update(sso_session("new"), {"sso_region": "us-west-2"})
    changed = configwriter.update_text(path.read_text(), region) + "[profile theirs]\n"
    path.write_text(changed)
    edit.followed(region)
    edit.rollback()
    assert path.read_text() == changed  # someone else's edit too: never lost
