"""Run a scenario: submit each job, follow it to the end with a live display, and keep the evidence."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.live import Live
from rich.table import Table

from loadtests import promstats
from loadtests.checking import Verdict, check
from loadtests.client import JobsClient
from loadtests.scenarios import JobSpec


@dataclass
class Sample:
    t: float
    items_done: int
    backlog: float
    workers: float


@dataclass
class JobRun:
    label: str
    workload: str
    items: int
    chunk_size: int | None
    submit_seconds: float
    latency_seconds: float
    items_per_second: float
    status: str
    verdict: dict[str, Any]


@dataclass
class RunResult:
    scenario: str
    profile: str
    target: str
    started: float
    jobs: list[JobRun] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def correct(self) -> bool:
        return bool(self.jobs) and all(job.verdict["ok"] for job in self.jobs)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "correct": self.correct}


def run(
    client: JobsClient, jobs: list[JobSpec], *, scenario: str, profile: str, target: str, metrics_urls: list[str],
    timeout: float = 600.0,
) -> RunResult:  # fmt: skip
    result = RunResult(scenario=scenario, profile=profile, target=target, started=time.time())
    before = promstats.scrape(metrics_urls)
    done_before = 0
    with Live(_table(result, None), refresh_per_second=4, transient=False) as live:
        for spec in jobs:
            t0 = time.monotonic()
            accepted = client.submit(spec.payload())
            submitted = time.monotonic()
            body = accepted
            deadline = submitted + timeout
            while time.monotonic() < deadline:
                body = client.get(accepted["id"])
                snapshot = promstats.scrape(metrics_urls)
                result.samples.append(Sample(
                    t=time.time() - result.started,
                    items_done=done_before + int((body.get("progress") or {}).get("done", 0)),
                    backlog=promstats.total(snapshot, "celerity_queue_depth"),
                    workers=max(promstats.total(snapshot, "celerity_workers_alive") / max(len(metrics_urls), 1), 0),
                ))  # fmt: skip
                live.update(_table(result, (spec, body)))
                if body["status"] in ("succeeded", "failed", "cancelled"):
                    break
                time.sleep(0.25)
            elapsed = time.monotonic() - t0
            verdict: Verdict = check(spec, body)
            result.jobs.append(JobRun(
                label=spec.label, workload=spec.workload, items=spec.items, chunk_size=spec.chunk_size,
                submit_seconds=submitted - t0, latency_seconds=elapsed, items_per_second=spec.items / elapsed,
                status=str(body["status"]), verdict=asdict(verdict),
            ))  # fmt: skip
            done_before += spec.items
            live.update(_table(result, None))
    after = promstats.scrape(metrics_urls)
    result.metrics = _platform_figures(before, after)
    return result


def _platform_figures(before: Any, after: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name in ("celerity_task_queue_wait_seconds", "celerity_task_runtime_seconds", "celerity_lock_wait_seconds"):
        histogram = promstats.delta(promstats.buckets(after, name), promstats.buckets(before, name))
        figures[name] = {
            "buckets": {str(k): v for k, v in sorted(histogram.items())},
            **{f"p{int(q * 100)}": promstats.quantile(q, histogram) for q in (0.5, 0.95, 0.99)},
        }
    tasks = promstats.total(after, "celerity_tasks_total") - promstats.total(before, "celerity_tasks_total")
    figures["tasks"] = tasks
    figures["deadlock_retries"] = promstats.total(after, "celerity_db_retries_total") - promstats.total(
        before, "celerity_db_retries_total"
    )
    figures["task_failures"] = sum(
        v - before.get("celerity_tasks_total", {}).get(k, 0.0)
        for k, v in after.get("celerity_tasks_total", {}).items() if ("outcome", "failed") in k
    )  # fmt: skip
    return figures


def _table(result: RunResult, current: tuple[JobSpec, dict[str, Any]] | None) -> Table:
    table = Table(title=f"celerity loadtest: {result.scenario} ({result.profile})")
    for column in ("job", "status", "done", "latency s", "items/s", "correct"):
        table.add_column(column)
    for job in result.jobs:
        verdict = "yes" if job.verdict["ok"] else f"NO: {job.verdict['reason']}"
        table.add_row(job.label, job.status, str(job.items), f"{job.latency_seconds:.2f}",
                      f"{job.items_per_second:,.0f}", verdict)  # fmt: skip
    if current:
        spec, body = current
        progress = body.get("progress") or {}
        backlog = result.samples[-1].backlog if result.samples else 0
        table.add_row(spec.label, str(body.get("status")), f"{progress.get('done', 0)}/{spec.items}", "", "",
                      f"backlog {backlog:.0f}")  # fmt: skip
    return table
