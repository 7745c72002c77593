"""``regions``: the shipped region data matches botocore's, and the wizard's value checks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import botocore.session
import pytest

from ssod.client.configure import regions, regions_data
from ssod.client.configure.checks import check_output, check_region, check_start_url

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_region_data_is_what_botocore_says() -> None:
    """Fails after a botocore upgrade that changes regions: run scripts/gen_regions.py."""
    spec = importlib.util.spec_from_file_location("gen_regions", ROOT / "scripts/gen_regions.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    shipped = Path(regions_data.__file__).read_text(encoding="utf-8")
    assert generator.render() == shipped, "stale: run .venv/bin/python scripts/gen_regions.py"


def test_identity_center_regions_against_endpoints_json() -> None:
    # Independently of the generator: botocore's own answer, partition by partition.
    session = botocore.session.get_session()
    expected = {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("sso-oidc", partition_name=partition)
    }
    assert set(regions.SSO_REGIONS) == expected
    assert {"ap-northeast-1", "ap-northeast-2", "ap-northeast-3"} <= expected
    assert "ap-northeast-9" not in expected
    assert set(regions.SSO_REGIONS) <= set(regions.REGIONS)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("us-east-1", True),
        ("ap-northeast-3", True),
        ("ap-northeast-9", True),  # the form of a region: whether it has an endpoint is apart
        ("us-gov-west-1", True),
        ("cn-northwest-1", True),
        ("eusc-de-east-1", True),
        ("us-isof-south-1", True),
        ("sso:account:access", False),
        ("us-east", False),
        ("useast1", False),
        ("us east 1", False),
        ("us-east-1 ", False),
        ("https://d-1234567890.awsapps.com/start", False),
        ("", False),
    ],
)
def test_region_names(value: str, ok: bool) -> None:
    problem = check_region(value)
    assert (problem is None) == ok, problem
    if value and not ok:
        assert problem is not None and "such as us-east-1" in problem


def test_no_endpoint_names_the_regions_that_have_one() -> None:
    assert regions.no_endpoint("ap-northeast-9") == (
        "The region ap-northeast-9 has no IAM Identity Center endpoint; regions like it that "
        "have one: ap-northeast-1, ap-northeast-2, ap-northeast-3"
    )
    assert regions.like("eu-nowhere-1")[0] == "eu-central-1"  # same area, no closer match
    assert regions.like("us-iso-east-1")[:2] == ["us-east-1", "us-east-2"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [("json", True), ("yaml-stream", True), ("off", True), ("", True), ("JSON", False)],
)
def test_output_formats(value: str, ok: bool) -> None:
    problem = check_output(value)
    assert (problem is None) == ok
    if not ok:
        assert problem is not None and "json, yaml, yaml-stream, text, table, off" in problem


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://d-1234567890.awsapps.com/start", None),
        ("https://d-1234567890.awsapps.com/start/", None),
        ("https://d-1234567890.awsapps.com/start/#/", None),
        ("https://my-company.awsapps.com/start", None),
        ("https://ssoins-1234567890abcdef.portal.us-east-1.app.aws", None),
        ("https://sso.example.com", None),  # a vanity domain
        ("HTTPS://D-1234567890.AWSAPPS.COM/start", None),
        ("http://d-1234567890.awsapps.com/start", "use https"),
        ("ftp://d-1234567890.awsapps.com/start", "use https"),
        ("d-1234567890.awsapps.com/start", "as in https://d-1234567890.awsapps.com/start"),
        ("not a url", "Not a valid Start URL"),
        ("https://", "Not a valid Start URL"),
        ("https://-bad-.example.com/", "Not a valid Start URL"),
    ],
)
def test_start_urls(url: str, problem: str | None) -> None:
    found = check_start_url(url)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found and found.startswith("Not a valid Start URL")
