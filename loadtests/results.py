"""What a scenario run produced: samples over time, one record per job, and the scenario's result as results.json
holds it. Plain data, so that the run loop, the figures, the plots and the report all read the same records."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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
