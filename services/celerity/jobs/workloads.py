"""One Celery canvas per workload (a job type's `canvas`), its routing and its limits. Every item runs its job type's
function (`services.running`); every outcome is recorded by one statement per chunk (`services.recording`), in the
task that computed it wherever the canvas allows.

- chunked, map, starmap (on `bulk`): `job_chunk_run(chunk)` per chunk, one task that runs the chunk's items in order
  (as the tasks of Celery's `chunks`, `xmap` and `xstarmap` do) and records them;
- chain (on `default`): `chain(chain_step(i), chain_step(i+1), …)` per chunk accumulating the outcomes, then
  `job_chunk_record`;
- group (on `default`): `group(job_item_run(i) …)` per chunk: every member records its own item; no callback;
- chord (on `default`): one `chord(item_run(i) for every i, job_chord_record)` for the whole job: the members write
  their outcomes in batches, the body what is missing (`services.chords`); `services.publishing` sends the header.

Why chunked work is one task per chunk: a chunk that is a work task chained to a recording task costs two messages,
two task starts and a second process's turn; bookkeeping then costs as much as the work it tracks. The task receives
the chunk's bounds, not one argument list per item nor its inputs (a chunk reads its own), so a million-item job's
messages stay small.

Signatures are built from task names, so the services never import the tasks module. Task ids are derived from the job
id (`<job>-c<chunk>`, `<job>-i<item>`, `<job>-s<item>`), so a cancel can revoke outstanding work without storing ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from celery import chain, chord, group, signature
from celery.canvas import Signature
from django.conf import settings

from celerity.jobs.models import Job, Workload
from celerity.jobs.registry import JobType, job_type_get

ITEM = "celerity.jobs.item_run"
ITEM_RUN = "celerity.jobs.job_item_run"
CHUNK_RUN = "celerity.jobs.job_chunk_run"
CHAIN_STEP = "celerity.jobs.chain_step"
CHUNK_RECORD = "celerity.jobs.job_chunk_record"
CHORD_RECORD = "celerity.jobs.job_chord_record"
JOB_START = "celerity.jobs.job_start"
JOB_FAIL = "celerity.jobs.job_fail"

BOOKKEEPING_QUEUE = "default"  # job_start, recorders, job_fail (docs/conventions.md)
PUBLISH_BATCH = 200  # chunks published per canvas: the first chunks run while the rest are being published


@dataclass(frozen=True)
class Limits:
    max_items: int | None  # None: only CELERITY_MAX_ITEMS applies
    default_chunk: int
    max_chunk: int
    work_queue: str  # where the items are computed unless the request names a queue
    sequential_chunks: bool  # one task runs a whole chunk, so chunk_size x item_cost_ms must fit its time limit


# Why the ceilings (docs/api.md): a group or chord publishes one message per item, and the chord keeps every header
# result in Redis until its body runs; every chain message carries the chain's remaining steps (O(K^2) bytes per chain).
LIMITS = {
    Workload.CHUNKED: Limits(None, 100, 10_000, "bulk", sequential_chunks=True),
    Workload.MAP: Limits(None, 1_000, 10_000, "bulk", sequential_chunks=True),
    Workload.STARMAP: Limits(None, 1_000, 10_000, "bulk", sequential_chunks=True),
    Workload.GROUP: Limits(50_000, 100, 1_000, "default", sequential_chunks=False),
    Workload.CHORD: Limits(20_000, 100, 1_000, "default", sequential_chunks=False),
    Workload.CHAIN: Limits(5_000, 50, 100, "default", sequential_chunks=False),
}


def max_items(workload: Workload) -> int:
    configured, ceiling = int(settings.CELERITY_MAX_ITEMS), LIMITS[workload].max_items
    return configured if ceiling is None else min(ceiling, configured)


def chunk_bounds(items: int, chunk_size: int, first: int = 0) -> Iterator[tuple[int, int, int]]:
    """(chunk index, start, stop) of every chunk from chunk `first` on."""
    for index, start in enumerate(range(first * chunk_size, items, chunk_size), start=first):
        yield index, start, min(start + chunk_size, items)


def task_id(job_id: str, kind: str, number: int) -> str:
    return f"{job_id}-{kind}{number}"


def job_queues(job: Job) -> tuple[str, str]:
    """(queue for the items, queue for the bookkeeping); a queue named by the request takes both, else the queue
    configured for the job type (CELERITY_JOB_TYPE_QUEUES), else the job type's own, else the canvas' default takes
    the items."""
    if job.queue:
        return job.queue, job.queue
    return type_work_queue(job.job_type), BOOKKEEPING_QUEUE


def type_work_queue(name: str) -> str:
    """Where a job type's items run when the request names no queue: the queue configured for it
    (CELERITY_JOB_TYPE_QUEUES), else its own, else its canvas' default."""
    definition = job_type_get(name)
    configured = settings.CELERITY_JOB_TYPE_QUEUES.get(name) or definition.queue
    return configured or LIMITS[definition.canvas].work_queue


