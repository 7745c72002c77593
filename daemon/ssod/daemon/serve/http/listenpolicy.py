"""Which addresses the daemon's HTTP endpoints may listen on: the policy, parsed and checked.

Pure. Only loopback and IPv4 link-local (169.254.0.0/16) addresses are ever accepted; anything
else (a LAN address, ``0.0.0.0``, a name, IPv6 link-local, which needs a zone and which no SDK
accepts over http) is refused with a message saying why. Every endpoint serves ``127.0.0.1``
(the one address every SDK and the AWS CLI v2 accept, docs/protocols.md §10); loopback must be
bindable at start. Link-local addresses come and go with container networks (docker creates
``169.254.170.2`` when its bridge comes up), so they are served once and while they exist.

The Host check of each endpoint accepts exactly ``ADDRESS:PORT`` for the addresses it serves
at that moment (plus ``localhost:PORT`` with 127.0.0.1): :func:`host_headers`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final, NamedTuple

from ssod.client.output.containers import CONTAINER_ADDRESS
from ssod.errors import BadRequest

LOOPBACK: Final = "127.0.0.1"
#: The ECS endpoint's default: loopback, and the container address (the ECS agent's, which the
#: SDKs accept for an http FULL_URI, docs/protocols.md §6) whenever it exists.
DEFAULT_ECS_LISTEN: Final = (LOOPBACK, CONTAINER_ADDRESS)
#: IMDS has no client token, so containers get it only when asked for (``--imds-listen``).
DEFAULT_IMDS_LISTEN: Final = (LOOPBACK,)

_LINK_LOCAL_V4: Final = ipaddress.ip_network("169.254.0.0/16")


class ListenAddress(NamedTuple):
    """One address an endpoint serves; ``required`` ones must bind at start."""

    host: str
    required: bool

    @property
    def loopback(self) -> bool:
        """True for 127.0.0.0/8 and ::1."""
        return ipaddress.ip_address(self.host).is_loopback


def parse(text: str, what: str) -> tuple[ListenAddress, ...]:
    """``ADDR[,ADDR...]`` from a flag or variable named ``what``; BadRequest if one is refused."""
    words = [w.strip() for w in text.split(",")]
    if not any(words):
        raise BadRequest(f"{what}: give at least {LOOPBACK}")
    return addresses(words, what)


def addresses(words: Iterable[str], what: str) -> tuple[ListenAddress, ...]:
    """Check each address, keep the first of duplicates; 127.0.0.1 must be among them."""
    seen: dict[str, ListenAddress] = {}
    for word in words:
        address = check(word, what)
        seen.setdefault(address.host, address)
    if LOOPBACK not in seen:
        raise BadRequest(
            f"{what} must include {LOOPBACK}: `ssod env` and the AWS CLI v2 use it, and it is "
            "the only address every SDK accepts"
        )
    return tuple(seen.values())


def check(word: str, what: str) -> ListenAddress:
    """One address, if policy allows it: loopback (required) or IPv4 link-local (when present)."""
    raw = word.strip().removeprefix("[").removesuffix("]")
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        raise BadRequest(
            f"{what}: {word!r} is not an IP address (names are not accepted: ssod listens "
            "only on loopback and link-local addresses)"
        ) from None
    if ip.is_loopback:
        return ListenAddress(str(ip), required=True)
    if ip.version == 4 and ip in _LINK_LOCAL_V4:
        return ListenAddress(str(ip), required=False)
    if ip.version == 6 and ip.is_link_local:
        why = "IPv6 link-local addresses need a zone, and no SDK accepts one over http"
    elif ip.is_unspecified:
        why = "it would listen on every interface, reachable from the network"
    else:
        why = "it is reachable from other machines"
    raise BadRequest(
        f"{what}: {ip} is refused: {why}. Only loopback (127.0.0.1) and IPv4 link-local "
        f"(169.254.0.0/16, e.g. the container address {CONTAINER_ADDRESS}) are allowed"
    )


def url_host(host: str) -> str:
    """``host`` as written in a URL or a Host header (IPv6 in brackets)."""
    return f"[{host}]" if ":" in host else host


def host_headers(hosts: Iterable[str], port: int) -> frozenset[str]:
    """Exactly the Host header values naming the served ``hosts`` on ``port``."""
    served = list(hosts)
    values = {f"{url_host(h)}:{port}" for h in served}
    if LOOPBACK in served:
        values.add(f"localhost:{port}")
    return frozenset(values)
