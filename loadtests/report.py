"""The summary table, results.json and a self-contained report.html (plots embedded as PNG)."""

from __future__ import annotations

import base64
import html
import io
import json
import statistics
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt
from rich.console import Console
from rich.table import Table

from loadtests.runner import RunResult


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(result: RunResult) -> dict[str, Any]:
    latencies = [job.latency_seconds for job in result.jobs]
    items = sum(job.items for job in result.jobs)
    seconds = sum(latencies)
    metrics = result.metrics
    return {
        "jobs": len(result.jobs),
        "items": items,
        "items_per_second": items / seconds if seconds else 0.0,
        "tasks_per_second": metrics.get("tasks", 0.0) / seconds if seconds else 0.0,
        "job_latency_p50": percentile(latencies, 0.5),
        "job_latency_p95": percentile(latencies, 0.95),
        "job_latency_p99": percentile(latencies, 0.99),
        "queue_wait": {k: metrics.get("celerity_task_queue_wait_seconds", {}).get(k) for k in ("p50", "p95", "p99")},
        "run_time": {k: metrics.get("celerity_task_runtime_seconds", {}).get(k) for k in ("p50", "p95", "p99")},
        "lock_wait_p99": metrics.get("celerity_lock_wait_seconds", {}).get("p99"),
        "deadlock_retries": metrics.get("deadlock_retries", 0.0),
        "errors": sum(1 for job in result.jobs if job.status != "succeeded") + metrics.get("task_failures", 0.0),
        "checked_jobs": len(result.jobs),
        "items_lost": sum(job.verdict["lost"] for job in result.jobs),
        "items_duplicated": sum(job.verdict["duplicated"] for job in result.jobs),
        "correct": result.correct,
    }


def _fmt(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.1f} ms" if unit == "s" and value < 1 else f"{value:,.2f} {unit}"


def print_summary(result: RunResult, console: Console | None = None) -> dict[str, Any]:
    figures = summary(result)
    table = Table(title="summary")
    table.add_column("figure")
    table.add_column("value")
    rows = [
        ("items/s", f"{figures['items_per_second']:,.0f}"),
        ("tasks/s", f"{figures['tasks_per_second']:,.0f}"),
        ("job latency p50 / p95 / p99", " / ".join(_fmt(figures[f"job_latency_p{q}"]) for q in (50, 95, 99))),
        ("queue wait p50 / p95 / p99", " / ".join(_fmt(figures["queue_wait"][f"p{q}"]) for q in (50, 95, 99))),
        ("run time p50 / p95 / p99", " / ".join(_fmt(figures["run_time"][f"p{q}"]) for q in (50, 95, 99))),
        ("lock wait p99", _fmt(figures["lock_wait_p99"])),
        ("deadlock retries", f"{figures['deadlock_retries']:.0f}"),
        ("errors", f"{figures['errors']:.0f}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console = console or Console()
    console.print(table)
    verdict = "PASS" if figures["correct"] else "FAIL"
    console.print(
        f"correctness: {verdict}: {figures['checked_jobs']} job sums checked, items lost = {figures['items_lost']}, "
        f"items duplicated = {figures['items_duplicated']}"
    )
    return figures


def write(result: RunResult, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    figures = summary(result)
    results_json = directory / "results.json"
    results_json.write_text(json.dumps({"summary": figures, "run": result.to_json()}, indent=2, default=str))
    report = directory / "report.html"
    report.write_text(_html(result, figures))
    return results_json, report


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _plots(result: RunResult) -> list[tuple[str, str]]:
    plots = []
    t = [s.t for s in result.samples]
    if len(t) > 1:
        rates = [0.0] + [
            max(b.items_done - a.items_done, 0) / max(b.t - a.t, 1e-6)
            for a, b in zip(result.samples, result.samples[1:], strict=False)
        ]
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.plot(t, rates)
        ax.set(xlabel="seconds", ylabel="items/s", title="throughput over time")
        plots.append(("Throughput", _png(fig)))
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.plot(t, [s.backlog for s in result.samples], label="backlog (waiting tasks)")
        ax2 = ax.twinx()
        ax2.step(t, [s.workers for s in result.samples], color="tab:orange", label="workers alive")
        ax.set(xlabel="seconds", ylabel="waiting tasks", title="backlog and replicas over time")
        ax2.set_ylabel("workers")
        plots.append(("Backlog and replicas", _png(fig)))
    if result.jobs:
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.barh([job.label for job in result.jobs], [job.latency_seconds for job in result.jobs])
        ax.set(xlabel="seconds", title="job latency (submit to finished)")
        plots.append(("Job latency", _png(fig)))
    for name, title in (
        ("celerity_task_queue_wait_seconds", "queue wait"),
        ("celerity_task_runtime_seconds", "run time"),
    ):
        buckets = {float(k): v for k, v in (result.metrics.get(name, {}).get("buckets") or {}).items()}
        bounds = sorted(b for b in buckets if b != float("inf"))
        if bounds and buckets.get(float("inf"), 0) > 0:
            counts = [buckets[b] - (buckets[bounds[i - 1]] if i else 0) for i, b in enumerate(bounds)]
            fig, ax = plt.subplots(figsize=(8, 3))
            ax.bar([str(b) for b in bounds], counts)
            ax.set(xlabel="≤ seconds", ylabel="tasks", title=f"task {title} histogram")
            ax.tick_params(axis="x", rotation=60)
            plots.append((f"Task {title}", _png(fig)))
    return plots


def _html(result: RunResult, figures: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(job.label)}</td><td>{job.status}</td><td>{job.latency_seconds:.2f}</td>"
        f"<td>{job.items_per_second:,.0f}</td>"
        f"<td>{'yes' if job.verdict['ok'] else html.escape(job.verdict['reason'])}</td></tr>"
        for job in result.jobs
    )
    plots = "".join(
        f"<h2>{title}</h2><img alt='{title}' src='data:image/png;base64,{data}'>" for title, data in _plots(result)
    )
    verdict = "PASS" if figures["correct"] else "FAIL"
    mean = statistics.fmean([j.items_per_second for j in result.jobs]) if result.jobs else 0
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Celerity load test</title>
<style>body{{font-family:sans-serif;max-width:900px;margin:2em auto}}
td,th{{padding:4px 10px;border-bottom:1px solid #ddd}}</style>
</head><body><h1>Celerity load test: {html.escape(result.scenario)} ({html.escape(result.profile)})</h1>
<p>Target {html.escape(result.target)}. <b>Correctness: {verdict}</b>: {figures["checked_jobs"]} job sums checked,
items lost = {figures["items_lost"]}, items duplicated = {figures["items_duplicated"]}.
Items/s over the run: {figures["items_per_second"]:,.0f} (mean of jobs {mean:,.0f}).</p>
<table><tr><th>job</th><th>status</th><th>latency s</th><th>items/s</th><th>correct</th></tr>{rows}</table>
<pre>{html.escape(json.dumps(figures, indent=2, default=str))}</pre>{plots}</body></html>"""
