"""The one policy for the HTTP calls ssod makes outside botocore: console sign-in tokens
(``federation``) and start-URL lookups (``starturl``).

As botocore does for its own calls: TLS with the system trust store or ``AWS_CA_BUNDLE``, and
proxies from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``) as urllib reads
them (botocore's ``get_environ_proxies``). Never ``~/.netrc``: aiohttp's ``trust_env`` would send
its passwords to the host, so it stays off and the proxy is chosen here, per request.
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """The trust store: ``ca_bundle`` (``AWS_CA_BUNDLE``) if given, else the system's."""
    return ssl.create_default_context(cafile=ca_bundle or None)


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url``, or None (none set, or NO_PROXY)."""
    parts = urlsplit(url)
    if proxy_bypass(parts.hostname or ""):
        return None
    return getproxies().get(parts.scheme)


def session(timeout: aiohttp.ClientTimeout, ca_bundle: str | None) -> aiohttp.ClientSession:
    """A client session under this policy; pass ``proxy=proxy_for(url)`` with each request."""
    return aiohttp.ClientSession(
        timeout=timeout,
        trust_env=False,  # no ~/.netrc; proxies come from proxy_for
        connector=aiohttp.TCPConnector(ssl=ssl_context(ca_bundle)),
    )
