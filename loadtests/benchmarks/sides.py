"""The two systems under test, doing the same work: Celerity through its API, bare Celery through a canvas.

Both run the work on two pools of two prefork processes (chunk work on `bulk`, chord members on `default`), on the
same Redis (Celerity on DB 0, the baseline on its own DB), one job at a time on an idle broker.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from celery import chain, chord, group
from celery.canvas import xstarmap

import celerity_client
from loadtests import figures
from loadtests.benchmarks.ceiling import RedisLoad
from loadtests.benchmarks.events import EventTap
from loadtests.checking import audit_items, check
from loadtests.promstats import Sources
from loadtests.scenarios import JobSpec, expected_sum

QUEUE = {"chunked": "bulk", "chord": "default"}
JOB_START = "celerity.jobs.job_start"
CANCEL_PROBE_ITEMS = 100_000  # jobs this big are cancelled once more while they start
PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")  # kombu's priority sub-queues (conventions.md)


@dataclass
class Measurement:
    system: str  # celerity | celery
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

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0


def wait_idle(client: redis.Redis, queues: tuple[str, ...] = ("default", "bulk"), timeout: float = 180.0) -> None:
    """Until nothing waits in the queues and nothing is reserved or running (the `unacked` hash is empty)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pipe = client.pipeline(transaction=False)
        for queue in queues:
            for suffix in PRIORITY_SUFFIXES:
                pipe.llen(queue + suffix)
        pipe.hlen("unacked")
        if not sum(pipe.execute()):
            return
        time.sleep(0.1)
    raise TimeoutError(f"the broker did not drain within {timeout:.0f}s")


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
        body = self._until_finished(job_id, timeout)
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
            timing = self.tap.chord("celerity.jobs.item_run", "celerity.jobs.job_chord_record", spec.items)
        return Measurement(
            self.name,
            spec.workload,
            spec.items,
            spec.chunk_size,
            seconds,
            verdict.ok,
            verdict.reason,
            submit_seconds,
            started,
            timing.completion_seconds if timing else None,
            redis_figures,
            figures.by_task(before, self.sources.counters()),
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
        return Measurement(
            self.name,
            spec.workload,
            spec.items,
            spec.chunk_size,
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

    def _until_finished(self, job_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = dict(self.client.job(job_id).raw)
            if body.get("status") in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
                return body
            time.sleep(0.05)


class Baseline:
    name = "celery"

    def __init__(self, broker_url: str, tap: EventTap) -> None:
        from loadtests.baseline import app as baseline

        baseline.app.conf.update(broker_url=broker_url, result_backend=broker_url)
        self.module, self.tap = baseline, tap
        self.broker = redis.Redis.from_url(broker_url)

    def ping(self, timeout: float = 90.0) -> None:
        """One task through each queue: the workers are up and consuming."""
        for queue in ("default", "bulk"):
            self.module.item_square.si(3, "ping").set(queue=queue).apply_async().get(timeout=timeout)

    def run(self, spec: JobSpec, *, timeout: float = 300.0) -> Measurement:
        wait_idle(self.broker)
        load = RedisLoad.read(self.broker)
        self.tap.reset()
        started, clock = time.perf_counter(), time.time()
        canvas, job_id = self.canvas(spec)
        result = canvas.apply_async()
        published = time.perf_counter() - started
        # follow_parents=False: otherwise, for a chord, every poll re-reads every header task's result from Redis to
        # re-raise a header error (celery.result.AsyncResult._maybe_reraise_parent_error): 10,000 GETs every half
        # second kept this process at 100% CPU and starved the workers until the chord of 10,000 timed out.
        parents = {"follow_parents": False} if spec.workload == "chord" else {}  # a GroupResult has no parents
        values = result.get(timeout=timeout, disable_sync_subtasks=False, **parents)
        # The end is when the last callback succeeded (its worker's event), as Celerity's finished_at is written by
        # its last recording task: the client's .get() adds its own result-polling delay, which is not Celery's.
        chunked = spec.workload == "chunked"
        callbacks = len(range(0, spec.items, spec.chunk_size or 100)) if chunked else 1
        end = self.tap.finished(self.module.CHUNK_TOTAL if chunked else self.module.CHORD_TOTAL, callbacks)
        seconds = end - clock if end is not None else time.perf_counter() - started
        pairs = values if spec.workload == "chunked" else [values]
        count, total = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
        ok = (count, total) == (spec.items, expected_sum(spec.items))
        timing = None
        if spec.workload == "chord":
            timing = self.tap.chord(self.module.ITEM, self.module.CHORD_TOTAL, spec.items)
        return Measurement(
            self.name,
            spec.workload,
            spec.items,
            spec.chunk_size,
            seconds,
            ok,
            "ok" if ok else f"count {count}, sum {total} (job {job_id})",
            published,
            None,
            timing.completion_seconds if timing else None,
            RedisLoad.read(self.broker).since(load, seconds),
            header_runtime=timing.header_runtime_mean if timing else None,
        )

    def recover(self) -> None:
        """After a run that did not finish: drop its queued messages and results (its own DB), so that the next run
        starts idle; a task still running finishes into an empty DB."""
        self.broker.flushdb()

    def canvas(self, spec: JobSpec) -> tuple[Any, str]:
        """Celerity's canvas for the workload (services/celerity/jobs/workloads.py), with the baseline's tasks."""
        job_id, queue = str(uuid.uuid4()), QUEUE[spec.workload]
        m = self.module
        if spec.workload == "chord":
            header = [m.item_square.si(i, job_id, 0, 0.0).set(queue=queue) for i in range(spec.items)]
            return chord(header, m.chord_total.s(job_id, spec.chunk_size or 100).set(queue=queue)), job_id
        size = spec.chunk_size or 100
        starts = range(0, spec.items, size)
        parts = [
            chain(
                xstarmap(m.item_square.s(), [(i, job_id, 0, 0.0) for i in range(a, min(a + size, spec.items))]).set(
                    queue=queue
                ),
                m.chunk_total.s(job_id, k).set(queue=queue),
            )
            for k, a in enumerate(starts)
        ]
        return group(parts), job_id

    def publish_only(self, spec: JobSpec) -> Measurement:
        """Build and publish the canvas, the cost a bare-Celery web request pays before it can answer."""
        wait_idle(self.broker)
        started = time.perf_counter()
        canvas, _ = self.canvas(spec)
        canvas.apply_async()
        return Measurement(
            self.name,
            spec.workload,
            spec.items,
            spec.chunk_size,
            0.0,
            True,
            submit_seconds=time.perf_counter() - started,
        )
