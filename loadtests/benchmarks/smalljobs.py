"""Small jobs from concurrent clients (issue #17's "before"): one-item jobs and chords of 10, each client submitting
a job and waiting for its outcome before the next, against bare Celery's `delay().get()` and a bare chord of 10 on
the same Redis (the plain baseline's workers).

A Celerity client waits for its job with `GET /api/jobs/{id}?wait=SECONDS`, polling every `POLL` seconds while the
answer is not final: today's API ignores `wait` and answers at once, so this polls; once the API holds the request
until the job ends, the same client stops polling by itself (`server_waited` says whether any answer was held). A
bare client calls `.get()` on its result (the Redis backend's pub/sub). Every outcome is checked: the job's sum and
count (and every item row audited), the bare result's value.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from celerity_client import Celerity
from loadtests.baseline import app as baseline
from loadtests.benchmarks.baselines import PlainBaseline
from loadtests.benchmarks.sides import look
from loadtests.checking import audit_items, check
from loadtests.figures import percentile
from loadtests.scenarios import JobSpec, expected_sum
from loadtests.target import api_client

POLL = 0.02  # seconds between two GETs of a job that is not final
WAIT = 5  # the `wait` asked of the API (ignored until it supports it)
HELD = 0.5  # an answer that took this long was held by the server
KINDS = {"one-item": JobSpec("chunked", 1, 1), "chord of 10": JobSpec("chord", 10)}


@dataclass
class Batch:
    """One side's batch of small jobs of one kind."""

    system: str
    kind: str
    jobs: int
    seconds: float = 0.0  # the whole batch, first submit to last outcome
    latencies: list[float] = field(default_factory=list)  # client: submit -> outcome in hand, per job
    server: list[float] = field(default_factory=list)  # Celerity: created_at -> finished_at, per job
    wrong: list[str] = field(default_factory=list)
    server_waited: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "kind": self.kind,
            "jobs": self.jobs,
            "done": len(self.latencies),
            "jobs_per_second": len(self.latencies) / self.seconds if self.seconds else 0.0,
            "p50": percentile(self.latencies, 0.5),
            "p99": percentile(self.latencies, 0.99),
            "server_p50": percentile(self.server, 0.5),
            "server_waited": self.server_waited,
            "correct": not self.wrong and len(self.latencies) == self.jobs,
            "wrong": self.wrong[:5],
        }


def parallel(jobs: int, clients: int, one: Callable[[int], None]) -> float:
    """Run `one(i)` for i in 0..jobs-1 from `clients` threads, each taking the next number; the wall time."""
    numbers = iter(range(jobs))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                i = next(numbers, None)
            if i is None:
                return
            one(i)

    threads = [threading.Thread(target=client, name=f"small-{n}") for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def waited(client: Celerity, job_id: str, timeout: float = 120.0, poll: float = POLL) -> tuple[dict[str, Any], bool]:
    """The job's final body, and whether the server held any answer (`wait` supported); `poll` seconds between two
    GETs while it does not."""
    deadline, held = time.monotonic() + timeout, False
    while True:
        asked = time.perf_counter()
        body = look(client, job_id, wait=WAIT)
        if body.get("status") in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            return body, held
        held = held or time.perf_counter() - asked >= HELD
        time.sleep(poll)


def celerity(api_url: str, token: str, database_url: str, kind: str, jobs: int, clients: int) -> Batch:
    spec, batch, lock = KINDS[kind], Batch("celerity", kind, jobs), threading.Lock()
    local = threading.local()
    ids: list[str] = []

    def one(_: int) -> None:
        if not hasattr(local, "client"):
            local.client = api_client(api_url, token)  # a session per thread
        started = time.perf_counter()
        try:
            job_id = spec.submit(local.client)[0]
            body, held = waited(local.client, job_id)
        except Exception as exc:  # a failed request is a wrong job, reported, not a crash
            with lock:
                batch.wrong.append(f"{type(exc).__name__}: {exc}"[:200])
            return
        seconds = time.perf_counter() - started
        verdict = check(spec, body)
        with lock:
            ids.append(job_id)
            batch.server_waited = batch.server_waited or held
            if not verdict.ok:
                batch.wrong.append(verdict.reason)
                return
            batch.latencies.append(seconds)
            created, finished = (datetime.fromisoformat(str(body[k])) for k in ("created_at", "finished_at"))
            batch.server.append((finished - created).total_seconds())

    batch.seconds = parallel(jobs, clients, one)
    for job_id, audit in audit_items(database_url, ids).items():
        if audit.rows != spec.items or audit.unwritten or audit.written_twice:
            batch.wrong.append(f"job {job_id}: {audit}")
    return batch


def bare(side: PlainBaseline, kind: str, jobs: int, clients: int) -> Batch:
    spec, batch, lock = KINDS[kind], Batch(side.name, kind, jobs), threading.Lock()

    def one(i: int) -> None:
        started = time.perf_counter()
        try:
            if spec.workload == "chord":
                expected: Any = [spec.items, expected_sum(spec.items)]
                value = side.chord_of(spec.items, f"small-{i}").apply_async().get(timeout=120)
            else:  # delay().get(), on the queue Celerity's small jobs start on
                expected = i * i
                value = side.sig(baseline.ITEM, i, "small", queue="default").apply_async().get(timeout=120)
        except Exception as exc:  # a failed call is a wrong job, reported, not a crash
            with lock:
                batch.wrong.append(f"{type(exc).__name__}: {exc}"[:200])
            return
        seconds = time.perf_counter() - started
        with lock:
            if value != expected:
                batch.wrong.append(f"got {value}, expected {expected}")
            else:
                batch.latencies.append(seconds)

    batch.seconds = parallel(jobs, clients, one)
    return batch


def ratios(batches: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per kind: Celerity's throughput over bare Celery's and its p50 over bare's, per repeat (the batches in
    order, Celerity's and bare's of a kind alternating), then the median."""
    out: dict[str, dict[str, float | None]] = {}
    for kind in KINDS:
        cel = [b for b in batches if b["kind"] == kind and b["system"] == "celerity"]
        bare_ = [b for b in batches if b["kind"] == kind and b["system"] != "celerity"]
        pairs = [(c, b) for c, b in zip(cel, bare_, strict=False) if c["correct"] and b["correct"]]
        throughput = [c["jobs_per_second"] / b["jobs_per_second"] for c, b in pairs if b["jobs_per_second"]]
        p50 = [c["p50"] / b["p50"] for c, b in pairs if c["p50"] and b["p50"]]
        out[kind] = {
            "throughput": statistics.median(throughput) if throughput else None,
            "p50": statistics.median(p50) if p50 else None,
        }
    return out
