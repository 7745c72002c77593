"""Why no answer came from AWS, in words: each transport failure, never a botocore class name."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ProxyConnectionError,
    ReadTimeoutError,
    SSLError,
)

from ssod.daemon.aws.api import transport_failure

URL = "https://portal.sso.us-east-1.amazonaws.com/federation/credentials"
HOST = "portal.sso.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    ("err", "words"),
    [
        (EndpointConnectionError(endpoint_url=URL), f"cannot connect to {HOST}"),
        (ConnectTimeoutError(endpoint_url=URL), f"{HOST} did not accept a connection in time"),
        (ReadTimeoutError(endpoint_url=URL), f"{HOST} did not answer in time"),
        (
            ConnectionClosedError(endpoint_url=URL),
            f"{HOST} closed the connection without answering",
        ),
        (
            SSLError(endpoint_url=URL, error="self-signed"),
            f"the TLS connection to {HOST} failed (is AWS_CA_BUNDLE right?)",
        ),
        (
            ProxyConnectionError(proxy_url="http://proxy:3128", error="refused"),
            "cannot connect to the proxy for the endpoint",
        ),
        (ValueError("odd"), "no answer from the endpoint (the daemon's log names the error)"),
        (
            EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
            "cannot connect to 127.0.0.1:9",
        ),
    ],
)
def test_transport_failure_words(err: Exception, words: str) -> None:
    assert transport_failure(err) == words
    assert type(err).__name__ not in words


@pytest.mark.parametrize(
    ("operation", "named"),
    [("register_client", "RegisterClient"), ("AssumeRole", "AssumeRole"), ("logout", "Logout")],
)
def test_the_operation_is_named_as_the_api_names_it(operation: str, named: str) -> None:
    from ssod.daemon.aws.api import _unavailable

    err = _unavailable(operation, EndpointConnectionError(endpoint_url=URL))
    assert err.message == f"AWS {named} failed: cannot connect to {HOST}"
