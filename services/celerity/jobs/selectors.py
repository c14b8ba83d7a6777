"""Reads: jobs, their progress summed over chunk rows, completion and whether a job still accepts work."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db import InterfaceError, OperationalError, connection
from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce

from celerity.jobs.models import Item, ItemState, Job, JobChunk, JobItemInput, JobStatus
from celerity.jobs.registry import Json


@dataclass(frozen=True)
class Progress:
    done: int
    failed: int
    total: int
    sum: int


def _with_progress(jobs: QuerySet[Job]) -> QuerySet[Job]:
    """Progress summed from the chunk rows in the same query (no progress row to lock, no N+1 on a page)."""
    return jobs.annotate(
        progress_done=Coalesce(Sum("chunks__done"), 0),
        progress_failed=Coalesce(Sum("chunks__failed"), 0),
        progress_sum=Coalesce(Sum("chunks__total"), 0),
    )


def job_get(*, job_id: uuid.UUID | str) -> Job | None:
    """The job with `progress_done`, `progress_failed` and `progress_sum` annotated, or None."""
    return _with_progress(Job.objects.filter(id=job_id)).first()


def job_list(*, status: JobStatus | None = None, job_type: str | None = None) -> QuerySet[Job]:
    """Newest first, progress annotated; `status` and `job_type` filter."""
    jobs = Job.objects.all() if status is None else Job.objects.filter(status=status)
    if job_type is not None:
        jobs = jobs.filter(job_type=job_type)
    return _with_progress(jobs.order_by("-created_at", "id"))


def job_progress_get(*, job: Job) -> Progress:
    """From the annotations when the job came from `job_get`/`job_list`, else summed from its chunk rows now."""
    if hasattr(job, "progress_done"):
        done, failed, total_sum = (getattr(job, f"progress_{name}") for name in ("done", "failed", "sum"))
    else:
        totals = JobChunk.objects.filter(job=job).aggregate(d=Sum("done"), f=Sum("failed"), s=Sum("total"))
        done, failed, total_sum = totals["d"] or 0, totals["f"] or 0, totals["s"] or 0
    return Progress(done=int(done), failed=int(failed), total=job.items, sum=int(total_sum))


def job_chunks_complete(*, job_id: uuid.UUID | str) -> bool:
    """True once no chunk of the job is open (the partial index `jobs_chunk_open` holds only the open ones)."""
    return not JobChunk.objects.filter(job_id=job_id, complete=False).exists()


def job_open_chunks(*, job_id: uuid.UUID | str) -> list[int]:
    return list(
        JobChunk.objects.filter(job_id=job_id, complete=False).order_by("index").values_list("index", flat=True)
    )


def job_inputs_get(*, job_id: uuid.UUID | str, start: int, stop: int) -> list[Json]:
    """The inputs of items start..stop-1 in index order (one range scan of the unique index); raises when one is
    missing, which would be a bug of the submit."""
    inputs = list(
        JobItemInput.objects.filter(job_id=job_id, index__gte=start, index__lt=stop)
        .order_by("index")
        .values_list("input", flat=True)
    )
    if len(inputs) != stop - start:
        raise JobItemInput.DoesNotExist(f"job {job_id} has {len(inputs)} inputs in {start}..{stop - 1}")
    return inputs


def job_outputs_get(*, job_id: uuid.UUID | str) -> Iterator[Json]:
    """The outputs of the items that succeeded, in index order: what a job type's reduce runs over. Streamed from a
    server-side cursor, a few thousand rows at a time, so a million outputs are never in memory at once."""
    done = Item.objects.filter(job_id=job_id, state=ItemState.DONE).order_by("index")
    return done.values_list("output", flat=True).iterator(chunk_size=OUTPUTS_FETCH)


OUTPUTS_FETCH = 2_000  # rows per fetch of a reduce's outputs

PENDING_ITEMS = f"""
SELECT c.index, i FROM {JobChunk._meta.db_table} AS c CROSS JOIN LATERAL generate_series(c.start, c.stop - 1) AS i
LEFT JOIN {Item._meta.db_table} AS item ON item.job_id = c.job_id AND item.index = i
WHERE c.job_id = %(job)s::uuid AND c.index = ANY(%(chunks)s::int[])
  AND (item.id IS NULL OR item.state = {int(ItemState.PENDING)})
