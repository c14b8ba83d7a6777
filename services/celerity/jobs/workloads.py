"""One Celery canvas per workload, its routing and its limits. Every item squares its index; every outcome is
recorded by one statement per chunk (`services.recording`), in the task that computed it wherever the canvas allows.

- chunked, map, starmap (on `bulk`): `job_chunk_run(chunk)` per chunk, one task that runs the chunk's items in order
  (as the tasks of Celery's `chunks`, `xmap` and `xstarmap` do) and records them;
- chain (on `default`): `chain(chain_step(i), chain_step(i+1), …)` per chunk accumulating the outcomes, then
  `job_chunk_record`;
- group (on `default`): `group(job_item_run(i) …)` per chunk: every member records its own item; no callback;
- chord (on `default`): one `chord(item_square(i) for every i, job_chord_record)` for the whole job.

Why chunked work is one task per chunk: a chunk that is a work task chained to a recording task costs two messages,
two task starts and a second process's turn; bookkeeping then costs as much as the work it tracks. The task receives
the chunk's bounds, not one argument list per item, so a million-item job's messages stay small.

Signatures are built from task names, so the services never import the tasks module. Task ids are derived from the job
id (`<job>-c<chunk>`, `<job>-i<item>`, `<job>-s<item>`), so a cancel can revoke outstanding work without storing ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from celery import chain, chord, group, signature, uuid
from celery.canvas import Signature
from django.conf import settings
from kombu.messaging import Producer

from celerity.jobs.models import Job, Workload

ITEM = "celerity.jobs.item_square"
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
    """(queue for the items, queue for the bookkeeping); a queue named by the request takes both."""
    if job.queue:
        return job.queue, job.queue
    return LIMITS[Workload(job.workload)].work_queue, BOOKKEEPING_QUEUE


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


def _item_args(job: Job, index: int) -> tuple[int, str, int, float]:
    return (index, str(job.id), job.item_cost_ms, job.fail_rate)


def _record(job: Job, chunk: int) -> Signature:
    return signature(CHUNK_RECORD, args=(str(job.id), chunk), queue=job_queues(job)[1])


def _chunk(job: Job, bounds: tuple[int, int, int]) -> Signature:
    workload, job_id, (k, start, stop) = Workload(job.workload), str(job.id), bounds
    work, _ = job_queues(job)
    if workload is Workload.GROUP:
        return group(
            signature(ITEM_RUN, args=_item_args(job, i), queue=work, task_id=task_id(job_id, "i", i))
            for i in range(start, stop)
        )
    if workload is Workload.CHAIN:
        # Each step gets the outcomes so far (Celery prepends the previous result); the first starts from [].
        steps = [
            signature(
                CHAIN_STEP,
                args=(([],) if i == start else ()) + _item_args(job, i),
                queue=work,
                task_id=task_id(job_id, "s", i),
            )
            for i in range(start, stop)
        ]
        return chain(*steps, _record(job, k))
    args = (job_id, k, start, stop, job.item_cost_ms, job.fail_rate)
    return signature(CHUNK_RUN, args=args, queue=work, task_id=task_id(job_id, "c", k))


def _chord(job: Job) -> Signature:
    job_id = str(job.id)
    work, bookkeeping = job_queues(job)
    header = [
        signature(ITEM, args=_item_args(job, i), queue=work, task_id=task_id(job_id, "i", i)) for i in range(job.items)
    ]
    # The errback goes on the body: Celery calls it when any header task fails, so the job fails instead of hanging.
    body = signature(CHORD_RECORD, args=(job_id,), queue=bookkeeping).on_error(on_failure(job_id))
    return chord(header, body)


def canvas_apply(canvas: Signature, *, producer: Producer) -> None:
    """Publish a canvas through the caller's producer, so that its messages join the caller's pipelined batch.

    Celery's `chord.apply_async` takes no producer: it publishes its header through one of its own, one round trip
    per message (two, with the task-sent event), from the `default` process whose slot the header needs. For our
    chords (a flat header of single tasks, a single-task body) this does what `chord.run` does, with Celery's public
    calls: the body is frozen into the header's group, every header task is frozen to carry it, the backend is told
    of the chord (the header's group publishing sets its size before the last message), and the header is published.
    """
    if not isinstance(canvas, chord):
        canvas.apply_async(producer=producer)
        return
    header = canvas.tasks if isinstance(canvas.tasks, group) else group(canvas.tasks, app=canvas.app)
    body, group_id = canvas.body, uuid()
    body.freeze(uuid(), group_id=group_id)
    frozen = header.freeze(group_id, chord=body)
    canvas.app.backend.apply_chord((group_id, frozen.results), body)
    header.apply_async(task_id=group_id, producer=producer)


def outstanding_task_ids(job: Job, open_chunks: list[int]) -> list[str]:
    """The ids a cancel revokes: the first task of every open chunk's work, or its items for per-item workloads."""
    workload, job_id = Workload(job.workload), str(job.id)
    ids: list[str] = []
    for k in open_chunks:
        start, stop = k * job.chunk_size, min((k + 1) * job.chunk_size, job.items)
        if workload in (Workload.GROUP, Workload.CHORD):
            ids.extend(task_id(job_id, "i", i) for i in range(start, stop))
        elif workload is Workload.CHAIN:
            ids.extend(task_id(job_id, "s", i) for i in range(start, stop))
        else:
            ids.append(task_id(job_id, "c", k))
    return ids
