"""Writes: create, start, record, finish and cancel jobs. Tasks are only ever dispatched after the commit."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from celerity.db.locking import rows_lock_in_order
from celerity.db.retrying import atomic_with_retry
from celerity.jobs import selectors, workloads
from celerity.jobs.models import FINISHED, Item, ItemState, Job, JobChunk, JobStatus, Workload
from celerity.observability.metrics import ITEMS_PROCESSED_TOTAL, JOB_DURATION_SECONDS, JOBS_TOTAL

DEFAULT_CHUNK_SIZE = 100
# Per-workload ceilings: a chord keeps every header result in Redis until the body runs; a group or chain publishes
# one message per item. Chunk-based workloads scale with CELERITY_MAX_ITEMS.
WORKLOAD_MAX_ITEMS = {Workload.CHORD: 50_000, Workload.GROUP: 100_000, Workload.CHAIN: 100_000}
CHAIN_MAX_CHUNK = 200  # a chain message carries its remaining steps: keep each chain short


class JobInputError(ValueError):
    """The request is well-formed but asks for something we will not do; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class JobStateError(RuntimeError):
    """The job is in a state that does not allow the operation (e.g. cancelling a finished job)."""


@dataclass(frozen=True)
class JobRequest:
    workload: Workload
    items: int
    chunk_size: int | None = None
    queue: str | None = None
    item_cost_ms: int = 0
    fail_rate: float = 0.0


def job_limits(workload: Workload) -> tuple[int, int]:
    """(max items, max chunk size) for a workload."""
    max_items = min(WORKLOAD_MAX_ITEMS.get(workload, settings.CELERITY_MAX_ITEMS), settings.CELERITY_MAX_ITEMS)
    return max_items, CHAIN_MAX_CHUNK if workload is Workload.CHAIN else 10_000


def job_create(*, request: JobRequest) -> Job:
    max_items, max_chunk = job_limits(request.workload)
    if request.items > max_items:
        raise JobInputError("items", f"at most {max_items} items for a {request.workload.value} job")
    chunk_size = request.chunk_size or min(DEFAULT_CHUNK_SIZE, max_chunk)
    if chunk_size > max_chunk:
        raise JobInputError("chunk_size", f"at most {max_chunk} for a {request.workload.value} job")
    with transaction.atomic():
        job = Job.objects.create(
            workload=request.workload,
            items=request.items,
            chunk_size=chunk_size,
            queue=request.queue or "",
            item_cost_ms=request.item_cost_ms,
            fail_rate=request.fail_rate,
        )
        job_id = str(job.id)
        # Never before the row exists: the worker would look for a job that is not committed yet.
        transaction.on_commit(lambda: _send("celerity.jobs.job_start", job_id))
    return job


def job_start(*, job_id: str) -> None:
    """Create the job's chunk and item rows, then publish its canvas; a redelivered start does nothing."""
    with transaction.atomic():
        started = Job.objects.filter(id=job_id, status=JobStatus.PENDING).update(
            status=JobStatus.RUNNING, started_at=timezone.now()
        )
        if not started:
            return
        job = Job.objects.get(id=job_id)
        bounds = workloads.chunk_bounds(job.items, job.chunk_size)
        JobChunk.objects.bulk_create(
            [JobChunk(job=job, index=k, start=start, stop=stop) for k, (start, stop) in enumerate(bounds)],
            batch_size=5000,
        )
        _items_copy(job)
        transaction.on_commit(lambda: _publish(job))


def _items_copy(job: Job) -> None:
    """COPY is an order of magnitude faster than INSERT for a million rows."""
    table = Item._meta.db_table
    buffer = io.StringIO("".join(f"{job.id}\t{i}\t0\t0\n" for i in range(job.items)))
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} (job_id, index, state, writes) FROM STDIN") as copy:
        while data := buffer.read(1 << 20):
            copy.write(data)


def _publish(job: Job) -> None:
    result = workloads.job_canvas(job).apply_async()
    Job.objects.filter(id=job.id).update(task_ids=[result.id])


def job_chunk_record(*, job_id: str, chunk_index: int, values: list[int | None]) -> int:
    """Write one chunk's outcomes; returns how many items were newly recorded (0 for a redelivered chunk)."""
    if selectors.job_is_cancelled(job_id=job_id):
        return 0
    recorded, workload = _chunk_write(job_id, chunk_index, values)
    if recorded:
        ITEMS_PROCESSED_TOTAL.labels(workload=workload).inc(recorded)
    if selectors.job_chunks_complete(job_id=job_id):
        job_finish(job_id=job_id)
    return recorded


