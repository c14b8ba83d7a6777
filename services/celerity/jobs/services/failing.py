"""What a job does when one of its tasks fails (the errback every job task carries): it fails, with the error, unless
the failure is a chord's member that Celery revoked rather than one that raised.

Why that exception: when the broker connection drops, a worker cancels the tasks it has not acknowledged
(`worker_cancel_long_running_tasks_on_connection_loss`) so they are delivered again. A member handed to a pool
process that had not yet reported its start is killed instead, and Celery records it as revoked
(`TaskRevokedError('terminated')`), acknowledges its message and fails the chord: the item was never refused by the
job's code, the member will not come back, and the chord cannot complete. Celerity runs the chord again at once (its
members write only the items still missing, the body closes the job), counted as a re-drive like the reconciler's,
so a chord that keeps losing members still fails after `CELERITY_RECONCILE_MAX_REDRIVES` (docs/reliability.md).
A cancel revokes members too, but only of a job that has stopped, which nothing runs again.
"""

from __future__ import annotations

import logging

from celery.exceptions import ChordError
from django.conf import settings
from django.db.models import F

from celerity.jobs import selectors
from celerity.jobs.models import Job, JobStatus, Workload
from celerity.jobs.services.finishing import job_fail
from celerity.jobs.services.publishing import job_publish

log = logging.getLogger(__name__)


def job_task_failed(*, job_id: str, exc: BaseException) -> None:
    if member_revoked(exc) and chord_run_again(job_id=job_id, reason=str(exc)):
        return
    job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}")


def member_revoked(exc: BaseException) -> bool:
    """Celery's chord error for a member stored as revoked: `Dependency <id> raised TaskRevokedError(...)`."""
    return isinstance(exc, ChordError) and "raised TaskRevokedError(" in str(exc)


def chord_run_again(*, job_id: str, reason: str) -> bool:
    """Publish a running chord job's chord again, counted as a re-drive; False when the job stopped, is not a chord,
    or has used up its re-drives (then it fails)."""
    job = Job.objects.filter(id=job_id, status=JobStatus.RUNNING, workload=Workload.CHORD, retries=0).first()
    if job is None or job.redrives >= settings.CELERITY_RECONCILE_MAX_REDRIVES:
        return False
    if not Job.objects.filter(id=job.id, redrives=job.redrives).update(redrives=F("redrives") + 1):
        return True  # another failure of the same chord is running it again
    log.warning("job %s: %s; running its chord again (re-drive %d)", job_id, reason, job.redrives + 1)
    job_publish(job_id=job_id, chunks=selectors.job_open_chunks(job_id=job_id))
    return True
