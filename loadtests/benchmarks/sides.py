"""Celerity, the system under test, through its API; what every side's run measures (`Measurement`); an idle broker.

Every side runs the work on two pools of two prefork processes (chunk work on `bulk`, chord members on `default`), on
the same Redis (Celerity on DB 0, each baseline on a DB of its own: `baselines.py`), one job at a time on an idle
broker.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from kombu.transport.redis import PRIORITY_STEPS, Channel

import celerity_client
from loadtests import figures
from loadtests.benchmarks.ceiling import RedisLoad
from loadtests.benchmarks.events import EventTap
from loadtests.checking import audit_items, check
from loadtests.promstats import Sources
from loadtests.scenarios import JobSpec

QUEUE = {"chunked": "bulk", "chord": "default"}
CANCEL_PROBE_ITEMS = 100_000  # jobs this big are cancelled once more while they start
FINAL = ("succeeded", "failed", "cancelled")
FOLLOW = 0.25  # seconds between two GETs of a job whose time the server measures
# Celerity's task names (services/celerity/jobs/canvases/names.py): the bench process has no Django, and that
# package's __init__ loads its Django-bound modules, so the names are written here again; a test checks they agree.
JOB_START = "celerity.jobs.job_start"
CHORD_MEMBER, CHORD_BODY = "celerity.jobs.item_run", "celerity.jobs.job_chord_record"


def queue_keys(queue: str) -> list[str]:
    """The lists holding a queue's waiting messages: kombu's priority sub-queues, named as its `_q_for_pri` does."""
    return [queue if step == 0 else f"{queue}{Channel.sep}{step}" for step in PRIORITY_STEPS]


@dataclass
class Measurement:
    system: str  # celerity | celery (the canvas form) | plain (bare Celery written the plain way)
    workload: str  # chunked | chord
    items: int
    chunk_size: int | None
    seconds: float  # submit -> result
    correct: bool
    detail: str = "ok"
    submit_seconds: float | None = None  # Celerity: the POST; Celery: building and publishing the canvas
    start_seconds: float | None = None  # Celerity: created -> started (a worker picked up `job_start`)
    chord_completion: float | None = None  # last header task succeeded -> callback succeeded
    redis: dict[str, float] = field(default_factory=dict)
    tasks: dict[str, dict[str, float | None]] = field(default_factory=dict)  # Celerity's per-task figures
    setup_seconds: float | None = None  # Celerity: `job_start`'s run time (item rows, canvas built and published)
    header_runtime: float | None = None  # chord: mean run time of a header task (task-succeeded events)
    first_chunk_seconds: float | None = None  # Celerity: created -> the job's first chunk task started
    probe_submit_p99: float | None = None  # Celerity: p99 of small POSTs sent while the big job was starting
    probe_submits: int = 0
    cancel_seconds: float | None = None  # Celerity: a cancel sent while a job of this size was starting
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process role during the run (cpu.py)
    redis_commands: dict[str, int] = field(default_factory=dict)  # Redis commands served during the run, by name

    @classmethod
    def of(cls, system: str, spec: JobSpec, seconds: float, ok: bool, detail: str, **figures: Any) -> Measurement:
        """One run of `spec` on `system`: every side builds its measurement here, the figures it has by name."""
        return cls(system, spec.workload, spec.items, spec.chunk_size, seconds, ok, detail, **figures)

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0


def wait_idle(client: redis.Redis, queues: tuple[str, ...] = ("default", "bulk"), timeout: float = 180.0) -> None:
    """Until nothing waits in the queues and nothing is reserved or running (the `unacked` hash is empty)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pipe = client.pipeline(transaction=False)
        for key in (key for queue in queues for key in queue_keys(queue)):
            pipe.llen(key)
        pipe.hlen("unacked")
        if not sum(pipe.execute()):
            return
        time.sleep(0.1)
    raise TimeoutError(f"the broker did not drain within {timeout:.0f}s")


def look(client: celerity_client.Celerity, job_id: str, *, wait: int | None = None) -> dict[str, Any]:
    """`GET /api/jobs/{id}` as the API answered it; with `wait` (whole seconds), asking the API to hold the answer
    until the job ends (an API without `wait` ignores it and answers at once). One look, never a backoff: the bench
    times jobs, so it chooses its own intervals (celerity_client's `wait()` backs off up to 2 s between looks)."""
    timeout = client.transport.timeout + (wait or 0)
    answer, _ = client.transport.request("GET", f"/api/jobs/{job_id}", params={"wait": wait}, timeout=timeout)
    return dict(answer)


