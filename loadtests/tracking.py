"""The jobs of one scenario as last seen through the API, and the stall detector that tells lost work from slow work."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from celerity_client import Celerity, CelerityError
from loadtests.results import Sample
from loadtests.scenarios import JobSpec

FINISHED = ("succeeded", "failed", "cancelled")
MAX_POLLS_PER_TICK = 25


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


class Tracker:
    """The jobs of one scenario, as last seen through the API."""

    def __init__(self, client: Celerity) -> None:
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
            job_id, seconds = spec.submit(self.client)
        except CelerityError as exc:
            self.errors.append(f"submit {spec.label}: {exc}")
            return
        self.add(spec, job_id, at, seconds)

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
                job.body = dict(self.client.job(job.id).raw)
            except CelerityError as exc:
                self.errors.append(f"GET job {job.id}: {exc}")
                continue
            if job.finished:
                job.seen_finished_at = self.now()


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
