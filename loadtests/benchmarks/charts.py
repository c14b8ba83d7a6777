"""The plots of docs/benchmarks.md, from one bench.json: PNG files in docs/benchmarks/, named in the page. A plot whose
section the run did not have is not drawn."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from loadtests.plots import png

COLORS = {"celerity": "tab:blue", "plain": "tab:green", "celery": "tab:gray"}
LABELS = {"celerity": "Celerity", "plain": "bare Celery, plain", "celery": "bare Celery, canvas"}


def _save(fig: Any, directory: Path, name: str) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(png(fig, dpi=72))
    return f"benchmarks/{name}"


def _systems(points: list[dict[str, Any]]) -> list[str]:
    present = {name for p in points for name in p["items_per_second"]}
    return [name for name in COLORS if name in present]


def xy(
    points: list[dict[str, Any]], x: str, field: str, system: str, scale: float = 1.0
) -> tuple[list[float], list[float]]:
    """The curve's points; a missing value is NaN, which matplotlib leaves out."""
    xs = [float(p["spec"][x]) for p in points]
    return xs, [math.nan if p[field].get(system) is None else p[field][system] * scale for p in points]


def overhead(results: dict[str, Any], directory: Path) -> str:
    ov = results["overhead"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
    names = list(ov)
    systems = _systems(list(ov.values()))
    width = 0.8 / len(systems)
    for i, system in enumerate(systems):
        left.bar(
            [j + i * width for j in range(len(names))],
            [ov[n]["items_per_second"].get(system) or 0 for n in names],
            width,
            label=LABELS[system],
            color=COLORS[system],
        )
    left.set_xticks(
        [j + 0.4 - width / 2 for j in range(len(names))], [f"{n}\n{ov[n]['spec']['items']:,} items" for n in names]
    )
    left.set(ylabel="items/s (median)", title="same work, same number of processes")
    left.legend(fontsize=8)
    if "chord" in ov:
        values = [(ov["chord"]["chord_completion"].get(s) or 0) * 1000 for s in ("celerity", "celery")]
        right.bar([LABELS["celerity"], LABELS["celery"]], values, color=[COLORS["celerity"], COLORS["celery"]])
        right.set(ylabel="ms (median)", title="chord: last header task → callback done")
    return _save(fig, directory, "overhead.png")


def chunk_size(results: dict[str, Any], directory: Path) -> str:
    points = results["chunk_size"]
    fig, ax = plt.subplots(figsize=(9, 3))
    for system in _systems(points):
        ax.plot(
            *xy(points, "chunk_size", "items_per_second", system),
            marker="o",
            label=LABELS[system],
            color=COLORS[system],
        )
    ax.set(
        xscale="log",
        xlabel="chunk size (items per task)",
        ylabel="items/s (median)",
        title=f"chunk size against throughput ({points[0]['spec']['items']:,} items per job)",
    )
    ax.legend(fontsize=8)
    return _save(fig, directory, "chunk_size.png")


def chord_width(results: dict[str, Any], directory: Path) -> str:
    points = results["chord_width"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    for system in _systems(points):
        left.plot(*xy(points, "items", "seconds", system), marker="o", label=LABELS[system], color=COLORS[system])
        right.plot(
            *xy(points, "items", "chord_completion", system, 1000),
            marker="o",
            label=LABELS[system],
            color=COLORS[system],
        )
    left.set(xscale="log", yscale="log", xlabel="chord width (header tasks)", ylabel="seconds", title="submit → result")
    right.set(xscale="log", yscale="log", xlabel="chord width", ylabel="ms", title="last header → callback done")
    left.legend(fontsize=8)
    return _save(fig, directory, "chord_width.png")


def job_size(results: dict[str, Any], directory: Path) -> str:
    points = results["job_size"]
    fig, ax = plt.subplots(figsize=(9, 3))
    ax.plot(
        *xy(points, "items", "submit_seconds", "celerity"),
        marker="o",
        label="Celerity: POST /api/jobs",
        color=COLORS["celerity"],
    )
    ax.plot(
        *xy(points, "items", "setup_seconds", "celerity"),
        marker="s",
        ls="--",
        label="Celerity: job_start in a worker (rows + canvas)",
        color=COLORS["celerity"],
    )
    ax.plot(
        *xy(points, "items", "submit_seconds", "celery"),
        marker="o",
        label="bare Celery: build + apply_async",
        color=COLORS["celery"],
    )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="job size (items, chunks of 1000)",
        ylabel="seconds",
        title="job size against submit latency",
    )
    ax.legend(fontsize=8)
    return _save(fig, directory, "job_size.png")


PLOTS: dict[str, Callable[[dict[str, Any], Path], str]] = {
    "overhead": overhead,
    "chunk_size": chunk_size,
    "chord_width": chord_width,
    "job_size": job_size,
}


def draw(results: dict[str, Any], directory: Path) -> dict[str, str]:
    """{section: the plot's path relative to the page}, for every section the run has points for."""
    return {
        key: plot(results, directory) for key, plot in PLOTS.items() if results.get(key) and "error" not in results[key]
    }
