"""The bare-Celery sides, doing Celerity's work on the same Redis, each in a DB of its own:

- `CanvasBaseline` ("celery"): Celerity's canvases with the baseline's tasks, on workers configured like Celerity's
  (`loadtests/baseline/app.py`, profile `celerity`): chunked work as a group of `chain(xstarmap(item, chunk), total)`
  (two messages and two task starts per chunk, every item's arguments in the message), and the chord;
- `PlainBaseline` ("plain"): chunked work written the plain way, one task per chunk that squares its items and
  returns their count and sum, published as a group, the results in hand, on workers configured as fast as a
  bare-Celery user would reasonably make them (profile `plain`); and the small jobs, `delay().get()` and a chord.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import Any

import redis
from celery import chain, chord, group
from celery.canvas import Signature, xstarmap

from loadtests.baseline import app as baseline
from loadtests.benchmarks.ceiling import RedisLoad
from loadtests.benchmarks.events import EventTap
from loadtests.benchmarks.sides import QUEUE, Measurement, wait_idle
from loadtests.scenarios import JobSpec, expected_sum


def _sums(pairs: list[list[int]]) -> tuple[int, int]:
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


class _Bare:
    """What both bare sides share: a client app on the side's own DB, its broker, a ping, and recovery."""

    name = "bare"
    profile = "celerity"

    def __init__(self, broker_url: str, overrides: dict[str, Any] | None = None, name: str | None = None) -> None:
        self.broker_url = broker_url
        self.app = baseline.client(broker_url, self.profile, overrides)
        self.name = name or self.name
        self.broker = redis.Redis.from_url(broker_url)

    def sig(self, name: str, *args: Any, queue: str) -> Signature:
        return self.app.signature(name, args=args).set(queue=queue)

    def ping(self, timeout: float = 90.0, queues: tuple[str, ...] = ("default", "bulk")) -> None:
        """One task through each queue: the workers are up and consuming."""
        for queue in queues:
            self.sig(baseline.ITEM, 3, "ping", queue=queue).apply_async().get(timeout=timeout)

    def recover(self) -> None:
        """After a run that did not finish: drop its queued messages and results (its own DB), so that the next run
        starts idle; a task still running finishes into an empty DB."""
        self.broker.flushdb()

    def chord_of(self, width: int, job_id: str, queue: str = "default") -> Any:
        header = [self.sig(baseline.ITEM, i, job_id, 0, 0.0, queue=queue) for i in range(width)]
        return chord(header, self.sig(baseline.CHORD_TOTAL, job_id, 100, queue=queue))


class CanvasBaseline(_Bare):
    name = "celery"
    profile = "celerity"

    def __init__(self, broker_url: str, tap: EventTap) -> None:
        super().__init__(broker_url)
        self.tap = tap

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
        end = self.tap.finished(baseline.CHUNK_TOTAL if chunked else baseline.CHORD_TOTAL, callbacks)
        seconds = end - clock if end is not None else time.perf_counter() - started
        count, total = _sums(values if chunked else [values])
        ok = (count, total) == (spec.items, expected_sum(spec.items))
        timing = self.tap.chord(baseline.ITEM, baseline.CHORD_TOTAL, spec.items) if not chunked else None
        return Measurement.of(
            self.name,
            spec,
            seconds,
            ok,
            "ok" if ok else f"count {count}, sum {total} (job {job_id})",
            submit_seconds=published,
            chord_completion=timing.completion_seconds if timing else None,
            redis=RedisLoad.read(self.broker).since(load, seconds),
            header_runtime=timing.header_runtime_mean if timing else None,
        )

    def canvas(self, spec: JobSpec) -> tuple[Any, str]:
        """Celerity's canvas for the workload (services/celerity/jobs/canvases/), with the baseline's tasks."""
        job_id, queue = str(uuid.uuid4()), QUEUE[spec.workload]
        if spec.workload == "chord":
            return self.chord_of(spec.items, job_id, queue), job_id
        size = spec.chunk_size or 100
        item = self.sig(baseline.ITEM, queue=queue)
        parts = [
            chain(
                xstarmap(item, [(i, job_id, 0, 0.0) for i in range(a, min(a + size, spec.items))], app=self.app).set(
                    queue=queue
                ),
                self.sig(baseline.CHUNK_TOTAL, job_id, k, queue=queue),
            )
            for k, a in enumerate(range(0, spec.items, size))
        ]
        return group(parts), job_id

    def publish_only(self, spec: JobSpec) -> Measurement:
        """Build and publish the canvas, the cost a bare-Celery web request pays before it can answer."""
        wait_idle(self.broker)
        started = time.perf_counter()
        canvas, _ = self.canvas(spec)
        canvas.apply_async()
        return Measurement.of(self.name, spec, 0.0, True, "ok", submit_seconds=time.perf_counter() - started)


class PlainBaseline(_Bare):
    name = "plain"
    profile = "plain"

    def chunks(self, spec: JobSpec, queue: str = "bulk") -> Any:
        size = spec.chunk_size or 100
        bounds = [(a, min(a + size, spec.items)) for a in range(0, spec.items, size)]
        return group(self.sig(baseline.CHUNK, a, b, spec.item_cost_ms, queue=queue) for a, b in bounds)

    def run(self, spec: JobSpec, *, timeout: float = 300.0) -> Measurement:
        """Chunked work as a group of plain chunk tasks; the end is the last result's `date_done` (the worker's clock,
        stored with the result), as Celerity's finished_at is written by its last chunk: no events needed."""
        if spec.workload != "chunked":
            raise ValueError(f"the plain baseline runs chunked work, not {spec.workload}")
        wait_idle(self.broker)
        load = RedisLoad.read(self.broker)
        started, clock = time.perf_counter(), time.time()
        result = self.chunks(spec).apply_async()
        published = time.perf_counter() - started
        values = result.get(timeout=timeout)
        end = self.finished_at([r.id for r in result.results])
        seconds = end - clock if end is not None else time.perf_counter() - started
        count, total = _sums(values)
        ok = (count, total) == (spec.items, expected_sum(spec.items))
        return Measurement.of(
            self.name,
            spec,
            seconds,
            ok,
            "ok" if ok else f"count {count}, sum {total}",
            submit_seconds=published,
            redis=RedisLoad.read(self.broker).since(load, seconds),
        )

    def finished_at(self, task_ids: list[str]) -> float | None:
        """The latest `date_done` among the tasks' stored results (unix time), in one MGET."""
        backend = self.app.backend
        raw = self.broker.mget([backend.get_key_for_task(task_id) for task_id in task_ids])
        done = [json.loads(r)["date_done"] for r in raw if r]
        if len(done) != len(task_ids) or not all(done):
            return None
        return max(datetime.fromisoformat(d).timestamp() for d in done)
