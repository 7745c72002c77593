"""The report's figures: ECS latency distributions, and process start-up times, as PNGs in docs/.

Draws from the raw series measurements leave in ``Section.data`` and adds the image to that
section; a measurement that did not run simply has no figure. matplotlib (the ``bench`` extra)
is imported here only, with the Agg backend: no display is needed.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.report import Section

LATENCY_PNG = "performance-latency.png"
STARTUP_PNG = "performance-startup.png"


def _pyplot() -> Any:
    # Imported by name: the type check must pass without the optional bench extra installed.
    matplotlib = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def _latency(section: Section, path: Path) -> None:
    cdfs: dict[str, list[tuple[float, float]]] = section.data["cdf"]
    counts = sorted({int(name.split("c=")[1]) for name in cdfs})
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(counts), figsize=(4.2 * len(counts), 3.6), sharey=True)
    ticker = importlib.import_module("matplotlib.ticker")
    for ax, count in zip(axes, counts, strict=True):
        for name, style in (("ssod", "-"), ("bare", "--")):
            points = cdfs[f"{name} c={count}"]
            ax.plot(
                [lat * 1e3 for _, lat in points],
                [q for q, _ in points],
                style,
                label="ssod daemon" if name == "ssod" else "bare aiohttp",
            )
        ax.set_xscale("log")
        # Plain numbers at 1-2-5 steps; the default minor tick labels on a log axis collide.
        ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _pos: f"{x:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_title(f"{count} connection{'s' if count > 1 else ''}")
        ax.set_xlabel("latency (ms, log scale)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("percentile")
    axes[0].legend(loc="lower right")
    fig.suptitle("GET /credentials/dev: latency distribution (median of rounds per percentile)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _startup(sections: dict[str, Section], path: Path) -> None:
    panels: list[tuple[str, dict[str, list[float]]]] = []
    if "first-credentials" in sections:
        panels.append(
            (
                "time to credentials after `import boto3`",
                sections["first-credentials"].data["inner"],
            )
        )
    if "startup" in sections:
        panels.append(("client start-up (whole process)", sections["startup"].data["wall"]))
    plt = _pyplot()
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.2 + 1.9 * len(panels)), squeeze=False)
    for ax, (title, series) in zip(axes[:, 0], panels, strict=True):
        names = list(series)[::-1]  # boxplot stacks bottom-up: keep the table's order
        ax.boxplot(
            [[v * 1000 for v in series[n]] for n in names],
            vert=False,
            whis=(1, 99),
            showfliers=True,
        )
        ax.set_yticks(range(1, len(names) + 1), names)
        ax.set_xscale("log")
        ax.set_xlabel("milliseconds (log); whiskers p1-p99")
        ax.set_title(title)
        ax.grid(True, axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw(sections: Sequence[Section], docs: Path) -> None:
    """Draw every figure the sections have data for, and link it from its section."""
    by_name = {s.name: s for s in sections}
    ecs = by_name.get("ecs")
    if ecs is not None and "cdf" in ecs.data:
        _latency(ecs, docs / LATENCY_PNG)
        ecs.images.append(LATENCY_PNG)
    timed = [
        n for n in ("first-credentials", "startup") if "wall" in by_name.get(n, Section(n, n)).data
    ]
    if timed:
        _startup({n: by_name[n] for n in timed}, docs / STARTUP_PNG)
        by_name[timed[0]].images.append(STARTUP_PNG)
