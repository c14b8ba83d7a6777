"""Celery tasks of the jobs app: thin edges that unpack their arguments and call the service of the same name.

Results nobody reads are not stored (`ignore_result`): a chain still hands its result to the next step, and errbacks
still run. Only `item_square` keeps its result, which a chord's body needs.

Positional arguments, because canvases prepend results: a chain step receives the outcomes so far, a chain's recorder
receives its chunk's outcomes, a chord's body the header's, and Celery calls the errback with (request, exc,
traceback).
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from celerity.db.retrying import DatabaseUnavailableError
from celerity.jobs import services


class JobTask(Task):  # type: ignore[misc]  # Celery's Task is untyped
    """Every job task: when Postgres stays away longer than the services' own retries (a restart, a failover), the
    task is retried through the broker with a growing delay instead of failing its job (docs/reliability.md)."""

    autoretry_for = (DatabaseUnavailableError,)
    retry_backoff = 2
    retry_backoff_max = 30
    retry_kwargs = {"max_retries": 12}  # about 5 minutes of outage; the worker-lost bound keeps max_retries


@shared_task(base=JobTask, name="celerity.jobs.job_start", ignore_result=True)
def job_start_task(job_id: str) -> None:
    services.job_start(job_id=job_id)


@shared_task(base=JobTask, name="celerity.jobs.item_square")
def item_square_task(index: int, job_id: str, cost_ms: int = 0, fail_rate: float = 0.0) -> int | None:
    return services.item_square(index=index, job_id=job_id, cost_ms=cost_ms, fail_rate=fail_rate)


@shared_task(base=JobTask, name="celerity.jobs.chain_step", ignore_result=True)
def chain_step_task(
    previous: list[int | None], index: int, job_id: str, cost_ms: int = 0, fail_rate: float = 0.0
) -> list[int | None]:
    return services.chain_step(previous=previous, index=index, job_id=job_id, cost_ms=cost_ms, fail_rate=fail_rate)


@shared_task(base=JobTask, name="celerity.jobs.job_item_run", ignore_result=True)
def job_item_run_task(index: int, job_id: str, cost_ms: int = 0, fail_rate: float = 0.0) -> bool:
    """A group member: square the item and record it."""
    return services.job_item_run(job_id=job_id, index=index, cost_ms=cost_ms, fail_rate=fail_rate)


@shared_task(base=JobTask, name="celerity.jobs.job_chunk_run", ignore_result=True)
def job_chunk_run_task(job_id: str, chunk_index: int, start: int, stop: int, cost_ms: int, fail_rate: float) -> int:
    """A chunk of a chunked, map or starmap job: its items, then their recording, in one task."""
    return services.job_chunk_run(
        job_id=job_id, chunk_index=chunk_index, start=start, stop=stop, cost_ms=cost_ms, fail_rate=fail_rate
    )


@shared_task(base=JobTask, name="celerity.jobs.job_chunk_record", ignore_result=True)
def job_chunk_record_task(values: list[int | None], job_id: str, chunk_index: int) -> int:
    return services.job_chunk_record(job_id=job_id, chunk_index=chunk_index, values=values)


@shared_task(base=JobTask, name="celerity.jobs.job_chord_record", ignore_result=True)
def job_chord_record_task(values: list[int | None], job_id: str) -> int:
    return services.job_chord_record(job_id=job_id, values=values)


@shared_task(base=JobTask, name="celerity.jobs.job_fail", ignore_result=True)
def job_fail_task(request: Any, exc: BaseException, traceback: Any, *, job_id: str) -> None:
    """Errback of every job task: Celery runs it in the failing worker with the exception, and the job fails."""
    services.job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}")
