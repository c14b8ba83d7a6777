"""One Celery canvas per workload. Every item squares its index through the named primitive; every chunk of results
ends in `job_chunk_record`, which writes that chunk's item rows in one ordered, idempotent update.

Signatures are built from task names, so the services layer never imports the tasks module.
"""

from __future__ import annotations

from celery import chain, chord, group, signature
from celery.canvas import Signature, chunks, xmap, xstarmap

from celerity.jobs.models import Job, Workload

ITEM = "celerity.jobs.item_square"
ITEM_PACKED = "celerity.jobs.item_square_packed"
CHAIN_STEP = "celerity.jobs.chain_step"
CHUNK_RECORD = "celerity.jobs.job_chunk_record"
CHORD_RECORD = "celerity.jobs.job_chord_record"

# Which pool does the work when the request names no queue (docs/conventions.md).
DEFAULT_QUEUE = {
    Workload.CHUNKED: "bulk",
    Workload.MAP: "bulk",
    Workload.STARMAP: "bulk",
    Workload.CHORD: "default",
    Workload.GROUP: "default",
    Workload.CHAIN: "default",
}


def chunk_bounds(items: int, chunk_size: int) -> list[tuple[int, int]]:
    return [(start, min(start + chunk_size, items)) for start in range(0, items, chunk_size)]


def job_queue(job: Job) -> str:
    return job.queue or DEFAULT_QUEUE[Workload(job.workload)]


def job_canvas(job: Job) -> Signature:
    """The whole job as one canvas, routed to the job's queue."""
    queue = job_queue(job)
    job_id = str(job.id)
    args = (job_id, job.item_cost_ms, job.fail_rate)
    bounds = chunk_bounds(job.items, job.chunk_size)

    def item(i: int) -> Signature:
        return signature(ITEM, args=(i, *args), queue=queue, immutable=True)

    def record(k: int) -> Signature:
        return signature(CHUNK_RECORD, args=(job_id, k), queue=queue)

    workload = Workload(job.workload)
    if workload is Workload.CHORD:
        header = [item(i) for i in range(job.items)]
        return chord(header, signature(CHORD_RECORD, args=(job_id, job.chunk_size), queue=queue))
    if workload is Workload.CHUNKED:
        per_item = [(i, *args) for i in range(job.items)]
        starmaps = chunks(signature(ITEM, queue=queue), per_item, job.chunk_size).group().tasks
        return group(chain(sm.set(queue=queue), record(k)) for k, sm in enumerate(starmaps))
    parts: list[Signature] = []
    for k, (start, stop) in enumerate(bounds):
        if workload is Workload.GROUP:
            body: Signature = group(item(i) for i in range(start, stop))
        elif workload is Workload.MAP:
            body = xmap(signature(ITEM_PACKED), [[i, *args] for i in range(start, stop)]).set(queue=queue)
        elif workload is Workload.STARMAP:
            body = xstarmap(signature(ITEM), [(i, *args) for i in range(start, stop)]).set(queue=queue)
        else:  # chain: each step squares one item and passes the chunk's results so far to the next
            first = signature(CHAIN_STEP, args=([], start, *args), queue=queue)
            body = chain(first, *(signature(CHAIN_STEP, args=(i, *args), queue=queue) for i in range(start + 1, stop)))
        parts.append(chain(body, record(k)))
    return group(parts)
