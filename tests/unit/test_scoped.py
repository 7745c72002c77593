"""Scoped tokens, the pure parts: format, ids, hashing, lifetimes, names and the store file."""

from __future__ import annotations

import json
import os
import sys

import pytest

from ssod import procinfo, scoped
from ssod.errors import BadRequest, CacheError
from ssod.procinfo import Seen
from ssod.scoped import ScopedToken

NOW = 1_800_000_000.5


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("60", 60),
        ("90s", 90),
        ("15m", 900),
        ("12h", 43200),
        ("7d", 604800),
        ("1h30m", 5400),
        ("1d2h3m4s", 93784),
        (" 2H ", 7200),
        ("90d", 90 * 86400),
    ],
)
def test_parse_ttl(text: str, seconds: int) -> None:
    assert scoped.parse_ttl(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "0", "59", "59s", "91d", "-5m", "5x", "h", "1.5h", "1h 30m", "5m5", "m5", "1e3"]
)
def test_parse_ttl_refuses(text: str) -> None:
    with pytest.raises(BadRequest):
        scoped.parse_ttl(text)


def test_issue_makes_a_prefixed_token_whose_record_holds_only_its_digest() -> None:
    issued = scoped.issue("dev", 3600, NOW, name="ci")
    token, record = issued
    assert token.startswith(scoped.PREFIX)
    assert scoped.token_id(token) == record.id
    assert record == ScopedToken(
        record.id, "dev", scoped.digest(token), 1_800_000_000, 1_800_003_600, "ci"
    )
    assert token not in repr(record) and token.split(".")[-1] not in scoped.dump([record]).decode()
    assert scoped.matches(token, record)
    assert len(token.split(".")[-1]) == 43  # 256 bits of base64url


def test_issued_tokens_are_unique_and_avoid_taken_ids() -> None:
    tokens = {scoped.issue("dev", 60, NOW).token for _ in range(200)}
    assert len(tokens) == 200
    first = scoped.issue("dev", 60, NOW).record.id
    assert scoped.issue("dev", 60, NOW, taken=[first]).record.id != first


@pytest.mark.parametrize(
    "token",
    [
        "",
        "ssod.",
        "ssod.0123456789",
        "ssod.0123456789.",
        "ssod.0123456789." + "A" * 42,
        "ssod.0123456789." + "A" * 44,
        "ssod.012345678." + "A" * 43,
        "ssod.0123456789X." + "A" * 43,
        "ssod.ABCDEF0123." + "A" * 43,  # ids are lowercase hex
        "ssod.0123456789." + "A" * 42 + "=",
        "ssod.0123456789." + "A" * 43 + ".x",
        "SSOD.0123456789." + "A" * 43,
        "x" * 43,  # a main token
    ],
)
def test_token_id_accepts_only_the_exact_format(token: str) -> None:
    assert scoped.token_id(token) is None


def test_token_id_of_a_good_token() -> None:
    assert scoped.token_id("ssod.0123456789." + "A" * 43) == "0123456789"


@pytest.mark.parametrize(
    "guess",
    ["prefix", "suffix", "other-secret", "empty-secret"],
)
def test_matches_only_the_exact_token(guess: str) -> None:
    token, record = scoped.issue("dev", 60, NOW)
    wrong = {
        "prefix": token[:-1],
        "suffix": token + "A",
        "other-secret": scoped.issue("dev", 60, NOW).token.rsplit(".", 1)[1],
        "empty-secret": "",
    }[guess]
    if guess in ("other-secret", "empty-secret"):
        wrong = token.rsplit(".", 1)[0] + "." + wrong
    assert not scoped.matches(wrong, record)


@pytest.mark.parametrize(
    ("now", "expired"), [(NOW, False), (1_800_003_599.9, False), (1_800_003_600, True)]
)
def test_expiry_is_exact(now: float, expired: bool) -> None:
    record = scoped.issue("dev", 3600, NOW).record
    assert record.expired(now) is expired


def test_public_view_has_times_and_no_digest() -> None:
    record = scoped.issue("dev", 3600, NOW, name="box").record
    assert record.public() == {
        "id": record.id,
        "name": "box",
        "profile": "dev",
        "created_at": "2027-01-15T08:00:00Z",
        "expires_at": "2027-01-15T09:00:00Z",
        "pid": None,
    }
    assert scoped.issue("dev", 60, NOW).record.public()["name"] is None


@pytest.mark.parametrize("name", ["ci", "laptop-vm.1", "me@box", "a" * 64, "9lives"])
def test_good_names(name: str) -> None:
    scoped.check_name(name)


@pytest.mark.parametrize(
    "name", ["", "-x", ".x", "a" * 65, "with space", "a/b", "é", "0123456789", "abcdef0123"]
)
def test_bad_names(name: str) -> None:
    with pytest.raises(BadRequest):
        scoped.check_name(name)


def test_select_by_id_or_name() -> None:
    a = scoped.issue("dev", 60, NOW, name="one").record
    b = scoped.issue("prod", 60, NOW).record
    assert scoped.select([a, b], a.id) == [a]
    assert scoped.select([a, b], "one") == [a]
    assert scoped.select([a, b], b.id) == [b]
    assert scoped.select([a, b], "nothing") == []
    assert scoped.select([a, b], "") == []  # b has no name: an empty key must not pick it


