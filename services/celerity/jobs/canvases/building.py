"""One Celery canvas per workload (a job type's `canvas`), and the canvases of a retry. Every item runs its job type's
function (`services.running`); every outcome is recorded by one statement per chunk (`services.recording`), in the
task that computed it wherever the canvas allows.

- chunked, map, starmap (on `bulk`): `job_chunk_run(chunk)` per chunk, one task that runs the chunk's items in order
  (as the tasks of Celery's `chunks`, `xmap` and `xstarmap` do) and records them;
- chain (on `default`): `chain(chain_step(i), chain_step(i+1), …)` per chunk accumulating the outcomes, then
  `job_chunk_record`;
- group (on `default`): `group(job_item_run(i) …)` per chunk: every member records its own item; no callback;
- chord (on `default`): one `chord(item_run(i) for every i, job_chord_record)` for the whole job: the members write
  their outcomes in batches, the body what is missing (`services.chords`); `sending` publishes the header.

Why chunked work is one task per chunk: a chunk that is a work task chained to a recording task costs two messages,
two task starts and a second process's turn; bookkeeping then costs as much as the work it tracks. The task receives
the chunk's bounds, not one argument list per item nor its inputs (a chunk reads its own), so a million-item job's
messages stay small.

A retry (`POST /api/jobs/{id}/retry`) runs only the items without an outcome:
- chunked, map, starmap: the chunk's task as usual, told to skip the items already recorded (it reads which);
- group, chord, chain: one `job_item_run` per item to run, each recording its own outcome, in a group (a chain for
  the chain canvas, so the items still run in order). A chord's reduce needs no chord: the job type's reduce runs when
  the last chunk closes, over the stored successes and the new results alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from celery import chain, chord, group, signature
from celery.canvas import Signature

from celerity.jobs.canvases import ids, names
from celerity.jobs.canvases.workloads import LIMITS, job_queues
from celerity.jobs.models import Job, Workload

PUBLISH_BATCH = 200  # chunks published per canvas: the first chunks run while the rest are being published


def job_options(job: Job) -> dict[str, Any]:
    """What the item functions see as `context.options` (only what is set, to keep messages small)."""
    options = {"item_cost_ms": job.item_cost_ms, "fail_rate": job.fail_rate}
    return {name: value for name, value in options.items() if value}


def on_failure(job_id: str) -> Signature:
    """Errback: a task that raises (not an injected item failure) fails the job instead of leaving it running."""
    return signature(names.JOB_FAIL, kwargs={"job_id": job_id})


def job_canvases(job: Job, *, chunks: Sequence[int] | None = None) -> Iterator[Signature]:
    """The job as a sequence of canvases to publish one after another: every chunk, or only `chunks` (a chord is
    necessarily one canvas, its whole header and body)."""
    workload = Workload(job.workload)
    if workload is Workload.CHORD:
        yield _chord(job)
        return
    everything = ids.chunk_bounds(job)
    bounds = list(everything) if chunks is None else [b for b in everything if b[0] in set(chunks)]
    for first in range(0, len(bounds), PUBLISH_BATCH):
        yield group(_chunk(job, b) for b in bounds[first : first + PUBLISH_BATCH]).on_error(on_failure(str(job.id)))


def retry_canvases(job: Job, *, pending: Mapping[int, Sequence[int]]) -> Iterator[Signature]:
    """Canvases for the items in `pending` (chunk index → item indices without an outcome), in batches of chunks."""
    chunks = sorted(k for k, items in pending.items() if items)
    for first in range(0, len(chunks), PUBLISH_BATCH):
        batch = chunks[first : first + PUBLISH_BATCH]
        yield group(_retried_chunk(job, k, pending[k]) for k in batch).on_error(on_failure(str(job.id)))


def _item_args(job: Job, index: int) -> tuple[str, int, str, bool, dict[str, Any]]:
    return (job.job_type, index, str(job.id), job.has_inputs, job_options(job))


def _chunk_args(job: Job, k: int, start: int, stop: int) -> tuple[str, str, int, int, int, bool, dict[str, Any]]:
    return (str(job.id), job.job_type, k, start, stop, job.has_inputs, job_options(job))


def _chunk(job: Job, bounds: tuple[int, int, int]) -> Signature:
    workload, job_id, (k, start, stop) = Workload(job.workload), str(job.id), bounds
    work, bookkeeping = job_queues(job)
    if workload is Workload.GROUP:
        return group(
            signature(names.ITEM_RUN, args=_item_args(job, i), queue=work, task_id=ids.item_task_id(job_id, i))
            for i in range(start, stop)
        )
    if workload is Workload.CHAIN:
        # Each step gets the outcomes so far (Celery prepends the previous result); the first starts from [].
        steps = [
            signature(
                names.CHAIN_STEP,
                args=(([],) if i == start else ()) + _item_args(job, i),
                queue=work,
                task_id=ids.step_task_id(job_id, i),
            )
            for i in range(start, stop)
        ]
        return chain(*steps, signature(names.CHUNK_RECORD, args=(job_id, k), queue=bookkeeping))
    return signature(
        names.CHUNK_RUN, args=_chunk_args(job, k, start, stop), queue=work, task_id=ids.chunk_task_id(job_id, k)
    )


def _chord(job: Job) -> Signature:
    job_id = str(job.id)
    work, bookkeeping = job_queues(job)
    header = [
        signature(names.ITEM, args=_item_args(job, i), queue=work, task_id=ids.item_task_id(job_id, i))
        for i in range(job.items)
    ]
    # The errback goes on the body: Celery calls it when any header task fails, so the job fails instead of hanging.
    body = signature(names.CHORD_RECORD, args=(job_id,), queue=bookkeeping).on_error(on_failure(job_id))
    return chord(header, body)


def _retried_chunk(job: Job, k: int, items: Sequence[int]) -> Signature:
    workload, job_id, retries = Workload(job.workload), str(job.id), job.retries
    work, _ = job_queues(job)
    if LIMITS[workload].sequential_chunks:
        args = (*_chunk_args(job, k, *ids.chunk_span(job, k)), True)
        return signature(names.CHUNK_RUN, args=args, queue=work, task_id=ids.chunk_task_id(job_id, k, retries=retries))
    members = [
        signature(
            names.ITEM_RUN, args=_item_args(job, i), queue=work, task_id=ids.item_task_id(job_id, i, retries=retries)
        ).set(immutable=True)
        for i in items
    ]
    return chain(*members) if workload is Workload.CHAIN else group(members)
