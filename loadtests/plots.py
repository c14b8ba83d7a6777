"""Plots for report.html: throughput, backlog and replicas over time, latency histograms; PNG as base64 text."""

from __future__ import annotations

import base64
import io
import itertools
import math

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from loadtests.results import ScenarioResult

Plot = tuple[str, str]  # (title, base64 PNG)


def png(figure: Figure, dpi: int = 80) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _b64(figure: Figure) -> str:
    return base64.b64encode(png(figure)).decode()


def scenario_plots(result: ScenarioResult) -> list[Plot]:
    plots: list[Plot] = []
    samples = result.samples
    if len(samples) > 1:
        t = [s.t for s in samples]
        rates = [0.0] + [
            max(b.items_done - a.items_done, 0) / max(b.t - a.t, 1e-6) for a, b in itertools.pairwise(samples)
        ]
        fig, ax = plt.subplots(figsize=(9, 2.8))
        ax.plot(t, rates, lw=1)
        ax.set(xlabel="seconds", ylabel="items/s", title="throughput (items recorded per second)")
        plots.append(("Throughput over time", _b64(fig)))

        fig, ax = plt.subplots(figsize=(9, 2.8))
        queues = sorted({q for s in samples for q in s.backlog})
        for queue in queues:
            ax.plot(t, [s.backlog.get(queue, 0.0) for s in samples], lw=1, label=f"waiting: {queue}")
        ax.plot(t, [s.unacked for s in samples], lw=1, ls="--", label="reserved + running")
        ax.set(xlabel="seconds", ylabel="tasks", title="backlog and replicas")
        right = ax.twinx()
        pools = sorted({p for s in samples for p in s.workers})
        palette = plt.get_cmap("Dark2")
        for i, pool in enumerate(pools):  # nudged apart so that pools with equal counts stay visible
            right.step(
                t,
                [s.workers.get(pool, 0.0) + 0.04 * i for s in samples],
                where="post",
                lw=2,
                alpha=0.8,
                color=palette(i),
                label=f"workers: {pool}",
            )
        right.set_ylabel("live workers")
        right.set_ylim(bottom=0, top=max([1.0, *(sum(s.workers.values()) for s in samples)]) + 1)
        handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
        if handles:
            ax.legend(handles=handles, fontsize=7, loc="upper right")
        plots.append(("Backlog and replicas over time", _b64(fig)))
    if result.mode == "sweep" and result.jobs:
        fig, ax = plt.subplots(figsize=(9, 0.4 * len(result.jobs) + 1))
        ax.barh([job.label for job in result.jobs], [job.items_per_second for job in result.jobs])
        ax.invert_yaxis()
        ax.set(xlabel="items/s (created → finished)", title="per job")
        plots.append(("Items/s per job of the sweep", _b64(fig)))
    latencies = [job.latency_seconds for job in result.jobs if job.latency_seconds > 0]
    if len(latencies) > 2:
        fig, ax = plt.subplots(figsize=(9, 2.8))
        ax.hist(latencies, bins=min(30, len(latencies)))
        ax.set(xlabel="seconds", ylabel="jobs", title="job latency (created → finished)")
        plots.append(("Job latency histogram", _b64(fig)))
    for key, title in (("queue_wait", "task queue wait (publish → start)"), ("run_time", "task run time")):
        plot = _histogram(result.platform.get(key, {}).get("buckets") or {}, title)
        if plot:
            plots.append(plot)
    return plots


def _histogram(cumulative: dict[str, float], title: str) -> Plot | None:
    """Bucket counts from Prometheus' cumulative buckets, one bar per bucket."""
    bounds = sorted(float(b) for b in cumulative)
    finite = [b for b in bounds if not math.isinf(b)]
    counts = {float(b): v for b, v in cumulative.items()}
    if not finite or counts.get(math.inf, 0.0) <= 0:
        return None
    per_bucket = [counts[b] - (counts[finite[i - 1]] if i else 0.0) for i, b in enumerate(finite)]
    per_bucket.append(counts[math.inf] - counts[finite[-1]])
    labels = [f"≤{b:g}" for b in finite] + ["+Inf"]
    fig, ax = plt.subplots(figsize=(9, 2.8))
    ax.bar(labels, per_bucket)
    ax.set(xlabel="seconds (bucket upper bound)", ylabel="tasks", title=title)
    ax.tick_params(axis="x", rotation=60, labelsize=7)
    return (title.capitalize(), _b64(fig))
