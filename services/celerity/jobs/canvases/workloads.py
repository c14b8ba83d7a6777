"""Each workload's limits and routing: how many items and how large a chunk it takes, and which queues its work and
its bookkeeping go to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings

from celerity.jobs.models import Job, Workload
from celerity.jobs.registry import JobType, Json, job_type_get, job_type_names

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


@dataclass(frozen=True)
class JobTypeSummary:
    """What a client needs to know to submit a job of a type: what a request that names nothing else gets."""

    name: str
    canvas: str
    queue: str  # where its items run unless the request names a queue
    chunk_size: int  # unless the request names one
    max_chunk_size: int
    max_items: int
    reduce: bool
    time_limit: float | None
    schema: Mapping[str, Json] | None


def job_type_list() -> list[JobTypeSummary]:
    """Every registered job type, by name, with its canvas' defaults and limits (`GET /api/types`)."""
    summaries = []
    for name in job_type_names():
        definition = job_type_get(name)
        summaries.append(
            JobTypeSummary(
                name=name,
                canvas=definition.canvas.value,
                queue=type_work_queue(name),
                chunk_size=type_chunk_size(definition),
                max_chunk_size=LIMITS[definition.canvas].max_chunk,
                max_items=max_items(definition.canvas),
                reduce=definition.reduce is not None,
                time_limit=definition.time_limit,
                schema=definition.schema,
            )
        )
    return summaries
