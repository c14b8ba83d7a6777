"""The figures of a run: from the jobs the client followed, and from the platform's own metrics (bucket deltas)."""

from __future__ import annotations

import math
from typing import Any

from loadtests import promstats
from loadtests.results import ScenarioResult

QUANTILES = (0.5, 0.95, 0.99)
HISTOGRAMS = {
    "queue_wait": "celerity_task_queue_wait_seconds",  # publish -> start (docs/metrics.md)
    "run_time": "celerity_task_runtime_seconds",
    "lock_wait": "celerity_lock_wait_seconds",
}


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _quantiles(histogram: promstats.Buckets) -> dict[str, float | None]:
    return {f"p{round(q * 100)}": promstats.quantile(q, histogram) for q in QUANTILES}


def platform(before: promstats.Snapshot, after: promstats.Snapshot) -> dict[str, Any]:
    """What the platform measured during the run; {"available": False} when no metrics could be read."""
    if not after:
        return {"available": False}
    out: dict[str, Any] = {"available": True}
    for key, metric in HISTOGRAMS.items():
        histogram = promstats.delta(promstats.buckets(after, metric), promstats.buckets(before, metric))
        out[key] = {
            "count": histogram.get(math.inf, 0.0),
            "buckets": {str(bound): count for bound, count in sorted(histogram.items())},
            **_quantiles(histogram),
        }
    out["by_task"] = by_task(before, after)
    out["tasks"] = promstats.increase(after, before, "celerity_tasks_total")
    out["task_failures"] = promstats.increase(after, before, "celerity_tasks_total", outcome="failed")
    out["deadlock_retries"] = promstats.increase(after, before, "celerity_db_retries_total", reason="deadlock")
    out["db_retries"] = promstats.increase(after, before, "celerity_db_retries_total")
    out["db_retries_exhausted"] = promstats.increase(after, before, "celerity_db_retries_exhausted_total")
    out["items_processed"] = promstats.increase(after, before, "celerity_items_processed_total")
    return out


def by_task(before: promstats.Snapshot, after: promstats.Snapshot) -> dict[str, dict[str, float | None]]:
    """Per task name: how many ran, mean and p99 queue wait and run time."""
    names = {dict(key).get("task", "") for key in after.get("celerity_task_runtime_seconds_count", {})}
    out: dict[str, dict[str, float | None]] = {}
    for name in sorted(names):
        row: dict[str, float | None] = {}
        for key, metric in (("queue_wait", HISTOGRAMS["queue_wait"]), ("run_time", HISTOGRAMS["run_time"])):
            count = promstats.increase(after, before, f"{metric}_count", task=name)
            seconds = promstats.increase(after, before, f"{metric}_sum", task=name)
            histogram = promstats.delta(
                promstats.buckets(after, metric, task=name), promstats.buckets(before, metric, task=name)
            )
            row[f"{key}_count"] = count
            row[f"{key}_mean"] = seconds / count if count else None
            row[f"{key}_p99"] = promstats.quantile(0.99, histogram)
        if row["run_time_count"]:
            out[name] = row
    return out


def summary(result: ScenarioResult) -> dict[str, Any]:
    jobs = result.jobs
    latencies = [job.latency_seconds for job in jobs if job.status in ("succeeded", "failed")]
    submits = [job.submit_seconds for job in jobs]
    starts = [job.start_seconds for job in jobs if job.start_seconds is not None]
    items = sum(job.items for job in jobs)
    wall = result.wall_seconds
    p = result.platform
    available = bool(p.get("available"))
    unfinished_or_failed = sum(1 for job in jobs if job.status != "succeeded")
    samples = result.samples
    return {
        "jobs": len(jobs),
        "items": items,
        "wall_seconds": wall,
        "items_per_second": items / wall if wall > 0 else 0.0,
        "tasks": p.get("tasks") if available else None,
        "tasks_per_second": p["tasks"] / wall if available and wall > 0 else None,
        "job_latency": {f"p{round(q * 100)}": percentile(latencies, q) for q in QUANTILES},
        "submit_latency": {f"p{round(q * 100)}": percentile(submits, q) for q in QUANTILES},
        "start_latency": {f"p{round(q * 100)}": percentile(starts, q) for q in QUANTILES},
        "queue_wait": {k: v for k, v in p.get("queue_wait", {}).items() if k.startswith("p")},
        "run_time": {k: v for k, v in p.get("run_time", {}).items() if k.startswith("p")},
        "lock_wait_p99": p.get("lock_wait", {}).get("p99"),
        "deadlock_retries": p.get("deadlock_retries"),
        "db_retries": p.get("db_retries"),
        "errors": len(result.errors) + unfinished_or_failed + int(p.get("task_failures") or 0),
        "error_messages": result.errors[:20],
        "peak_backlog": max((sum(s.backlog.values()) for s in samples), default=0.0),
        "peak_workers": max((sum(s.workers.values()) for s in samples), default=0.0),
        "checked_jobs": len(jobs),
        "jobs_correct": sum(1 for job in jobs if job.verdict["ok"]),
        "items_lost": sum(int(job.verdict["lost"]) for job in jobs),
        "items_duplicated": sum(int(job.verdict["duplicated"]) for job in jobs),
        "audited": result.audited,
        "correct": result.correct,
    }
