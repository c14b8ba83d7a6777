"""Run one scenario: submit its jobs (in turn, all at once, or through Locust), follow every job to its end with a
live display, sample the backlog and the workers, scrape the platform's metrics before and after, check each job.

Every loop here is bounded: the scenario's timeout stops the run, unfinished jobs are cancelled and fail the verdict.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.live import Live

from loadtests import figures, live, promstats
from loadtests.checking import Audit, Verdict, audit_items, check
from loadtests.client import ApiError, JobsClient
from loadtests.scenarios import JobSpec, Scenario
from loadtests.target import Target

FINISHED = ("succeeded", "failed", "cancelled")
TICK = 0.25  # seconds between polls
SAMPLE_EVERY = 0.5  # seconds between backlog/worker samples
MAX_POLLS_PER_TICK = 25
SETTLE = 0.5  # seconds between the last job's end and the last scrape
STALL_SECONDS = 30.0  # no progress, nothing queued, nothing running: the platform dropped the work


@dataclass
class Sample:
    t: float
    jobs_done: int
    items_done: int
    items_outstanding: int  # submitted and not yet done, from the API
    backlog: dict[str, float]  # waiting messages per queue (celerity_queue_depth)
    unacked: float  # reserved + running (celerity_queue_unacked)
    workers: dict[str, float]  # live workers per pool (celerity_workers_alive)


@dataclass
class Tracked:
    spec: JobSpec
    id: str
    submitted_at: float  # seconds since the scenario started
    submit_seconds: float
    body: dict[str, Any] = field(default_factory=dict)
    seen_finished_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.body.get("status") in FINISHED

    @property
    def done(self) -> int:
        return int((self.body.get("progress") or {}).get("done", 0))


@dataclass
class JobRun:
    id: str
    label: str
    workload: str
    items: int
    chunk_size: int | None
    submitted_at: float
    submit_seconds: float
    latency_seconds: float  # created → finished on the server's clock (client view if the server gave none)
    start_seconds: float | None  # created → started: the job's set-up before its first task runs
    status: str
    done: int
    verdict: dict[str, Any]

    @property
    def items_per_second(self) -> float:
        return self.items / self.latency_seconds if self.latency_seconds > 0 else 0.0


@dataclass
class ScenarioResult:
    scenario: str
    profile: str
    mode: str
    target: str
    started: float  # unix time
    wall_seconds: float = 0.0
    jobs: list[JobRun] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    platform: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    audited: bool = False
    locust: dict[str, Any] | None = None

    @property
    def correct(self) -> bool:
        return bool(self.jobs) and all(job.verdict["ok"] for job in self.jobs)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "correct": self.correct}


class Submitter(Protocol):
    planned: int  # jobs this submitter will submit (0: not known in advance)

    def step(self, run: Tracker) -> None: ...
    def exhausted(self) -> bool: ...
    def stop(self) -> None: ...


class Tracker:
    """The jobs of one scenario, as last seen through the API."""

    def __init__(self, client: JobsClient) -> None:
        self.client = client
        self.t0 = time.monotonic()
        self.jobs: dict[str, Tracked] = {}
        self.errors: list[str] = []
        self._cursor = 0

    def now(self) -> float:
        return time.monotonic() - self.t0

    def submit(self, spec: JobSpec) -> None:
        at = self.now()
        try:
            accepted, seconds = self.client.submit(spec.payload())
        except ApiError as exc:
            self.errors.append(str(exc))
            return
        self.add(spec, str(accepted["id"]), at, seconds)

    def add(self, spec: JobSpec, job_id: str, at: float, seconds: float) -> None:
        self.jobs[job_id] = Tracked(spec, job_id, at, seconds, {"status": "pending"})

    def unfinished(self) -> list[Tracked]:
        return [job for job in self.jobs.values() if not job.finished]

    def poll(self) -> None:
        """GET up to MAX_POLLS_PER_TICK unfinished jobs, round robin, so a big burst is still followed evenly."""
        pending = self.unfinished()
        if not pending:
            return
        start = self._cursor % len(pending)
        batch = (pending[start:] + pending[:start])[:MAX_POLLS_PER_TICK]
        self._cursor = start + len(batch)
        for job in batch:
            try:
                job.body = self.client.get(job.id)
            except ApiError as exc:
                self.errors.append(str(exc))
                continue
            if job.finished:
                job.seen_finished_at = self.now()


class Sequential:
    """The next job only once the previous one has finished: each job has the platform to itself."""

    def __init__(self, jobs: tuple[JobSpec, ...]) -> None:
        self.queue, self.planned = list(jobs), len(jobs)

    def step(self, run: Tracker) -> None:
        if self.queue and not run.unfinished():
            run.submit(self.queue.pop(0))

    def exhausted(self) -> bool:
        return not self.queue

    def stop(self) -> None:
        self.queue.clear()


class Burst:
    """Every job at once, from parallel connections: a sudden backlog."""

    def __init__(self, jobs: tuple[JobSpec, ...]) -> None:
        self.jobs, self.planned, self.sent = jobs, len(jobs), False

    def step(self, run: Tracker) -> None:
        if not self.sent:
            self.sent = True
            with ThreadPoolExecutor(max_workers=min(8, len(self.jobs))) as pool:
                list(pool.map(lambda spec: _submit_fresh(run, spec), self.jobs))

    def exhausted(self) -> bool:
        return self.sent

    def stop(self) -> None:
        self.sent = True


class Stall:
    """Unfinished jobs that stopped moving while the broker holds nothing for them: their work was lost (a failed
    `job_start`, a purged queue). Only judged when the backlog is known (worker metrics reachable)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.since = 0.0
        self.last: tuple[object, ...] = ()

    def stalled(self, tracker: Tracker, sample: Sample) -> bool:
        state = tuple((job.id, job.body.get("status"), job.done) for job in tracker.jobs.values())
        idle = bool(sample.workers) and not sum(sample.backlog.values()) and not sample.unacked
        if state != self.last or not idle or not tracker.unfinished():
            self.since, self.last = tracker.now(), state
            return False
        return tracker.now() - self.since > self.seconds


