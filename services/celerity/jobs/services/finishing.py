"""A job ends exactly once: succeeded/failed when its last chunk is recorded, failed when a task raises, cancelled on
request. Each is one guarded `UPDATE … WHERE status IN (…)`, so concurrent finishers, failures and cancels race
safely and only the winner counts the job in the metrics.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone

from celerity.db.retrying import Backoff, retrying
from celerity.jobs import canvases, selectors
from celerity.jobs.errors import JobNotFoundError, JobStateError, broker_failure
from celerity.jobs.models import Job, JobStatus
from celerity.jobs.registry import job_type_get
from celerity.observability.metrics import JOB_DURATION_SECONDS, JOBS_TOTAL

log = logging.getLogger(__name__)
REVOKE_MAX = 50_000  # a worker remembers this many revoked ids (Celery's REVOKES_MAX); the cancel flag covers the rest
REVOKE_BATCH = 5_000  # ids per broadcast message
JOB_LOCK = "jobs_job"  # the `lock` label of the retry metrics
# A cancel answers an API request: a short budget, then a 503 (the client may retry), never a long wait.
CANCEL_RESTART = Backoff(attempts=3, base_delay=0.1, max_delay=0.5)


@retrying(lock=JOB_LOCK)
def job_finish(*, job_id: uuid.UUID | str) -> bool:
    """running → succeeded (or failed when any item failed), with the result: the job type's reduce over the outputs
    of the items that succeeded, even when some failed (`{"reduce", "count", "failed"}`), or without a reduce the
    sums of the chunk rows (`{"sum", "count"}`)."""
    job = Job.objects.get(id=job_id)
    if job.status != JobStatus.RUNNING:
        return False
    progress = selectors.job_progress_get(job=job)
    status = JobStatus.FAILED if progress.failed else JobStatus.SUCCEEDED
    error = f"{progress.failed} of {job.items} items failed" if progress.failed else ""
    result: dict[str, Any] = {"sum": progress.sum, "count": progress.done}
    reduce = job_type_get(job.job_type).reduce
    if reduce is not None:
        result = {"count": progress.done, "failed": progress.failed}
        try:
            reduced = reduce(selectors.job_outputs_get(job_id=job_id))
            json.dumps(reduced, allow_nan=False)  # a value the job row cannot store fails the job, not the task
            result["reduce"] = reduced
        except Exception as exc:  # the job type's code: whatever it raises fails the job, with its reason
            status, error = JobStatus.FAILED, f"reduce failed: {type(exc).__name__}: {exc}"[:2000]
    now = timezone.now()
    won = Job.objects.filter(id=job_id, status=JobStatus.RUNNING).update(
        status=status, finished_at=now, result=result, error=error
    )
    if won:
        _observe(job, status, now)
    return bool(won)


@retrying(lock=JOB_LOCK)
def job_fail(*, job_id: uuid.UUID | str, error: str) -> bool:
    """pending/running → failed because a task raised (a time limit, a bug): the job never hangs in `running`."""
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.filter(id=job_id).first()
        if job is None:
            return False
        progress = selectors.job_progress_get(job=job)
        won = Job.objects.filter(id=job_id, status__in=[JobStatus.PENDING, JobStatus.RUNNING]).update(
            status=JobStatus.FAILED,
            finished_at=now,
            error=error[:2000],
            result={"sum": progress.sum, "count": progress.done},
        )
        if won:
            _revoke_outstanding(job)
    if won:
        _observe(job, JobStatus.FAILED, now)
    return bool(won)


@retrying(lock=JOB_LOCK, restart=CANCEL_RESTART)
def job_cancel(*, job_id: uuid.UUID | str) -> Job:
    """pending/running → cancelled; revokes the outstanding tasks after the commit. Running items see the job's
    status within half a second (`selectors.job_accepts_work`) and skip the rest; recorders write nothing more."""
    job = Job.objects.filter(id=job_id).first()
    if job is None:
        raise JobNotFoundError(f"no job {job_id}")
    now = timezone.now()
    with transaction.atomic():
        won = Job.objects.filter(id=job_id, status__in=[JobStatus.PENDING, JobStatus.RUNNING]).update(
            status=JobStatus.CANCELLED, finished_at=now
        )
        if not won:
            raise JobStateError(f"job is already {selectors.job_status_get(job_id=job_id)}")
        _revoke_outstanding(job)
    _observe(job, JobStatus.CANCELLED, now)
    cancelled = selectors.job_get(job_id=job_id)
    assert cancelled is not None
    return cancelled


def _revoke_outstanding(job: Job) -> None:
    ids = canvases.outstanding_task_ids(job, selectors.job_open_chunks(job_id=job.id))[:REVOKE_MAX]
    if ids:
        transaction.on_commit(lambda: _revoke(ids))


def _revoke(task_ids: list[str]) -> None:
    """Best effort: the job's status already stops its work (checked before every item, and by every recorder), so
    a broker away at cancel time costs only work, never the cancel."""
    try:
        for start in range(0, len(task_ids), REVOKE_BATCH):
            current_app.control.revoke(task_ids[start : start + REVOKE_BATCH])
    except Exception as exc:
        if not broker_failure(exc):
            raise
        log.warning("revoking %d tasks failed (the job is stopped anyway): %s", len(task_ids), exc)


def _observe(job: Job, status: str, finished_at: datetime) -> None:
    JOBS_TOTAL.labels(workload=job.workload, status=status).inc()
    JOB_DURATION_SECONDS.labels(workload=job.workload).observe((finished_at - job.created_at).total_seconds())
