"""Create a job (the API's write), start it (chunk rows, in a worker) and publish its work, each after the commit."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Sequence
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from celerity.db.retrying import atomic_with_retry, retrying
from celerity.jobs import reruns, selectors, workloads
from celerity.jobs.errors import JobInputError
from celerity.jobs.models import Job, JobChunk, JobItemInput, JobStatus
from celerity.jobs.registry import JobType, Json, UnknownJobTypeError, job_type_get, job_type_names
from celerity.jobs.services import publishing

CHUNK_LOCK = "jobs_chunk"  # the `lock` label of the retry metrics
SUBMIT_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobRequest:
    job_type: str  # a registered name; the demo's six are named after their workloads
    items: int | Sequence[Json]  # a count (item i's input is i) or the items' inputs
    chunk_size: int | None = None
    queue: str | None = None
    item_cost_ms: int = 0
    fail_rate: float = 0.0
    idempotency_key: str | None = None

    @property
    def count(self) -> int:
        return self.items if isinstance(self.items, int) else len(self.items)

    @property
    def inputs(self) -> Sequence[Json] | None:
        return None if isinstance(self.items, int) else self.items


def job_type_of(*, request: JobRequest) -> JobType:
    try:
        return job_type_get(str(request.job_type))
    except UnknownJobTypeError:
        raise JobInputError("type", f"unknown job type; one of {', '.join(job_type_names())}") from None


def job_chunk_size(*, request: JobRequest) -> int:
    """The request's chunk size, or the job type's, or its canvas' default; raises JobInputError naming the field it
    cannot accept."""
    definition = job_type_of(request=request)
    workload = definition.canvas
    limits = workloads.LIMITS[workload]
    ceiling = workloads.max_items(workload)
    if request.inputs is not None and len(request.inputs) > settings.CELERITY_MAX_INLINE_ITEMS:
        raise JobInputError("items", f"at most {settings.CELERITY_MAX_INLINE_ITEMS} inline items")
    if not 1 <= request.count <= ceiling:
        raise JobInputError("items", f"must be 1..{ceiling} for a {workload.value} job")
    chunk_size = request.chunk_size or workloads.type_chunk_size(definition)
    if not 1 <= chunk_size <= limits.max_chunk:
        raise JobInputError("chunk_size", f"must be 1..{limits.max_chunk} for a {workload.value} job")
    if request.item_cost_ms < 0 or not 0.0 <= request.fail_rate <= 1.0:
        field = "item_cost_ms" if request.item_cost_ms < 0 else "fail_rate"
        raise JobInputError(field, "out of range")
    # One task must finish well inside its soft time limit, or it is killed and the job fails.
    budget_ms = settings.CELERY_TASK_SOFT_TIME_LIMIT * 1000 // 2
    per_task = request.item_cost_ms * (min(chunk_size, request.count) if limits.sequential_chunks else 1)
    if per_task > budget_ms:
        field = "chunk_size" if limits.sequential_chunks and request.chunk_size else "item_cost_ms"
        raise JobInputError(
            field,
            f"one task would run {per_task} ms, over the {budget_ms} ms budget (half the "
            "task soft time limit): use smaller chunks or cheaper items",
        )
    return chunk_size


def job_create(*, request: JobRequest) -> Job:
    """Validate, insert the job and its inputs, and send `job_start` only once the rows are committed (the article's
    race). With an idempotency key already used, the first job is returned and nothing is created."""
    chunk_size = job_chunk_size(request=request)
    definition = job_type_of(request=request)
    if request.inputs is not None:
        job_inputs_validate(definition=definition, inputs=request.inputs)
    if request.idempotency_key and (first := Job.objects.filter(idempotency_key=request.idempotency_key).first()):
        return first
    try:
        with transaction.atomic():
            job = Job.objects.create(
                job_type=definition.name,
                workload=definition.canvas,
                items=request.count,
                has_inputs=request.inputs is not None,
                chunk_size=chunk_size,
                queue=request.queue or "",
                item_cost_ms=request.item_cost_ms,
                fail_rate=request.fail_rate,
                idempotency_key=request.idempotency_key or None,
            )
            if request.inputs is not None:
                _inputs_insert(job, request.inputs)
            job_id = str(job.id)
            transaction.on_commit(lambda: _send_start(job_id))
    except IntegrityError:
        # A concurrent submit with the same key committed first (the unique index made this one wait for it).
        first = Job.objects.filter(idempotency_key=request.idempotency_key).first() if request.idempotency_key else None
        if first is None:
            raise
        return first
    return job


def job_inputs_validate(*, definition: JobType, inputs: Sequence[Json]) -> None:
    """Every item against the job type's schema; the first offence is named by its index and field
    (`items.3.text`)."""
    validator = item_validator(definition=definition)
    for index, item in enumerate(inputs):
        item_validate(validator=validator, index=index, item=item)


def item_validator(*, definition: JobType) -> Draft202012Validator | None:
    return Draft202012Validator(definition.schema) if definition.schema is not None else None


def item_validate(*, validator: Draft202012Validator | None, index: int, item: Json) -> None:
    """Raises JobInputError naming `items.<index>.<field>` when the item fails the schema."""
    if validator is not None and (error := best_match(validator.iter_errors(item))) is not None:
        where = ".".join(["items", str(index), *(str(part) for part in error.absolute_path)])
        raise JobInputError(where, error.message[:500])


def _inputs_insert(job: Job, inputs: Sequence[Json]) -> None:
    """Every input in one statement: the JSON texts as one array parameter, numbered by Postgres."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {JobItemInput._meta.db_table} (job_id, index, input) "  # noqa: S608 - table name from the model
            "SELECT %s, t.n - 1, t.input::jsonb FROM unnest(%s::text[]) WITH ORDINALITY AS t(input, n)",
            [job.id, [json.dumps(item) for item in inputs]],
        )


