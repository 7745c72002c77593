"""Which addresses the endpoints may listen on, and the Host headers they then accept."""

from __future__ import annotations

import pytest

from ssod.daemon.serve.http import listenpolicy
from ssod.daemon.serve.http.listenpolicy import ListenAddress
from ssod.errors import BadRequest


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", [("127.0.0.1", True)]),
        ("127.0.0.1,169.254.170.2", [("127.0.0.1", True), ("169.254.170.2", False)]),
        (" 169.254.170.23 , 127.0.0.1 ", [("169.254.170.23", False), ("127.0.0.1", True)]),
        ("127.0.0.1,127.0.0.1", [("127.0.0.1", True)]),
        ("127.0.0.1,::1", [("127.0.0.1", True), ("::1", True)]),
        ("127.0.0.1,[::1]", [("127.0.0.1", True), ("::1", True)]),
        ("127.0.0.1,127.0.0.2", [("127.0.0.1", True), ("127.0.0.2", True)]),
    ],
)
def test_accepted(text: str, expected: list[tuple[str, bool]]) -> None:
    assert listenpolicy.parse(text, "--ecs-listen") == tuple(
        ListenAddress(h, r) for h, r in expected
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "give at least 127.0.0.1"),
        (" , ", "give at least 127.0.0.1"),
        ("169.254.170.2", "must include 127.0.0.1"),
        ("127.0.0.1,0.0.0.0", "every interface"),
        ("127.0.0.1,192.168.1.5", "reachable from other machines"),
        ("127.0.0.1,10.0.0.1", "reachable from other machines"),
        ("127.0.0.1,172.17.0.1", "reachable from other machines"),
        ("127.0.0.1,fd00:ec2::23", "reachable from other machines"),
        ("127.0.0.1,fe80::1", "need a zone"),
        ("127.0.0.1,::", "every interface"),
        ("127.0.0.1,localhost", "not an IP address"),
        ("127.0.0.1,host.docker.internal", "not an IP address"),
        ("127.0.0.1,169.254.170.2:80", "not an IP address"),
    ],
)
def test_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(BadRequest, match=why) as caught:
        listenpolicy.parse(text, "SSOD_ECS_LISTEN")
    assert caught.value.message.startswith("SSOD_ECS_LISTEN")


def test_defaults() -> None:
    ecs = listenpolicy.addresses(listenpolicy.DEFAULT_ECS_LISTEN, "d")
    assert ecs == (ListenAddress("127.0.0.1", True), ListenAddress("169.254.170.2", False))
    assert listenpolicy.addresses(listenpolicy.DEFAULT_IMDS_LISTEN, "d") == (ecs[0],)
    assert not ecs[1].loopback and ecs[0].loopback


@pytest.mark.parametrize(
    ("hosts", "expected"),
    [
        (["127.0.0.1"], {"127.0.0.1:9179", "localhost:9179"}),
        (
            ["127.0.0.1", "169.254.170.2"],
            {"127.0.0.1:9179", "localhost:9179", "169.254.170.2:9179"},
        ),
        (["169.254.170.2"], {"169.254.170.2:9179"}),
        (["::1"], {"[::1]:9179"}),
        ([], set()),
    ],
)
def test_host_headers_name_exactly_the_served_addresses(
    hosts: list[str], expected: set[str]
) -> None:
    assert listenpolicy.host_headers(iter(hosts), 9179) == expected