@atomic_with_retry(lock="jobs_item")
def _chunk_write(job_id: str, chunk_index: int, values: list[int | None]) -> tuple[int, str]:
    chunk = JobChunk.objects.select_related("job").get(job_id=job_id, index=chunk_index)
    if len(values) != chunk.size:
        raise ValueError(f"chunk {chunk_index} of {job_id} has {chunk.size} items, got {len(values)} results")
    items = Item.objects.filter(job_id=job_id, index__gte=chunk.start, index__lt=chunk.stop)
    ids = items.values_list("id", flat=True)
    rows = rows_lock_in_order(Item.objects.all(), ids=ids, lock="jobs_item", fields=("id", "index", "state"))
    pending = [(row_id, values[index - chunk.start]) for row_id, index, state in rows if state == ItemState.PENDING]
    if pending:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Item._meta.db_table} AS item SET value = v.value, writes = item.writes + 1, "  # noqa: S608 - table name from the model
                "state = CASE WHEN v.value IS NULL THEN %s ELSE %s END "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, value) WHERE item.id = v.id AND item.state = %s",
                [ItemState.FAILED, ItemState.DONE, [p[0] for p in pending], [p[1] for p in pending], ItemState.PENDING],
            )
    # The chunk row is SET from its items, never incremented, so a redelivered chunk cannot double-count.
    done = [v for v in values if v is not None]
    JobChunk.objects.filter(id=chunk.id).update(
        done=items.filter(state=ItemState.DONE).count(), failed=items.filter(state=ItemState.FAILED).count(),
        total=sum(done) if len(pending) == len(values) else _chunk_sum(items),
    )  # fmt: skip
    return len(pending), chunk.job.workload


def _chunk_sum(items: object) -> int:
    from django.db.models import Sum

    return int(items.filter(state=ItemState.DONE).aggregate(s=Sum("value"))["s"] or 0)  # type: ignore[attr-defined]


def job_finish(*, job_id: str) -> None:
    """Mark the job finished exactly once (the guarded UPDATE lets only one finisher win)."""
    job = Job.objects.get(id=job_id)
    progress = selectors.job_progress_get(job=job)
    status = JobStatus.FAILED if progress.failed else JobStatus.SUCCEEDED
    now = timezone.now()
    won = Job.objects.filter(id=job_id, status=JobStatus.RUNNING).update(
        status=status, finished_at=now, result={"sum": progress.sum, "count": progress.done},
        error=f"{progress.failed} items failed" if progress.failed else "",
    )  # fmt: skip
    if won:
        JOBS_TOTAL.labels(workload=job.workload, status=status).inc()
        JOB_DURATION_SECONDS.labels(workload=job.workload).observe((now - job.created_at).total_seconds())


def job_fail(*, job_id: str, error: str) -> None:
    now = timezone.now()
    job = Job.objects.filter(id=job_id).first()
    if job and Job.objects.filter(id=job_id, status__in=[JobStatus.PENDING, JobStatus.RUNNING]).update(
        status=JobStatus.FAILED, finished_at=now, error=error[:2000]
    ):
        JOBS_TOTAL.labels(workload=job.workload, status=JobStatus.FAILED).inc()
        JOB_DURATION_SECONDS.labels(workload=job.workload).observe((now - job.created_at).total_seconds())


def job_cancel(*, job_id: uuid.UUID | str) -> Job:
    job = Job.objects.get(id=job_id)
    if job.status in FINISHED:
        raise JobStateError(f"job is already {job.status}")
    now = timezone.now()
    if Job.objects.filter(id=job_id, status__in=[JobStatus.PENDING, JobStatus.RUNNING]).update(
        status=JobStatus.CANCELLED, finished_at=now
    ):
        JOBS_TOTAL.labels(workload=job.workload, status=JobStatus.CANCELLED).inc()
        ids = list(job.task_ids)
        transaction.on_commit(lambda: _revoke(ids))
    job.refresh_from_db()
    return job


def _revoke(task_ids: list[str]) -> None:
    if task_ids:
        current_app.control.revoke(task_ids)


def _send(name: str, job_id: str) -> None:
    current_app.send_task(name, args=(job_id,), queue="default")