def job_start_send(*, job_id: str) -> None:
    """Send `job_start` (again): job_create does after its commit, the reconciler when that message was lost."""
    _send_start(job_id)


def _send_start(job_id: str) -> None:
    """Runs after the job's commit. With the broker away the job is still accepted: it stays `pending` and the
    reconciler sends its start once the broker is back (docs/reliability.md); the request does not wait for it."""
    try:
        current_app.send_task(
            workloads.JOB_START,
            args=(job_id,),
            queue=workloads.BOOKKEEPING_QUEUE,
            link_error=workloads.on_failure(job_id),
            retry_policy=SUBMIT_RETRY_POLICY,
        )
    except Exception as exc:
        if not broker_failure(exc):
            raise
        log.warning("job %s accepted, its start not sent (the reconciler will send it): %s", job_id, exc)


def broker_failure(exc: BaseException) -> bool:
    """The broker could not take a message: its own errors, or kombu tripping over a connection lost meanwhile (an
    AttributeError from inside kombu, docs/reliability.md). Anything else is a bug and is raised."""
    if isinstance(exc, KombuError | RedisError | OSError):
        return True
    frames = traceback.extract_tb(exc.__traceback__)
    return isinstance(exc, AttributeError) and bool(frames) and "/kombu/" in frames[-1].filename


def job_publish_after_commit(*, job_id: str, chunks: Sequence[int] | None = None) -> None:
    """`job_publish` once a start or a retry has committed the job `running`. A publish the broker cut off leaves
    the job running with its work unpublished (`published_at` empty, or the retried chunks open): the reconciler
    publishes it again. It must fail neither the job (the start's errback would) nor the retry's request, whose
    change is committed."""
    try:
        job_publish(job_id=job_id, chunks=chunks)
    except Exception as exc:
        if not broker_failure(exc):
            raise
        log.warning("job %s running, its publishing cut off (the reconciler will publish it): %s", job_id, exc)


@retrying(lock=CHUNK_LOCK)
def job_start(*, job_id: str) -> None:
    """pending → running in short steps, none of which holds the job row while it works: create the chunk rows (the
    item rows are written by the recorders, as outcomes arrive), flip the status, and publish after that commit. A
    cancel meanwhile wins the flip (the chunk rows only take a key-share lock on the job row, which a status UPDATE
    does not wait for), and then nothing is published.

    Redelivery-safe: the chunk rows are inserted `ON CONFLICT DO NOTHING`, and a second start finds the job running
    and only publishes if the first never finished publishing.
    """
    if selectors.job_status_get(job_id=job_id) == JobStatus.PENDING:
        _rows_create(job_id)
    with transaction.atomic():
        Job.objects.filter(id=job_id, status=JobStatus.PENDING).update(
            status=JobStatus.RUNNING, started_at=timezone.now()
        )
        transaction.on_commit(lambda: job_publish_after_commit(job_id=job_id))


@atomic_with_retry(lock=CHUNK_LOCK)
def _rows_create(job_id: str) -> None:
    """One row per chunk, generated by Postgres itself (`generate_series`): nothing but the job id crosses the wire.
    A million-item job in chunks of 1,000 is 1,000 rows; there are no item rows to create before the work runs."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {JobChunk._meta.db_table} (job_id, index, start, stop, done, failed, total, complete) "  # noqa: S608 - table names from the models
            "SELECT job.id, k, k * job.chunk_size, LEAST((k + 1) * job.chunk_size, job.items), 0, 0, 0, false "
            f"FROM {Job._meta.db_table} AS job, generate_series(0, (job.items - 1) / job.chunk_size) AS k "
            "WHERE job.id = %s AND job.status = %s ON CONFLICT (job_id, index) DO NOTHING",
            [job_id, JobStatus.PENDING],
        )


def job_publish(*, job_id: str, chunks: Sequence[int] | None = None) -> int:
    """Publish the job's work; returns how many canvases were sent.

    - `chunks=None`: the whole job, unless it is already published (`published_at`);
    - `chunks=[…]`: exactly those chunks' work, now (a chord is one canvas: its whole header and body again).

    Only while the job runs: the status is read before every canvas, so a cancel stops the publishing at the next
    canvas, and a cancelled job publishes nothing. Publishing twice (a start redelivered mid-publish, a republished
    chunk that was only slow) is harmless: recording is idempotent.
    """
    job = Job.objects.filter(id=job_id, status=JobStatus.RUNNING).first()
    if job is None or (chunks is None and job.published_at is not None):
        return 0
    sent = 0
    if job.retries:  # a retried job re-runs only the items without an outcome, with task ids of its own
        every = chunks if chunks is not None else selectors.job_open_chunks(job_id=job_id)
        canvases = reruns.retry_canvases(job, pending=selectors.job_pending_items(job_id=job_id, chunks=every))
    else:
        canvases = workloads.job_canvases(job, chunks=chunks)
    with current_app.producer_or_acquire() as producer:
        for canvas in canvases:
            if sent and selectors.job_status_get(job_id=job_id) != JobStatus.RUNNING:
                break
            publishing.canvas_publish(canvas, producer=producer)
            sent += 1
    if chunks is None:
        Job.objects.filter(id=job_id, published_at__isnull=True).update(published_at=timezone.now())
    return sent
