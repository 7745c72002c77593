"""Start-URL forms: what AWS CLI v2 sends, in which region, and under which cache key.

Each row names the CLI source it was read from: ``resolve.py`` is
awscli/customizations/sso/resolve.py (2.35.13+: ``is_aws_owned_domain``, ``_normalize_url``,
``_follow_redirect``, ``resolve_start_url``), ``login.py`` its caller in sso/login.py (the
configured URL is the one cached; the resolved one is sent), ``utils.py`` the CLI's bundled
botocore awscli/botocore/utils.py (``SSOTokenLoader._generate_cache_key``: SHA-1 of the session
name, or of the start URL exactly as written; ``_registration_cache_key``). The HTTP side is a
table of answers here; tests/cli/test_configure.py runs a real https redirect.
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from ssod.daemon.aws.starturl import Fetch, Resolved, is_aws_owned, needs_lookup, normalize, resolve
from ssod.daemon.store.tokencache import registration_cache_key, token_cache_key
from ssod.errors import ConfigError, StartUrlUnreachable

D = "https://d-1234567890.awsapps.com/start"
PORTAL = "https://ssoins-1234567890abcdef.portal.us-east-1.app.aws"
VANITY = "https://sso.example.com/"

# (configured URL, configured region, HTTP answers, sent URL, region, source)
FORMS = [
    (D, "eu-west-1", {}, D, "eu-west-1", "resolve.py is_aws_owned_domain: used as written"),
    (f"{D}/", "eu-west-1", {}, f"{D}/", "eu-west-1", "resolve.py: no normalising of AWS hosts"),
    (f"{D}/#/", "eu-west-1", {}, f"{D}/#/", "eu-west-1", "resolve.py: fragment kept as well"),
    (
        "https://my-company.awsapps.com/start",
        "us-east-1",
        {},
        "https://my-company.awsapps.com/start",
        "us-east-1",
        "resolve.py: a custom *.awsapps.com alias is AWS-owned",
    ),
    (PORTAL, "us-west-2", {}, PORTAL, "us-west-2", "resolve.py: AWS-owned, configured region"),
    (
        "https://start.home.awsapps.cn/directory/d-1234567890",
        "cn-north-1",
        {},
        "https://start.home.awsapps.cn/directory/d-1234567890",
        "cn-north-1",
        "resolve.py _AWS_OWNED_SUFFIXES: .awsapps.cn",
    ),
    (
        "https://identitycenter.amazonaws.com/ssoins-1234567890abcdef",
        "us-east-1",
        {},
        "https://identitycenter.amazonaws.com/ssoins-1234567890abcdef",
        "us-east-1",
        "resolve.py _AWS_OWNED_EXACT",
    ),
    (
        VANITY,
        "eu-west-1",
        {("HEAD", VANITY): (302, f"{PORTAL}/")},
        PORTAL,
        "us-east-1",
        "resolve.py: vanity host, region from the portal host name wins",
    ),
    (
        VANITY,
        "eu-west-1",
        {("HEAD", VANITY): (301, "https://D-1234567890.AWSAPPS.COM:443/start/?x=1#/")},
        D,
        "eu-west-1",
        "resolve.py _normalize_url: host case, default port, query, fragment, trailing /",
    ),
    (
        VANITY,
        "eu-west-1",
        {("HEAD", VANITY): (405, None), ("GET", VANITY): (307, f"{D}/")},
        D,
        "eu-west-1",
        "resolve.py _follow_redirect: GET when HEAD is refused",
    ),
    (
        VANITY,
        "eu-west-1",
        {("HEAD", VANITY): (501, None), ("GET", VANITY): (308, PORTAL)},
        PORTAL,
        "us-east-1",
        "resolve.py _follow_redirect: 501 too",
    ),
]

# (configured URL, configured region, HTTP answers, error, words in it, source)
REFUSED = [
    ("http://d-1234567890.awsapps.com/start", "us-east-1", {}, ConfigError, "https", "resolve.py"),
    (D, None, {}, ConfigError, "needs an sso_region", "resolve.py: AWS-owned needs the region"),
    (VANITY, "x", {("HEAD", VANITY): (200, None)}, ConfigError, "does not lead", "resolve.py"),
    (
        VANITY,
        "us-east-1",
        {("HEAD", VANITY): (302, "https://login.example.net/")},
        ConfigError,
        "ends at https://login.example.net",
        "resolve.py: the target must be AWS-owned",
    ),
    (
        VANITY,
        "us-east-1",
        {("HEAD", VANITY): (302, "/start")},
        ConfigError,
        "ends at https://sso.example.com/start",
        "resolve.py: a relative Location is joined, then checked",
    ),
    (
        VANITY,
        "us-east-1",
        {("HEAD", VANITY): (302, "http://d-1234567890.awsapps.com/start")},
        ConfigError,
        "not https",
        "resolve.py: the target must be https",
    ),
    (VANITY, "x", {("HEAD", VANITY): (302, None)}, ConfigError, "without a Location", "resolve.py"),
    (VANITY, "x", {("HEAD", VANITY): (404, None)}, ConfigError, "HTTP 404", "resolve.py"),
    (
        VANITY,
        None,
        {("HEAD", VANITY): (302, D)},
        ConfigError,
        "set sso_region",
        "resolve.py: no region in the host and none configured",
    ),
    (VANITY, "x", {}, StartUrlUnreachable, "host sso.example.com did not", "resolve.py: URLError"),
]


def fetcher(answers: dict[tuple[str, str], tuple[int, str | None]]) -> Fetch:
    async def fetch(method: str, url: str) -> tuple[int, str | None]:
        if (method, url) not in answers:
            raise OSError("Connection refused")
        return answers[(method, url)]

    return fetch


@pytest.mark.parametrize(("url", "region", "answers", "sent", "used", "source"), FORMS)
def test_each_form(
    url: str,
    region: str,
    answers: dict[tuple[str, str], tuple[int, str | None]],
    sent: str,
    used: str,
    source: str,
) -> None:
    assert asyncio.run(resolve(url, region, fetcher(answers))) == Resolved(sent, used), source
    assert needs_lookup(url) == bool(answers), source  # AWS hosts are never fetched


@pytest.mark.parametrize(("url", "region", "answers", "error", "words", "source"), REFUSED)
def test_refused_forms(
    url: str,
    region: str | None,
    answers: dict[tuple[str, str], tuple[int, str | None]],
    error: type[Exception],
    words: str,
    source: str,
) -> None:
    with pytest.raises(error, match=words):
        asyncio.run(resolve(url, region, fetcher(answers)))


@pytest.mark.parametrize(
    ("url", "key", "source"),
    [
        (D, "7487b5b67d5fa1132cf33fa93ae51ef38cc37752", "utils.py; docs/protocols.md 3.1 example"),
        (f"{D}/", hashlib.sha1(f"{D}/".encode()).hexdigest(), "utils.py: as written, slash too"),
        (f"{D}/#/", hashlib.sha1(f"{D}/#/".encode()).hexdigest(), "utils.py: as written"),
        (VANITY, hashlib.sha1(VANITY.encode()).hexdigest(), "login.py: configured, not resolved"),
    ],
)
def test_legacy_token_key_is_the_url_as_written(url: str, key: str, source: str) -> None:
    assert token_cache_key(url) == key, source
    assert len({token_cache_key(u) for u in (D, f"{D}/", f"{D}/#/")}) == 3


def test_session_keys_do_not_depend_on_the_url_form() -> None:
    # utils.py: an sso-session's token file is SHA-1 of its name, whatever its start URL.
    assert token_cache_key("my-sso") == "0ad374308c5a4e22f723adf10145eafad7c4031c"
    # The registration key takes the configured URL (login.py passes it as start_url).
    keys = {registration_cache_key(u, "us-east-1", None, "my-sso") for u in (D, f"{D}/", VANITY)}
    assert len(keys) == 3
    assert registration_cache_key(D, "us-east-1", ["sso:account:access"], "my-sso") == (
        "a8343d65418848d0bc13a5f25cbb32508ceec5d1"
    )


@pytest.mark.parametrize(
    ("host", "owned"),
    [
        ("d-1234567890.awsapps.com", True),
        ("D-1234567890.AWSAPPS.COM.", True),
        ("awsapps.com", True),
        ("ssoins-1.portal.eu-west-1.app.aws", True),
        ("x.us-east-1.portal.amazonaws.com", True),
        ("x.portal.amazonaws.eu", True),
        ("identitycenter.amazonaws.com", True),
        ("identitycenter.us-gov.amazonaws.com", True),  # CLI 2.36.7 (docs/protocols.md 5.2)
        ("identitycenter.amazonaws.eu", True),
        ("x.identitycenter.amazonaws.com", False),
        ("evilawsapps.com", False),
        ("awsapps.com.example.net", False),
        ("sso.example.com", False),
        ("127.0.0.1", False),
    ],
)
def test_aws_owned_hosts(host: str, owned: bool) -> None:
    assert is_aws_owned(host) == owned  # resolve.py is_aws_owned_domain


def test_normalize() -> None:
    assert normalize("https://X.example.com:8443/a/?q#f") == "https://x.example.com:8443/a"
    assert normalize("https://x.example.com:443/") == "https://x.example.com"
