"""Publish a job's work (in a worker after its start, in the web after a retry, from the reconciler or a failure
handler to re-drive it): its canvases (`canvases.building`), sent in pipelined round trips (`canvases.sending`), while
the job runs."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from celery import current_app
from django.utils import timezone

from celerity.jobs import canvases, selectors
from celerity.jobs.canvases import sending
from celerity.jobs.errors import broker_failure
from celerity.jobs.models import Job, JobStatus

log = logging.getLogger(__name__)


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
        work = canvases.retry_canvases(job, pending=selectors.job_pending_items(job_id=job_id, chunks=every))
    else:
        work = canvases.job_canvases(job, chunks=chunks)
    with current_app.producer_or_acquire() as producer:
        for canvas in work:
            if sent and selectors.job_status_get(job_id=job_id) != JobStatus.RUNNING:
                break
            sending.canvas_publish(canvas, producer=producer)
            sent += 1
    if chunks is None:
        Job.objects.filter(id=job_id, published_at__isnull=True).update(published_at=timezone.now())
    return sent


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