def test_file_round_trip() -> None:
    records = [scoped.issue("dev", 60, NOW, name="n").record, scoped.issue("p/q", 600, NOW).record]
    assert scoped.load(scoped.dump(records), "f") == records
    assert scoped.load(scoped.dump([]), "f") == []


def _file(rows: object, version: object = 1) -> bytes:
    return json.dumps({"version": version, "tokens": rows}).encode()


GOOD_ROW = {
    "id": "0123456789",
    "name": "",
    "profile": "dev",
    "sha256": "a" * 64,
    "created": 1,
    "expires": 2,
}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff",
        b"[]",
        b'{"version": 2, "tokens": []}',
        b'{"tokens": []}',
        _file({}),
        _file([1]),
        _file([{**GOOD_ROW, "id": "short"}]),
        _file([{**GOOD_ROW, "sha256": "A" * 64}]),
        _file([{**GOOD_ROW, "sha256": "a" * 63}]),
        _file([{**GOOD_ROW, "created": "1"}]),
        _file([{**GOOD_ROW, "expires": True}]),
        _file([{**GOOD_ROW, "profile": ""}]),
        _file([{**GOOD_ROW, "name": "bad name"}]),
        _file([GOOD_ROW, GOOD_ROW]),
        b"[" * 100_000,
    ],
)
def test_bad_files_are_a_clear_cache_error(data: bytes) -> None:
    with pytest.raises(CacheError) as caught:
        scoped.load(data, "/state/scoped-tokens.json")
    assert caught.value.message.startswith("/state/scoped-tokens.json: ")


# -- tokens bound to a process (`ssod exec`) ---------------------------------------------------

RUNNING_AT_100 = "4242 (python3) S 1 4242 4242 0 -1 4194304 " + "0 " * 12 + "100 0 0"


@pytest.mark.parametrize(
    ("text", "seen"),
    [
        (RUNNING_AT_100, Seen(running=True, started=100)),
        # A command name may hold spaces and parentheses: fields start after the last ')'.
        (RUNNING_AT_100.replace("(python3)", "(a b) (c))"), Seen(running=True, started=100)),
        (RUNNING_AT_100.replace(") S ", ") Z "), procinfo.GONE),  # exited, not yet reaped
        (RUNNING_AT_100.replace(") S ", ") X "), procinfo.GONE),
        (RUNNING_AT_100.replace(") S ", ") R "), Seen(running=True, started=100)),
        ("", procinfo.UNKNOWN),
        ("4242 (python3) S 1 4242", procinfo.UNKNOWN),  # too short
        (RUNNING_AT_100.replace(" 100 ", " x "), procinfo.UNKNOWN),
    ],
)
def test_parse_stat(text: str, seen: Seen) -> None:
    assert procinfo.parse_stat(text) == seen


def test_parse_stat_reads_this_process() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc (Linux)")
    seen = procinfo.look(os.getpid())
    assert seen.running and seen.started is not None
    assert procinfo.start_time(os.getpid()) == seen.started


def _bound(pid: int | None, started: int | None) -> ScopedToken:
    return scoped.issue("dev", 60, NOW, pid=pid, started=started).record


@pytest.mark.parametrize(
    ("pid", "started", "seen", "alive"),
    [
        (None, None, procinfo.GONE, True),  # unbound: its TTL alone
        (7, 100, Seen(running=True, started=100), True),
        (7, 100, procinfo.GONE, False),
        (7, 100, Seen(running=True, started=101), False),  # the pid was reused
        (7, 100, Seen(running=True), True),  # no start time to compare (macOS, hidepid)
        (7, None, Seen(running=True, started=5), True),  # bound where no start time was known
        (7, None, procinfo.GONE, False),
        (7, 100, procinfo.UNKNOWN, True),  # cannot ask here: the TTL bounds it
    ],
)
def test_alive_decides_whether_the_process_is_still_the_same(
    pid: int | None, started: int | None, seen: Seen, alive: bool
) -> None:
    assert scoped.alive(_bound(pid, started), seen) is alive


def test_a_bound_token_is_named_exec_and_its_pid_is_public() -> None:
    record = scoped.issue("dev", 60, NOW, name="ignored", pid=4242, started=100).record
    assert (record.name, record.pid, record.started) == ("exec", 4242, 100)
    assert record.public()["pid"] == 4242 and "started" not in record.public()
    assert scoped.issue("dev", 60, NOW).record.public()["pid"] is None
    with pytest.raises(BadRequest, match="reserved"):
        scoped.check_name("exec")
    for pid, started in ((0, None), (-1, 1), (2**31, None), (1, -1)):
        with pytest.raises(BadRequest):
            scoped.issue("dev", 60, NOW, pid=pid, started=started)


def test_bound_tokens_keep_their_process_in_the_file() -> None:
    records = [_bound(4242, 100), _bound(17, None), _bound(None, None)]
    assert scoped.load(scoped.dump(records), "f") == records
    rows = json.loads(scoped.dump(records))["tokens"]
    assert "pid" not in rows[2] and rows[0]["started"] == 100


@pytest.mark.parametrize(
    "binding",
    [
        {"pid": "1"},
        {"pid": True},
        {"pid": 0},
        {"pid": 5, "started": "1"},
        {"pid": 5, "started": False},
        {"started": 1},
    ],
)
def test_a_malformed_binding_is_a_clear_cache_error(binding: dict[str, object]) -> None:
    with pytest.raises(CacheError):
        scoped.load(_file([{**GOOD_ROW, **binding}]), "f")