def type_chunk_size(definition: JobType) -> int:
    """The chunk size of a job of this type when the request names none: its own, else its canvas' default."""
    limits = LIMITS[definition.canvas]
    return min(definition.chunk_size or limits.default_chunk, limits.max_chunk)


def job_options(job: Job) -> dict[str, Any]:
    """What the item functions see as `context.options` (only what is set, to keep messages small)."""
    options = {"item_cost_ms": job.item_cost_ms, "fail_rate": job.fail_rate}
    return {name: value for name, value in options.items() if value}


def on_failure(job_id: str) -> Signature:
    """Errback: a task that raises (not an injected item failure) fails the job instead of leaving it running."""
    return signature(JOB_FAIL, kwargs={"job_id": job_id})


def job_canvases(job: Job, *, chunks: Sequence[int] | None = None) -> Iterator[Signature]:
    """The job as a sequence of canvases to publish one after another: every chunk, or only `chunks` (a chord is
    necessarily one canvas, its whole header and body)."""
    workload = Workload(job.workload)
    if workload is Workload.CHORD:
        yield _chord(job)
        return
    everything = chunk_bounds(job.items, job.chunk_size)
    bounds = list(everything) if chunks is None else [b for b in everything if b[0] in set(chunks)]
    for first in range(0, len(bounds), PUBLISH_BATCH):
        yield group(_chunk(job, b) for b in bounds[first : first + PUBLISH_BATCH]).on_error(on_failure(str(job.id)))


def item_args(job: Job, index: int) -> tuple[str, int, str, bool, dict[str, Any]]:
    return (job.job_type, index, str(job.id), job.has_inputs, job_options(job))


def _record(job: Job, chunk: int) -> Signature:
    return signature(CHUNK_RECORD, args=(str(job.id), chunk), queue=job_queues(job)[1])


def _chunk(job: Job, bounds: tuple[int, int, int]) -> Signature:
    workload, job_id, (k, start, stop) = Workload(job.workload), str(job.id), bounds
    work, _ = job_queues(job)
    if workload is Workload.GROUP:
        return group(
            signature(ITEM_RUN, args=item_args(job, i), queue=work, task_id=task_id(job_id, "i", i))
            for i in range(start, stop)
        )
    if workload is Workload.CHAIN:
        # Each step gets the outcomes so far (Celery prepends the previous result); the first starts from [].
        steps = [
            signature(
                CHAIN_STEP,
                args=(([],) if i == start else ()) + item_args(job, i),
                queue=work,
                task_id=task_id(job_id, "s", i),
            )
            for i in range(start, stop)
        ]
        return chain(*steps, _record(job, k))
    args = (job_id, job.job_type, k, start, stop, job.has_inputs, job_options(job))
    return signature(CHUNK_RUN, args=args, queue=work, task_id=task_id(job_id, "c", k))


def _chord(job: Job) -> Signature:
    job_id = str(job.id)
    work, bookkeeping = job_queues(job)
    header = [
        signature(ITEM, args=item_args(job, i), queue=work, task_id=task_id(job_id, "i", i)) for i in range(job.items)
    ]
    # The errback goes on the body: Celery calls it when any header task fails, so the job fails instead of hanging.
    body = signature(CHORD_RECORD, args=(job_id,), queue=bookkeeping).on_error(on_failure(job_id))
    return chord(header, body)


def outstanding_task_ids(job: Job, open_chunks: list[int]) -> list[str]:
    """The ids a cancel revokes: the first task of every open chunk's work, or its items for per-item workloads (a
    retry's per-item tasks are `i` tasks whatever the canvas, see `reruns`)."""
    workload, job_id = Workload(job.workload), str(job.id)
    again = f"r{job.retries}" if job.retries else ""
    ids: list[str] = []
    for k in open_chunks:
        start, stop = k * job.chunk_size, min((k + 1) * job.chunk_size, job.items)
        if workload in (Workload.GROUP, Workload.CHORD) or (again and workload is Workload.CHAIN):
            ids.extend(task_id(job_id, f"{again}i", i) for i in range(start, stop))
        elif workload is Workload.CHAIN:
            ids.extend(task_id(job_id, "s", i) for i in range(start, stop))
        else:
            ids.append(task_id(job_id, f"{again}c", k))
    return ids
