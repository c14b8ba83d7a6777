"""Retry a failed job's failed items (`POST /api/jobs/{id}/retry`): only those run again, and the job type's reduce
runs again when they are recorded, over the stored successes plus the new results.

One transaction turns the job back to running and its failed items to PENDING (their chunk rows lose them from
`failed` and reopen); after the commit, the reopened chunks are published (`job_publish`, which sends a retry's
canvases, `canvases.retry_canvases`; with the broker away, the retry is still accepted and the reconciler publishes
them once it is back). The recorders write an outcome only where an item has none or is PENDING, so the successes
stay as they were and each retried item gains one attempt. Items a task error left without any outcome (a job failed
by `job_fail`) run too: their chunks are open.
"""

from __future__ import annotations

import uuid

from django.db import connection, transaction

from celerity.jobs import selectors
from celerity.jobs.errors import JobNotFoundError, JobStateError
from celerity.jobs.models import Item, ItemState, Job, JobChunk, JobStatus
from celerity.jobs.services.publishing import job_publish_after_commit

# Failed items back to PENDING, and their chunk rows reopened without them; returns the chunks reopened.
RESET = f"""
WITH reset AS (
    UPDATE {Item._meta.db_table} SET state = {int(ItemState.PENDING)}
    WHERE job_id = %(job)s::uuid AND state = {int(ItemState.FAILED)}
    RETURNING index
), per_chunk AS (
    SELECT index / %(chunk_size)s::int AS k, count(*) AS n FROM reset GROUP BY 1
)
UPDATE {JobChunk._meta.db_table} AS c SET failed = c.failed - p.n, complete = false
FROM per_chunk AS p WHERE c.job_id = %(job)s::uuid AND c.index = p.k
RETURNING c.index
"""  # noqa: S608 - table names and states from the models; values are bound parameters


def job_retry(*, job_id: uuid.UUID | str) -> Job:
    """failed → running, re-running the failed items only; 409 unless the job failed."""
    job = Job.objects.filter(id=job_id).first()
    if job is None:
        raise JobNotFoundError(f"no job {job_id}")
    with transaction.atomic():
        won = Job.objects.filter(id=job_id, status=JobStatus.FAILED).update(
            status=JobStatus.RUNNING, finished_at=None, result=None, error="", retries=job.retries + 1
        )
        if not won:
            raise JobStateError(f"only a failed job is retried; this one is {selectors.job_status_get(job_id=job_id)}")
        with connection.cursor() as cursor:
            cursor.execute(RESET, {"job": str(job_id), "chunk_size": job.chunk_size})
        reopened = selectors.job_open_chunks(job_id=job_id)
        transaction.on_commit(lambda: job_publish_after_commit(job_id=str(job_id), chunks=reopened))
    retried = selectors.job_get(job_id=job_id)
    assert retried is not None
    return retried
