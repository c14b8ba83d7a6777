"""The canvases of a retry (`POST /api/jobs/{id}/retry`): only the items without an outcome run again.

- chunked, map, starmap: the chunk's task as usual, told to skip the items already recorded (it reads which);
- group, chord, chain: one `job_item_run` per item to run, each recording its own outcome, in a group (a chain for
  the chain canvas, so the items still run in order). A chord's reduce needs no chord: the job type's reduce runs when
  the last chunk closes, over the stored successes and the new results alike.

Task ids carry the retry's number (`<job>-r1c3`, `<job>-r1i42`): the failure that ended the job revoked its
outstanding tasks by id, and workers remember revoked ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from celery import chain, group, signature
from celery.canvas import Signature

from celerity.jobs.models import Job, Workload
from celerity.jobs.workloads import (
    CHUNK_RUN,
    ITEM_RUN,
    LIMITS,
    PUBLISH_BATCH,
    item_args,
    job_options,
    job_queues,
    on_failure,
    task_id,
)


def retry_canvases(job: Job, *, pending: Mapping[int, Sequence[int]]) -> Iterator[Signature]:
    """Canvases for the items in `pending` (chunk index → item indices without an outcome), in batches of chunks."""
    chunks = sorted(k for k, items in pending.items() if items)
    for first in range(0, len(chunks), PUBLISH_BATCH):
        batch = chunks[first : first + PUBLISH_BATCH]
        yield group(_chunk(job, k, pending[k]) for k in batch).on_error(on_failure(str(job.id)))


def _chunk(job: Job, k: int, items: Sequence[int]) -> Signature:
    workload, job_id, again = Workload(job.workload), str(job.id), f"r{job.retries}"
    work, _ = job_queues(job)
    if LIMITS[workload].sequential_chunks:
        start, stop = k * job.chunk_size, min((k + 1) * job.chunk_size, job.items)
        args = (job_id, job.job_type, k, start, stop, job.has_inputs, job_options(job), True)
        return signature(CHUNK_RUN, args=args, queue=work, task_id=task_id(job_id, f"{again}c", k))
    members = [
        signature(ITEM_RUN, args=item_args(job, i), queue=work, task_id=task_id(job_id, f"{again}i", i)).set(
            immutable=True
        )
        for i in items
    ]
    return chain(*members) if workload is Workload.CHAIN else group(members)
