"""Run one scenario: submit its jobs (in turn, all at once, or through Locust), follow every job to its end with a
live display, sample the backlog and the workers, scrape the platform's metrics before and after, check each job.

Every loop here is bounded: the scenario's timeout stops the run, unfinished jobs are cancelled and fail the verdict.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from celerity_client import Celerity, CelerityError
from loadtests import figures, live, promstats
from loadtests.checking import Audit, Verdict, audit_items, check
from loadtests.results import JobRun, Sample, ScenarioResult
from loadtests.scenarios import Scenario
from loadtests.submitters import submitter_for
from loadtests.target import Target
from loadtests.tracking import Stall, Tracked, Tracker

TICK = 0.25  # seconds between polls
SAMPLE_EVERY = 0.5  # seconds between backlog/worker samples
SETTLE = 0.5  # seconds between the last job's end and the last scrape
STALL_SECONDS = 30.0  # no progress, nothing queued, nothing running: the platform dropped the work


def run(
    client: Celerity,
    scenario: Scenario,
    target: Target,
    *,
    name: str,
    profile: str,
    console: Console | None = None,
    workdir: Path | None = None,
) -> ScenarioResult:
    result = ScenarioResult(name, profile, scenario.mode, target.api_url, started=time.time())
    submitter = submitter_for(scenario, target, workdir or Path("."))
    tracker = Tracker(client)
    before = target.metrics.counters()
    last_sample = -SAMPLE_EVERY
    deadline = scenario.timeout
    stall = Stall(min(STALL_SECONDS, scenario.timeout / 4))
    try:
        with Live(console=console or Console(), refresh_per_second=4, transient=False) as display:
            while True:
                submitter.step(tracker)
                tracker.poll()
                if tracker.now() - last_sample >= SAMPLE_EVERY:
                    last_sample = tracker.now()
                    result.samples.append(_sample(tracker, target))
                display.update(live.render(name, profile, tracker, submitter.planned, result.samples))
                if submitter.exhausted() and not tracker.unfinished():
                    break
                if tracker.now() > deadline:
                    tracker.errors.append(f"timeout: {len(tracker.unfinished())} jobs unfinished after {deadline:.0f}s")
                    break
                if stall.stalled(tracker, result.samples[-1]):
                    tracker.errors.append(
                        f"stalled: {len(tracker.unfinished())} jobs made no progress for "
                        f"{stall.seconds:.0f}s with nothing queued or running"
                    )
                    break
                time.sleep(TICK)
            result.samples.append(_sample(tracker, target))
            display.update(live.render(name, profile, tracker, submitter.planned, result.samples))
    finally:
        submitter.stop()
        for job in tracker.unfinished():
            with contextlib.suppress(CelerityError):  # best effort: it may have finished meanwhile
                client.cancel(job.id)  # leave the platform idle for whatever runs next
    jobs = tracker.jobs.values()
    if jobs:  # first submission to last finish: Locust's start-up is not part of the run
        last = max(j.seen_finished_at or tracker.now() for j in jobs)
        result.wall_seconds = last - min(j.submitted_at for j in jobs)
    if target.metrics.urls or target.metrics.dirs:
        time.sleep(SETTLE)  # the last task observes its run time after its job is already finished
    result.platform = figures.platform(before, target.metrics.counters())
    result.errors = tracker.errors
    result.locust = getattr(submitter, "stats", None)
    if result.locust and result.locust.get("failures"):
        result.errors.append(f"locust: {result.locust['failures']} of {result.locust['requests']} POSTs failed")
    audits = _audit(target, list(tracker.jobs), result.errors)
    result.audited = audits is not None
    for job in sorted(tracker.jobs.values(), key=lambda j: j.submitted_at):
        result.jobs.append(_job_run(job, check(job.spec, job.body, (audits or {}).get(job.id))))
    return result


def _sample(tracker: Tracker, target: Target) -> Sample:
    snapshots = target.metrics.gauges()
    jobs = list(tracker.jobs.values())
    open_jobs = [job for job in jobs if not job.finished]
    return Sample(
        t=round(tracker.now(), 3),
        jobs_done=len(jobs) - len(open_jobs),
        items_done=sum(job.done for job in jobs),
        items_outstanding=sum(job.spec.items - job.done for job in open_jobs),
        backlog=promstats.gauge(snapshots, "celerity_queue_depth", "queue"),
        unacked=sum(promstats.gauge(snapshots, "celerity_queue_unacked", "queue").values()),
        workers=promstats.gauge(snapshots, "celerity_workers_alive", "pool"),
    )


def _audit(target: Target, job_ids: list[str], errors: list[str]) -> dict[str, Audit] | None:
    if not target.database_url:
        return None
    try:
        return audit_items(target.database_url, job_ids)
    except Exception as exc:  # an unreachable database means no audit, not a failed run; say so
        errors.append(f"database audit unavailable: {exc}")
        return None


def _seconds(body: dict[str, Any], start: str, end: str) -> float | None:
    parse: Callable[[str], datetime] = datetime.fromisoformat
    if body.get(start) and body.get(end):
        return (parse(str(body[end])) - parse(str(body[start]))).total_seconds()
    return None


def _job_run(job: Tracked, verdict: Verdict) -> JobRun:
    client_view = (job.seen_finished_at or 0.0) - job.submitted_at
    return JobRun(
        id=job.id,
        label=job.spec.label,
        workload=job.spec.workload,
        items=job.spec.items,
        chunk_size=job.spec.chunk_size,
        submitted_at=round(job.submitted_at, 3),
        submit_seconds=job.submit_seconds,
        latency_seconds=_seconds(job.body, "created_at", "finished_at") or max(client_view, 0.0),
        start_seconds=_seconds(job.body, "created_at", "started_at"),
        status=str(job.body.get("status")),
        done=job.done,
        verdict=asdict(verdict),
    )
