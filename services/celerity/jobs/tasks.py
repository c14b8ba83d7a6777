"""Celery tasks of the jobs app: thin edges that unpack their arguments and call the service of the same name.

Results nobody reads are not stored (`ignore_result`): a chain still hands its result to the next step, and errbacks
still run. Only `item_run` keeps its result, which a chord's body receives.

Positional arguments, because canvases prepend results: a chain step receives the outcomes so far, a chain's recorder
receives its chunk's outcomes, a chord's body the header's, and Celery calls the errback with (request, exc,
traceback).
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from celerity.db.retrying import DatabaseUnavailableError
from celerity.jobs import services
from celerity.jobs.canvases import names
from celerity.jobs.services.running import Outcome


class JobTask(Task):  # type: ignore[misc]  # Celery's Task is untyped
    """Every job task: when Postgres stays away longer than the services' own retries (a restart, a failover), the
    task is retried through the broker with a growing delay instead of failing its job (docs/reliability.md)."""

    autoretry_for = (DatabaseUnavailableError,)
    retry_backoff = 2
    retry_backoff_max = 30
    retry_kwargs = {"max_retries": 12}  # about 5 minutes of outage; the worker-lost bound keeps max_retries


@shared_task(base=JobTask, name=names.JOB_START, ignore_result=True)
def job_start_task(job_id: str) -> None:
    services.job_start(job_id=job_id)


@shared_task(base=JobTask, name=names.ITEM)
def item_run_task(
    job_type: str, index: int, job_id: str, has_inputs: bool = False, options: dict[str, Any] | None = None
) -> Outcome:
    """A chord's header member: its process writes its outcome in a batch (`services.chords`), and the chord's body
    receives it among the header's results."""
    return services.chord_member_run(
        job_type=job_type, job_id=job_id, index=index, has_inputs=has_inputs, options=options or {}
    )


@shared_task(base=JobTask, name=names.CHAIN_STEP, ignore_result=True)
def chain_step_task(
    previous: list[Outcome], job_type: str, index: int, job_id: str, has_inputs: bool, options: dict[str, Any]
) -> list[Outcome]:
    return services.chain_step(
        previous=previous, job_type=job_type, index=index, job_id=job_id, has_inputs=has_inputs, options=options
    )


@shared_task(base=JobTask, name=names.ITEM_RUN, ignore_result=True)
def job_item_run_task(job_type: str, index: int, job_id: str, has_inputs: bool, options: dict[str, Any]) -> bool:
    """A group member: run the item and record it."""
    return services.job_item_run(job_id=job_id, job_type=job_type, index=index, has_inputs=has_inputs, options=options)


@shared_task(base=JobTask, name=names.CHUNK_RUN, ignore_result=True)
def job_chunk_run_task(
    job_id: str,
    job_type: str,
    chunk_index: int,
    start: int,
    stop: int,
    has_inputs: bool,
    options: dict[str, Any],
    retry: bool = False,
) -> int:
    """A chunk of a chunked, map or starmap job: its items, then their recording, in one task."""
    return services.job_chunk_run(
        job_id=job_id,
        job_type=job_type,
        chunk_index=chunk_index,
        start=start,
        stop=stop,
        has_inputs=has_inputs,
        options=options,
        retry=retry,
    )


@shared_task(base=JobTask, name=names.CHUNK_RECORD, ignore_result=True)
def job_chunk_record_task(outcomes: list[Outcome], job_id: str, chunk_index: int) -> int:
    return services.job_chunk_record(job_id=job_id, chunk_index=chunk_index, outcomes=outcomes)


@shared_task(base=JobTask, name=names.CHORD_RECORD, ignore_result=True)
def job_chord_record_task(outcomes: list[Outcome], job_id: str) -> int:
    return services.job_chord_record(job_id=job_id, outcomes=outcomes)


@shared_task(base=JobTask, name=names.JOB_FAIL, ignore_result=True)
def job_fail_task(request: Any, exc: BaseException, traceback: Any, *, job_id: str) -> None:
    """Errback of every job task: Celery runs it in the failing worker with the exception, and the job fails (a chord
    whose member Celery revoked runs again instead: services/failing.py)."""
    services.job_task_failed(job_id=job_id, exc=exc)
