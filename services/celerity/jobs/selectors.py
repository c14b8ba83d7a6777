"""Reads: jobs, their progress summed over chunk rows, completion and cancellation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import F, QuerySet, Sum

from celerity.jobs.models import Job, JobChunk, JobStatus


@dataclass(frozen=True)
class Progress:
    done: int
    failed: int
    total: int
    sum: int


def job_get(*, job_id: uuid.UUID | str) -> Job | None:
    return Job.objects.filter(id=job_id).first()


def job_list() -> QuerySet[Job]:
    return Job.objects.order_by("-created_at", "id")


def job_progress_get(*, job: Job) -> Progress:
    """Aggregated from the per-chunk rows on read (no hot progress row to lock)."""
    totals = JobChunk.objects.filter(job=job).aggregate(done=Sum("done"), failed=Sum("failed"), total=Sum("total"))
    return Progress(
        done=totals["done"] or 0, failed=totals["failed"] or 0, total=job.items, sum=int(totals["total"] or 0)
    )


def job_chunks_complete(*, job_id: uuid.UUID | str) -> bool:
    """True once every chunk has an outcome for each of its items."""
    outstanding = F("stop") - F("start") - F("failed")
    return not JobChunk.objects.filter(job_id=job_id, done__lt=outstanding).exists()


def job_is_cancelled(*, job_id: uuid.UUID | str) -> bool:
    return Job.objects.filter(id=job_id, status=JobStatus.CANCELLED).exists()
