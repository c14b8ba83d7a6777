"""What each scenario submits, per profile. Every job squares 0..N-1, so each job can be checked on its own.

- **chunked** sweeps the chunk size, one job at a time, so each job's items/s is its own.
- **chord** sweeps the chord header width, one job at a time.
- **burst** submits every job at once across both pools (chunk work on `bulk`, chords on `default`), with simulated
  per-item cost, so a backlog builds up and the autoscaler (local) or the operator (Kubernetes) has to act.
- **mixed** lets Locust submit small jobs of every workload at a steady rate; the runner follows and checks them.

Profiles: `tiny` (the tests), `short` (the default, about a minute per scenario on 2 cores), `full`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from celerity_client import Celerity

Mode = Literal["sweep", "burst", "rate"]


@dataclass(frozen=True)
class JobSpec:
    workload: str
    items: int
    chunk_size: int | None = None
    item_cost_ms: int = 0
    queue: str | None = None

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"workload": self.workload, "items": self.items}
        if self.chunk_size:
            body["chunk_size"] = self.chunk_size
        if self.item_cost_ms:
            body["item_cost_ms"] = self.item_cost_ms
        if self.queue:
            body["queue"] = self.queue
        return body

    def submit(self, client: Celerity) -> tuple[str, float]:
        """Submit the job: its id, and how long the submit took (the API's latency as a client sees it)."""
        started = time.perf_counter()
        submitted = client.submit(
            self.workload,
            self.items,
            chunk_size=self.chunk_size or None,
            queue=self.queue or None,
            item_cost_ms=self.item_cost_ms or None,
        )
        return submitted.id, time.perf_counter() - started

    @classmethod
    def from_payload(cls, body: dict[str, Any]) -> JobSpec:
        return cls(
            workload=str(body["workload"]),
            items=int(body["items"]),
            chunk_size=body.get("chunk_size"),
            item_cost_ms=int(body.get("item_cost_ms", 0)),
            queue=body.get("queue"),
        )

    @property
    def label(self) -> str:
        label = f"{self.workload} n={self.items}"
        if self.chunk_size:
            label += f" chunk={self.chunk_size}"
        if self.item_cost_ms:
            label += f" cost={self.item_cost_ms}ms"
        return label


@dataclass(frozen=True)
class Scenario:
    """`jobs` are submitted in order (sweep), all at once (burst) or, for `rate`, drawn in turn by Locust."""

    mode: Mode
    jobs: tuple[JobSpec, ...]
    rate: float = 0.0  # jobs per second (rate mode)
    duration: float = 0.0  # seconds Locust submits for (rate mode)
    max_jobs: int = 0  # and at most this many jobs (rate mode)
    timeout: float = 300.0  # every job must be finished this long after the first submission
    params: dict[str, Any] = field(default_factory=dict)


def _sweep(*jobs: JobSpec, timeout: float = 300.0) -> Scenario:
    return Scenario("sweep", jobs, timeout=timeout)


_MIX = (
    JobSpec("chunked", 2000, 100),
    JobSpec("chord", 200),
    JobSpec("group", 300, 50),
    JobSpec("map", 1000, 100),
    JobSpec("starmap", 1000, 100),
    JobSpec("chain", 200, 50),
)

SCENARIOS: dict[str, dict[str, Scenario]] = {
    "chunked": {
        "tiny": _sweep(JobSpec("chunked", 200, 20), JobSpec("chunked", 200, 100), timeout=60),
        "short": _sweep(*(JobSpec("chunked", 20_000, size) for size in (20, 100, 500, 2000))),
        "full": _sweep(*(JobSpec("chunked", 200_000, size) for size in (20, 100, 500, 2000, 10_000)), timeout=1200),
    },
    "chord": {
        "tiny": _sweep(JobSpec("chord", 50), JobSpec("chord", 100), timeout=60),
        "short": _sweep(*(JobSpec("chord", width) for width in (10, 100, 1000, 3000))),
        "full": _sweep(*(JobSpec("chord", width) for width in (10, 100, 1000, 10_000, 50_000)), timeout=1800),
    },
    "burst": {
        "tiny": Scenario(
            "burst",
            (JobSpec("chunked", 300, 30, 1), JobSpec("chunked", 300, 30, 1), JobSpec("chord", 60, item_cost_ms=1)),
            timeout=60,
        ),
        "short": Scenario(
            "burst", (*[JobSpec("chunked", 4000, 40, 2)] * 6, *[JobSpec("chord", 500, item_cost_ms=2)] * 2)
        ),
        "full": Scenario(
            "burst",
            (*[JobSpec("chunked", 20_000, 50, 2)] * 12, *[JobSpec("chord", 2000, item_cost_ms=2)] * 4),
            timeout=1200,
        ),
    },
    "mixed": {
        "tiny": Scenario("rate", _MIX[:3], rate=2.0, duration=3.0, max_jobs=4, timeout=60),
        "short": Scenario("rate", _MIX, rate=1.0, duration=30.0, max_jobs=30),
        "full": Scenario("rate", _MIX, rate=3.0, duration=300.0, max_jobs=900, timeout=900),
    },
}
PROFILES = ("tiny", "short", "full")


def expected_sum(items: int) -> int:
    """Σ i² for i in 0..items-1."""
    return (items - 1) * items * (2 * items - 1) // 6
