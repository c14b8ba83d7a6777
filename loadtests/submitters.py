"""How a scenario's jobs reach the API: one after another (sweep), all at once (burst), or through Locust (rate).

Each submitter is stepped by the run loop between polls and says when it has nothing more to submit.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from loadtests.client import ApiError, JobsClient
from loadtests.locusting import LocustSubmitter
from loadtests.scenarios import JobSpec, Scenario
from loadtests.target import Target
from loadtests.tracking import Tracker


class Submitter(Protocol):
    planned: int  # jobs this submitter will submit (0: not known in advance)

    def step(self, run: Tracker) -> None: ...
    def exhausted(self) -> bool: ...
    def stop(self) -> None: ...


def submitter_for(scenario: Scenario, target: Target, workdir: Path) -> Submitter:
    if scenario.mode == "sweep":
        return Sequential(scenario.jobs)
    if scenario.mode == "burst":
        return Burst(scenario.jobs)
    return LocustSubmitter(scenario, target, workdir)


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
