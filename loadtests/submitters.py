"""How a scenario's jobs reach the API: one after another (sweep), all at once (burst), or through Locust (rate).

Each submitter is stepped by the run loop between polls and says when it has nothing more to submit.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from celerity_client import CelerityError
from loadtests.locusting import LocustSubmitter
from loadtests.scenarios import JobSpec, Scenario
from loadtests.target import Target, api_client
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
    """A submit on a client of its own (one client holds one HTTP session, which threads do not share)."""
    at = run.now()
    try:
        with api_client(run.client.url, run.client.token) as client:
            job_id, seconds = spec.submit(client)
    except CelerityError as exc:
        run.errors.append(f"submit {spec.label}: {exc}")
        return
    run.add(spec, job_id, at, seconds)
