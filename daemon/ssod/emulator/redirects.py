"""PKCE redirect URIs: only loopback ``http`` is allowed, and a registered URI without a port
matches the same URI with any port, as IAM Identity Center does for loopback (RFC 8252 §7.3;
the AWS CLI registers ``http://127.0.0.1/oauth/callback`` and then uses the port it bound).
"""

from __future__ import annotations

from urllib.parse import urlsplit

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback_http(uri: str) -> bool:
    """True for ``http://127.0.0.1[:port]/...`` (or localhost, [::1])."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in _LOOPBACK and not parts.fragment


def redirect_matches(registered: str, used: str) -> bool:
    """Does ``used`` match ``registered``, ignoring the port when the registration has none?"""
    if not (is_loopback_http(registered) and is_loopback_http(used)):
        return False
    reg, got = urlsplit(registered), urlsplit(used)
    if reg.port is not None and reg.port != got.port:
        return False
    return (reg.hostname, reg.path or "/", reg.query) == (got.hostname, got.path or "/", got.query)
