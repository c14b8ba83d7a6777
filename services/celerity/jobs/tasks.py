"""Celery tasks of the jobs app: thin edges that parse arguments and call one service or computing function."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from celerity.jobs import computing, services


@shared_task(name="celerity.jobs.job_start")
def job_start_task(job_id: str) -> None:
    services.job_start(job_id=job_id)


@shared_task(name="celerity.jobs.item_square")
def item_square_task(index: int, job_id: str, cost_ms: int = 0, fail_rate: float = 0.0) -> int | None:
    return computing.item_outcome(index, job_id, cost_ms, fail_rate)


@shared_task(name="celerity.jobs.item_square_packed")
def item_square_packed_task(spec: list[Any]) -> int | None:
    """The same item, for `map`, which passes one argument per item."""
    index, job_id, cost_ms, fail_rate = spec
    return computing.item_outcome(index, job_id, cost_ms, fail_rate)


@shared_task(name="celerity.jobs.chain_step")
def chain_step_task(
    previous: list[int | None], index: int, job_id: str, cost_ms: int = 0, fail_rate: float = 0.0
) -> list[int | None]:
    """One link of a chain: square one item and hand the chunk's results so far to the next link."""
    return [*previous, computing.item_outcome(index, job_id, cost_ms, fail_rate)]


@shared_task(name="celerity.jobs.job_chunk_record")
def job_chunk_record_task(values: list[int | None], job_id: str, chunk_index: int) -> int:
    return services.job_chunk_record(job_id=job_id, chunk_index=chunk_index, values=values)


@shared_task(name="celerity.jobs.job_chord_record")
def job_chord_record_task(values: list[int | None], job_id: str, chunk_size: int) -> int:
    """The chord's body: the whole header's results, written chunk by chunk."""
    recorded = 0
    for k, start in enumerate(range(0, len(values), chunk_size)):
        recorded += services.job_chunk_record(job_id=job_id, chunk_index=k, values=values[start : start + chunk_size])
    return recorded