def _submit_fresh(run: Tracker, spec: JobSpec) -> None:
    """A POST on its own connection (requests' Session is not shared across threads)."""
    client = JobsClient(run.client.base_url, "", timeout=run.client.timeout)
    client.session.headers.update(run.client.session.headers)
    at = run.now()
    try:
        accepted, seconds = client.submit(spec.payload())
    except ApiError as exc:
        run.errors.append(str(exc))
        return
    run.add(spec, str(accepted["id"]), at, seconds)


def run(
    client: JobsClient,
    scenario: Scenario,
    target: Target,
    *,
    name: str,
    profile: str,
    console: Console | None = None,
    workdir: Path | None = None,
) -> ScenarioResult:
    result = ScenarioResult(name, profile, scenario.mode, target.api_url, started=time.time())
    submitter = _submitter(scenario, target, workdir or Path("."))
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
                    tracker.errors.append(f"stalled: {len(tracker.unfinished())} jobs made no progress for "
                                          f"{stall.seconds:.0f}s with nothing queued or running")  # fmt: skip
                    break
                time.sleep(TICK)
            result.samples.append(_sample(tracker, target))
            display.update(live.render(name, profile, tracker, submitter.planned, result.samples))
    finally:
        submitter.stop()
        for job in tracker.unfinished():
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


def _submitter(scenario: Scenario, target: Target, workdir: Path) -> Submitter:
    if scenario.mode == "sweep":
        return Sequential(scenario.jobs)
    if scenario.mode == "burst":
        return Burst(scenario.jobs)
    from loadtests.locusting import LocustSubmitter

    return LocustSubmitter(scenario, target, workdir)


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
    )  # fmt: skip


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
        id=job.id, label=job.spec.label, workload=job.spec.workload, items=job.spec.items,
        chunk_size=job.spec.chunk_size, submitted_at=round(job.submitted_at, 3), submit_seconds=job.submit_seconds,
        latency_seconds=_seconds(job.body, "created_at", "finished_at") or max(client_view, 0.0),
        start_seconds=_seconds(job.body, "created_at", "started_at"), status=str(job.body.get("status")),
        done=job.done, verdict=asdict(verdict),
    )  # fmt: skip