def _parse(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _p99(values: list[float]) -> float | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else None


class Celerity:
    name = "celerity"

    def __init__(
        self, client: celerity_client.Celerity, broker: redis.Redis, sources: Sources, database_url: str, tap: EventTap
    ):
        self.client, self.broker, self.sources, self.database_url, self.tap = client, broker, sources, database_url, tap

    def run(self, spec: JobSpec, *, timeout: float = 300.0) -> Measurement:
        wait_idle(self.broker)
        before, load = self.sources.counters(), RedisLoad.read(self.broker)
        self.tap.reset()
        job_id, submit_seconds = spec.submit(self.client)
        body = self.until_finished(job_id, timeout)
        seconds = (
            (_parse(body["finished_at"]) - _parse(body["created_at"])).total_seconds()
            if body.get("finished_at")
            else float("inf")
        )
        started = (
            (_parse(body["started_at"]) - _parse(body["created_at"])).total_seconds()
            if body.get("started_at")
            else None
        )
        redis_figures = RedisLoad.read(self.broker).since(load, seconds)
        audit = audit_items(self.database_url, [job_id]).get(job_id)
        verdict = check(spec, body, audit)
        timing = None
        if spec.workload == "chord":
            timing = self.tap.chord(CHORD_MEMBER, CHORD_BODY, spec.items)
        return Measurement.of(
            self.name,
            spec,
            seconds,
            verdict.ok,
            verdict.reason,
            submit_seconds=submit_seconds,
            start_seconds=started,
            chord_completion=timing.completion_seconds if timing else None,
            redis=redis_figures,
            tasks=figures.by_task(before, self.sources.counters()),
            header_runtime=timing.header_runtime_mean if timing else None,
        )

    def submit_only(self, spec: JobSpec, *, timeout: float = 300.0) -> Measurement:
        """POST, then until the job's first chunk runs and `job_start` has finished, keep POSTing one-item jobs (is
        the API responsive while a big job starts?); then cancel it. For big jobs, a second job of the same size is
        cancelled while its `job_start` runs: how long the cancel takes, and that the job ends `cancelled`."""
        wait_idle(self.broker)
        self.tap.reset()
        job_id, submit_seconds = spec.submit(self.client)
        deadline, probes = time.monotonic() + timeout, []
        start_task = setup = first = None
        while (setup is None or first is None) and time.monotonic() < deadline:
            probes.append(JobSpec("map", 1).submit(self.client)[1])
            time.sleep(0.05)
            start_task = start_task or self.tap.sent_with(JOB_START, job_id)
            setup = self.tap.runtime(start_task) if start_task else None
            first = first or self.tap.started_at(f"{job_id}-c0")
        body = dict(self.client.job(job_id).raw)
        self._cancel(job_id)
        created = _parse(body["created_at"]).timestamp()
        started = (_parse(body["started_at"]).timestamp() - created) if body.get("started_at") else None
        cancel_seconds, cancelled = (
            self._cancel_while_starting(spec) if spec.items >= CANCEL_PROBE_ITEMS else (None, True)
        )
        ok = setup is not None and first is not None and cancelled
        why = (
            "ok"
            if ok
            else f"job_start finished: {setup is not None}, first chunk ran: {first is not None}, "
            f"cancel during start ended cancelled: {cancelled}"
        )
        return Measurement.of(
            self.name,
            spec,
            0.0,
            ok,
            why,
            submit_seconds=submit_seconds,
            start_seconds=started,
            setup_seconds=setup,
            first_chunk_seconds=None if first is None else first - created,
            probe_submit_p99=_p99(probes),
            probe_submits=len(probes),
            cancel_seconds=cancel_seconds,
        )

    def _cancel_while_starting(self, spec: JobSpec, timeout: float = 60.0) -> tuple[float | None, bool]:
        wait_idle(self.broker)
        self.tap.reset()
        job_id = spec.submit(self.client)[0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            start_task = self.tap.sent_with(JOB_START, job_id)
            if start_task and self.tap.started_at(start_task):
                break
            time.sleep(0.01)
        if self.tap.runtime(start_task or "") is not None:
            return None, False  # job_start had already finished: this was no cancel during start
        started = time.perf_counter()
        self._cancel(job_id)
        seconds = time.perf_counter() - started
        return seconds, self.client.job(job_id).status == "cancelled"

    def recover(self) -> None:
        """After a run that did not finish: cancel whatever still runs, so that the next run starts idle."""
        with contextlib.suppress(Exception):  # best effort: the next run's wait_idle says if it did not work
            for job in list(self.client.jobs(status="running", limit=100)):
                self._cancel(job.id)

    def _cancel(self, job_id: str) -> None:
        with contextlib.suppress(celerity_client.CelerityError):  # best effort: it may have finished meanwhile
            self.client.cancel(job_id)

    def until_finished(self, job_id: str, timeout: float) -> dict[str, Any]:
        """The job's final body. Its time is the server's (`created_at → finished_at`), so the client asks seldom
        (`FOLLOW`): each GET costs the web some CPU on the cores the workers share (every 50 ms, 1.8 ms of web CPU
        per chunk of a chunked job); with `wait` the API may hold each answer up to a second."""
        deadline = time.monotonic() + timeout
        while True:
            body = look(self.client, job_id, wait=1)
            if body.get("status") in FINAL or time.monotonic() > deadline:
                return body
            time.sleep(FOLLOW)
