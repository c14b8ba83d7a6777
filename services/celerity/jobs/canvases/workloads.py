"""Each workload's limits and routing: how many items and how large a chunk it takes, and which queues its work and
its bookkeeping go to."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from celerity.jobs.models import Job, Workload
from celerity.jobs.registry import job_type_get

BOOKKEEPING_QUEUE = "default"  # job_start, recorders, job_fail (docs/conventions.md)


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


def job_queues(job: Job) -> tuple[str, str]:
    """(queue for the items, queue for the bookkeeping); a queue named by the request takes both, else the queue
    configured for the job type (CELERITY_JOB_TYPE_QUEUES), else the job type's own, else the canvas' default takes
    the items."""
    if job.queue:
        return job.queue, job.queue
    configured = settings.CELERITY_JOB_TYPE_QUEUES.get(job.job_type) or job_type_get(job.job_type).queue
    return configured or LIMITS[Workload(job.workload)].work_queue, BOOKKEEPING_QUEUE
