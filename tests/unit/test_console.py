"""The pure console sign-in rules: partitions, regions, destinations, durations and URLs."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from ssod.daemon.aws import console
from ssod.daemon.config.awsconfig import ChainedProfile, SsoProfile
from ssod.errors import CannotFederate, DestinationRefused, UsageError

AWS, CN, GOV = (console.PARTITIONS[n] for n in ("aws", "aws-cn", "aws-us-gov"))


@pytest.mark.parametrize(
    ("region", "name", "signin", "home"),
    [
        ("us-east-1", "aws", "signin.aws.amazon.com", "console.aws.amazon.com"),
        ("eu-central-2", "aws", "signin.aws.amazon.com", "console.aws.amazon.com"),
        ("cn-north-1", "aws-cn", "signin.amazonaws.cn", "console.amazonaws.cn"),
        ("cn-northwest-1", "aws-cn", "signin.amazonaws.cn", "console.amazonaws.cn"),
        (
            "us-gov-west-1",
            "aws-us-gov",
            "signin.amazonaws-us-gov.com",
            "console.amazonaws-us-gov.com",
        ),
    ],
)
def test_partitions(region: str, name: str, signin: str, home: str) -> None:
    part = console.partition(console.partition_name(region), "p")
    assert (part.name, part.signin_host, part.console_host) == (name, signin, home)
    assert console.federation_url(part) == f"https://{signin}/federation"
    landing = console.destination(part, region, None)
    assert landing == f"https://{home}/console/home?region={region}"


def test_iso_partitions_cannot_federate() -> None:
    assert console.partition_name("us-iso-east-1") == "aws-iso"
    assert console.partition_name("us-isob-east-1") == "aws-iso-b"
    with pytest.raises(CannotFederate, match="aws-iso"):
        console.partition("aws-iso", "p")


def test_override_and_login_url() -> None:
    federation = console.federation_url(AWS, "http://127.0.0.1:8900/")
    assert federation == "http://127.0.0.1:8900/federation"
    url = console.login_url(
        federation, "https://console.aws.amazon.com/s3/home?region=x&a=b", "t/k+"
    )
    assert url.startswith("http://127.0.0.1:8900/federation?Action=login&Issuer=ssod&")
    fields = parse_qs(urlsplit(url).query)
    assert fields["Destination"] == ["https://console.aws.amazon.com/s3/home?region=x&a=b"]
    assert fields["SigninToken"] == ["t/k+"]


@pytest.mark.parametrize(
    ("part", "wanted", "landing"),
    [
        (AWS, "s3", "https://console.aws.amazon.com/s3/home?region=eu-west-1"),
        (CN, "ec2", "https://console.amazonaws.cn/ec2/home?region=eu-west-1"),
        (
            GOV,
            "cloudwatch",
            "https://console.amazonaws-us-gov.com/cloudwatch/home?region=eu-west-1",
        ),
        (AWS, "https://console.aws.amazon.com/", "https://console.aws.amazon.com/"),
        (
            AWS,
            "https://eu-west-1.console.aws.amazon.com/x",
            "https://eu-west-1.console.aws.amazon.com/x",
        ),
        (AWS, "https://console.aws.amazon.com:443/x", "https://console.aws.amazon.com:443/x"),
        (CN, "https://console.amazonaws.cn/s3", "https://console.amazonaws.cn/s3"),
    ],
)
def test_destinations(part: console.Partition, wanted: str, landing: str) -> None:
    assert console.destination(part, "eu-west-1", wanted) == landing


@pytest.mark.parametrize(
    ("part", "wanted"),
    [
        (AWS, "http://console.aws.amazon.com/"),
        (AWS, "https://console.aws.amazon.com.evil.example/"),
        (AWS, "https://evilconsole.aws.amazon.com/"),
        (AWS, "https://console.amazonaws.cn/"),
        (CN, "https://console.aws.amazon.com/"),
        (AWS, "https://a@console.aws.amazon.com/"),
        (AWS, "https://console.aws.amazon.com:8443/"),
        (AWS, "https://console.aws.amazon.com:x/"),
        (AWS, "https://console.aws.amazon.com/ x"),
        (AWS, "javascript://console.aws.amazon.com/"),
        (AWS, "S3"),
        (AWS, "/s3/home"),
        (AWS, "s3 bucket"),
    ],
)
def test_refused_destinations(part: console.Partition, wanted: str) -> None:
    with pytest.raises(DestinationRefused):
        console.destination(part, "us-east-1", wanted)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("900", 900), ("3600s", 3600), ("90m", 5400), ("1h", 3600), ("1h30m", 5400), ("12h", 43200)],
)
def test_durations(text: str, seconds: int) -> None:
    assert console.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["899", "14m", "12h1s", "13h", "", "1d", "soon", "-1h", "1.5h"])
def test_refused_durations(text: str) -> None:
    with pytest.raises(UsageError):
        console.parse_duration(text)


SSO = SsoProfile(
    name="dev",
    account_id="111111111111",
    role_name="R",
    sso_session="corp",
    start_url="https://x.awsapps.com/start",
    sso_region="us-gov-west-1",
    region=None,
    output=None,
    line=None,
)
CHAINED = ChainedProfile(
    name="c",
    role_arn="arn:aws-us-gov:iam::222222222222:role/D",
    source_profile="dev",
    role_session_name=None,
    duration_seconds=None,
    external_id=None,
    region="us-gov-east-1",
    output=None,
    line=None,
)


def test_plan() -> None:
    plan = console.plan("dev", SSO, SSO, destination_arg="s3", duration_arg="1h")
    assert (plan.partition, plan.region, plan.duration) == (GOV, "us-gov-west-1", 3600)
    assert plan.federation_url == "https://signin.amazonaws-us-gov.com/federation"
    assert plan.destination.startswith("https://console.amazonaws-us-gov.com/s3/home?")
    chained = console.plan("c", CHAINED, SSO)
    assert (chained.partition, chained.region, chained.duration) == (GOV, "us-gov-east-1", None)
    with pytest.raises(CannotFederate, match="role chaining"):
        console.plan("c", CHAINED, SSO, duration_arg="1h")
    with pytest.raises(UsageError, match="not in partition aws-us-gov"):
        console.plan("dev", SSO, SSO, region_arg="us-east-1")
    with pytest.raises(UsageError, match="not an AWS region"):
        console.plan("dev", SSO, SSO, region_arg="Mars")


@pytest.mark.parametrize(
    ("environ", "endpoint"),
    [
        ({}, None),
        ({"AWS_ENDPOINT_URL_SIGNIN": "http://127.0.0.1:8900"}, "http://127.0.0.1:8900"),
        (
            {
                "AWS_ENDPOINT_URL_SIGNIN": "http://127.0.0.1:8900",
                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
            },
            None,
        ),
    ],
)
def test_signin_endpoint_setting(environ: dict[str, str], endpoint: str | None) -> None:
    from ssod.daemon.settings import Settings

    assert Settings.from_environment(environ=environ).signin_endpoint == endpoint
