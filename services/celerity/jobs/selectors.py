"""Reads: jobs, their progress summed over chunk rows, completion and whether a job still accepts work."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from django.db import InterfaceError, OperationalError, connection
from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce

from celerity.jobs.models import Job, JobChunk, JobStatus


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


def job_list(*, status: JobStatus | None = None) -> QuerySet[Job]:
    """Newest first, progress annotated; `status` filters."""
    jobs = Job.objects.all() if status is None else Job.objects.filter(status=status)
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
