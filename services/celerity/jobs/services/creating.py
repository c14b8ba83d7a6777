"""Create a job (the API's write, in the web process): its row and its inputs in one transaction, once per
idempotency key, and its start sent only after the commit (the article's race). `job_start_send` is the one function
that sends a job's start; the reconciler calls it again when that message was lost."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence

from celery import current_app
from django.db import IntegrityError, connection, transaction

from celerity.jobs import canvases
from celerity.jobs.canvases import names
from celerity.jobs.errors import broker_failure
from celerity.jobs.models import Job, JobItemInput
from celerity.jobs.registry import JobType, Json
from celerity.jobs.services.validating import JobRequest, job_chunk_size, job_inputs_validate, job_type_of

SUBMIT_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
log = logging.getLogger(__name__)


def job_create(*, request: JobRequest) -> Job:
    """Validate, insert the job and its inputs, and send `job_start` once the rows are committed. With an idempotency
    key already used, the first job is returned and nothing is created."""
    chunk_size = job_chunk_size(request=request)
    definition = job_type_of(request=request)
    inputs = request.inputs
    if inputs is not None:
        job_inputs_validate(definition=definition, inputs=inputs)
    return job_row_create(
        request=request,
        definition=definition,
        items=request.count,
        chunk_size=chunk_size,
        has_inputs=inputs is not None,
        fill=None if inputs is None else lambda job: _inputs_insert(job, inputs),
    )


def job_row_create(
    *,
    request: JobRequest,
    definition: JobType,
    items: int,
    chunk_size: int,
    has_inputs: bool,
    fill: Callable[[Job], None] | None = None,
) -> Job:
    """The job's row, and whatever `fill` writes with it (its inputs), in one transaction; `job_start` is sent after
    its commit. With the request's idempotency key already used, the first job is returned and nothing is written;
    a concurrent submit with the same key that commits first wins the same way (the unique index makes this one wait
    for it, then fail)."""
    key = request.idempotency_key or None
    if key and (first := Job.objects.filter(idempotency_key=key).first()):
        return first
    try:
        with transaction.atomic():
            job = Job.objects.create(
                job_type=definition.name,
                workload=definition.canvas,
                items=items,
                has_inputs=has_inputs,
                chunk_size=chunk_size,
                queue=request.queue or "",
                item_cost_ms=request.item_cost_ms,
                fail_rate=request.fail_rate,
                idempotency_key=key,
            )
            if fill is not None:
                fill(job)
            job_id = str(job.id)
            transaction.on_commit(lambda: job_start_send(job_id=job_id))  # looked up then: tests replace it
    except IntegrityError:
        first = Job.objects.filter(idempotency_key=key).first() if key else None
        if first is None:
            raise
        return first
    return job


def _inputs_insert(job: Job, inputs: Sequence[Json]) -> None:
    """Every input in one statement: the JSON texts as one array parameter, numbered by Postgres."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {JobItemInput._meta.db_table} (job_id, index, input) "  # noqa: S608 - table name from the model
            "SELECT %s, t.n - 1, t.input::jsonb FROM unnest(%s::text[]) WITH ORDINALITY AS t(input, n)",
            [job.id, [json.dumps(item) for item in inputs]],
        )


def job_start_send(*, job_id: str) -> None:
    """Send `job_start` (again): after a job's commit, and from the reconciler when that message was lost. With the
    broker away the job is still accepted: it stays `pending` and the reconciler sends its start once the broker is
    back (docs/reliability.md); the request does not wait for it."""
    try:
        current_app.send_task(
            names.JOB_START,
            args=(job_id,),
            queue=canvases.BOOKKEEPING_QUEUE,
            link_error=canvases.on_failure(job_id),
            retry_policy=SUBMIT_RETRY_POLICY,
        )
    except Exception as exc:
        if not broker_failure(exc):
            raise
        log.warning("job %s accepted, its start not sent (the reconciler will send it): %s", job_id, exc)
