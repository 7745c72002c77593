"""Region names and output formats in the configure wizard: what it completes and what it refuses.

A region name is what one of botocore's partitions calls a region (its ``regionRegex``:
``us-east-1``, ``cn-north-1``, ``us-gov-west-1``...), so ``sso:account:access`` typed at the
wrong prompt is refused while a region newer than ssod's list still passes; whether a region
has an IAM Identity Center endpoint is the daemon's to say (it has botocore), this module only
words the answer. The names themselves are generated from botocore into ``regions_data``.
Pure and standard-library only, like the rest of the client.
"""

from __future__ import annotations

import re
from functools import cache

from ssod.client.configure.regions_data import REGION_PATTERNS, REGIONS, SSO_REGIONS

__all__ = ["OUTPUT_FORMATS", "REGIONS", "SSO_REGIONS"]

#: The AWS CLI v2's output formats: ``CLI_OUTPUT_FORMATS`` in awscli/formatter.py, plus ``off``
#: (the CLI v2 user guide, "Setting the output format").
OUTPUT_FORMATS = ("json", "yaml", "yaml-stream", "text", "table", "off")

#: How many alternatives a "no endpoint" message names.
_SUGGESTIONS = 6


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern) for pattern in REGION_PATTERNS)


def is_region_name(value: str) -> bool:
    """True if ``value`` has the form of a region name in some AWS partition."""
    return any(pattern.match(value) for pattern in _patterns())


def check_region(value: str) -> str | None:
    """None for a region name; otherwise what is wrong, naming the expected form."""
    if not value:
        return "A value is required"
    if is_region_name(value):
        return None
    return (
        f"{value!r} is not a region name: expected a Region code such as us-east-1, "
        "eu-west-2 or us-gov-west-1 (press Tab to list them)"
    )


def check_output(value: str) -> str | None:
    """None for one of the AWS CLI's output formats (or nothing at all)."""
    if not value or value in OUTPUT_FORMATS:
        return None
    return f"{value!r} is not an output format: expected one of {', '.join(OUTPUT_FORMATS)}"


def like(region: str) -> list[str]:
    """Regions with an Identity Center endpoint that look most like ``region``."""
    head, _, _ = region.rpartition("-")
    for prefix in (f"{head}-", f"{region.split('-', 1)[0]}-"):
        close = [r for r in SSO_REGIONS if r.startswith(prefix)]
        if close:
            return close[:_SUGGESTIONS]
    return []


def no_endpoint(region: str) -> str:
    """The message for a well-formed region without an IAM Identity Center endpoint."""
    text = f"The region {region} has no IAM Identity Center endpoint"
    close = like(region)
    if close:
        return f"{text}; regions like it that have one: {', '.join(close)}"
    return f"{text}; press Tab to list the regions that have one"
