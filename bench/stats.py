"""Summaries of repeated measurements: median, p99 and spread, and paired ratios.

Pure: numbers in, numbers out. Percentiles use linear interpolation between closest ranks
(the "type 7" definition numpy and most spreadsheets use), so a p99 of fewer than 100 samples
leans toward the maximum rather than pretending to a precision the sample does not have.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linearly interpolated."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0-100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """Median, p99, extremes and count of repeated measurements of one quantity."""

    n: int
    median: float
    p99: float
    minimum: float
    maximum: float


def summarize(values: Sequence[float]) -> Summary:
    """Summarize ``values`` (at least one)."""
    return Summary(
        n=len(values),
        median=statistics.median(values),
        p99=percentile(values, 99),
        minimum=min(values),
        maximum=max(values),
    )


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, or NaN when the denominator is zero."""
    return numerator / denominator if denominator else math.nan


def paired_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> Summary:
    """The summary of per-round ratios of two series measured side by side."""
    if len(numerators) != len(denominators):
        raise ValueError("paired series differ in length")
    return summarize([ratio(a, b) for a, b in zip(numerators, denominators, strict=True)])