ORDER BY 1, 2
"""  # noqa: S608 - table names and a state from the models; values are bound parameters


def job_recorded_items(*, job_id: uuid.UUID | str, start: int, stop: int) -> set[int]:
    """Items start..stop-1 that have an outcome: what a retried chunk skips."""
    recorded = Item.objects.filter(job_id=job_id, index__gte=start, index__lt=stop).exclude(state=ItemState.PENDING)
    return set(recorded.values_list("index", flat=True))


ITEM_STATES = {"done": ItemState.DONE, "failed": ItemState.FAILED, "pending": ItemState.PENDING}


def job_items_page(
    *, job_id: uuid.UUID | str, state: str | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Json]]]:
    """(how many items match, one page of them in index order with their inputs): two queries and one for inputs."""
    items = Item.objects.filter(job_id=job_id).order_by("index")
    if state is not None:
        items = items.filter(state=ITEM_STATES[state])
    names = {int(number): name for name, number in ITEM_STATES.items()}
    rows = list(items.values_list("index", "state", "output", "error", "attempts")[offset : offset + limit])
    inputs = dict(
        JobItemInput.objects.filter(job_id=job_id, index__in=[row[0] for row in rows]).values_list("index", "input")
    )
    page: list[dict[str, Json]] = [
        # jobs of generated items have no input rows: item i's input is i
        {
            "index": index,
            "state": names[state],
            "input": inputs.get(index, index),
            "output": output,
            "error": error,
            "attempts": attempts,
        }
        for index, state, output, error, attempts in rows
    ]
    return items.count(), page


def job_pending_items(*, job_id: uuid.UUID | str, chunks: Sequence[int]) -> dict[int, list[int]]:
    """Chunk index → the items of that chunk with no outcome (no row, or reset to PENDING by a retry)."""
    pending: dict[int, list[int]] = {k: [] for k in chunks}
    with connection.cursor() as cursor:
        cursor.execute(PENDING_ITEMS, {"job": str(job_id), "chunks": list(chunks)})
        for k, index in cursor.fetchall():
            pending[k].append(index)
    return pending


def job_status_get(*, job_id: uuid.UUID | str) -> str | None:
    return Job.objects.filter(id=job_id).values_list("status", flat=True).first()


_ACCEPTS_TTL = 0.5  # seconds a worker process trusts its last answer: a cancel reaches running items this fast
_accepts_cache: dict[str, tuple[float, bool]] = {}


def job_accepts_work(*, job_id: str) -> bool:
    """Cheap check run before every item: False once the job is cancelled or failed, so the rest of it is skipped.

    One primary-key lookup per job per half second per worker process. Ids that are not job ids (ad-hoc calls of the
    item task, as in the operator's tests) always accept work.
    """
    try:
        key = str(uuid.UUID(job_id))
    except ValueError:
        return True
    now = time.monotonic()
    cached = _accepts_cache.get(key)
    if cached is not None and now - cached[0] < _ACCEPTS_TTL:
        return cached[1]
    try:
        status = job_status_get(job_id=key)
    except (OperationalError, InterfaceError):
        # The check only saves work; its database being away (a restart) must not fail the item. The recorder
        # writes nothing for a job that stopped, so computing the item anyway is harmless.
        connection.close()
        return cached[1] if cached is not None else True
    accepts = status not in (JobStatus.CANCELLED, JobStatus.FAILED)
    if len(_accepts_cache) > 1000:
        _accepts_cache.clear()
    _accepts_cache[key] = (now, accepts)
    return accepts
