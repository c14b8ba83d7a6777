"""A redelivered chunk (acks_late + a lost worker) never double-counts: outcomes are written once, progress is SET."""

from __future__ import annotations

import pytest

from celerity.jobs import services
from celerity.jobs.models import Item, ItemState, Job, JobChunk, JobStatus, Workload

pytestmark = pytest.mark.django_db(transaction=True)


def _started_job(items: int, chunk_size: int) -> Job:
    job = Job.objects.create(workload=Workload.CHUNKED, items=items, chunk_size=chunk_size)
    # Start it without publishing the canvas: the test plays the workers' part.
    from django.db import transaction

    with transaction.atomic():
        Job.objects.filter(id=job.id).update(status=JobStatus.RUNNING)
        JobChunk.objects.bulk_create(
            JobChunk(job=job, index=k, start=s, stop=min(s + chunk_size, items))
            for k, s in enumerate(range(0, items, chunk_size))
        )
        services._items_copy(job)
    return job


def test_recording_a_chunk_twice_counts_it_once() -> None:
    job = _started_job(20, 10)
    values = [i * i for i in range(10)]
    assert services.job_chunk_record(job_id=str(job.id), chunk_index=0, values=values) == 10
    assert services.job_chunk_record(job_id=str(job.id), chunk_index=0, values=values) == 0
    chunk = JobChunk.objects.get(job=job, index=0)
    assert (chunk.done, chunk.failed, chunk.total) == (10, 0, sum(values))
    assert set(Item.objects.filter(job=job, index__lt=10).values_list("writes", flat=True)) == {1}
    assert Job.objects.get(id=job.id).status == JobStatus.RUNNING


def test_the_last_chunk_finishes_the_job_exactly_once() -> None:
    job = _started_job(20, 10)
    services.job_chunk_record(job_id=str(job.id), chunk_index=1, values=[i * i for i in range(10, 20)])
    services.job_chunk_record(job_id=str(job.id), chunk_index=0, values=[None, *[i * i for i in range(1, 10)]])
    services.job_chunk_record(job_id=str(job.id), chunk_index=0, values=[0] * 10)  # a late redelivery
    finished = Job.objects.get(id=job.id)
    assert finished.status == JobStatus.FAILED
    assert finished.result == {"sum": sum(i * i for i in range(1, 20)), "count": 19}
    assert Item.objects.get(job=job, index=0).state == ItemState.FAILED


def test_a_cancelled_job_records_nothing_more() -> None:
    job = _started_job(10, 10)
    services.job_cancel(job_id=job.id)
    assert services.job_chunk_record(job_id=str(job.id), chunk_index=0, values=list(range(10))) == 0
    assert Job.objects.get(id=job.id).status == JobStatus.CANCELLED
