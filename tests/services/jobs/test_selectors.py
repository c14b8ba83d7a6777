"""Reads: progress summed on read, list filters, and the cheap per-item check of whether a job still accepts work."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from celerity.jobs import selectors, services
from celerity.jobs.models import Job, JobStatus, Workload
from tests.services.jobs.outcomes import outcomes

pytestmark = pytest.mark.django_db(transaction=True)


def test_progress_is_the_sum_of_the_chunk_rows(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHUNKED, items=30, chunk_size=10)
    services.job_chunk_record(job_id=str(job.id), chunk_index=0, outcomes=outcomes([i * i for i in range(10)]))
    services.job_chunk_record(job_id=str(job.id), chunk_index=2, outcomes=outcomes([None] * 10))
    annotated = selectors.job_get(job_id=job.id)
    assert annotated is not None
    computed = selectors.job_progress_get(job=Job.objects.get(id=job.id))
    assert selectors.job_progress_get(job=annotated) == computed
    assert (computed.done, computed.failed, computed.total, computed.sum) == (10, 10, 30, 285)
    assert selectors.job_open_chunks(job_id=job.id) == [1]
    assert not selectors.job_chunks_complete(job_id=job.id)


def test_the_list_is_newest_first_and_filters_by_status(started_job: Callable[..., Job]) -> None:
    first = started_job(Workload.MAP, items=5, chunk_size=5)
    second = started_job(Workload.MAP, items=5, chunk_size=5)
    services.job_cancel(job_id=first.id)
    assert [job.id for job in selectors.job_list()] == [second.id, first.id]
    assert [job.id for job in selectors.job_list(status=JobStatus.CANCELLED)] == [first.id]
    assert selectors.job_get(job_id=uuid.uuid4()) is None


def test_a_stopped_job_is_seen_by_running_items_within_half_a_second(
    started_job: Callable[..., Job], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [100.0]
    monkeypatch.setattr(selectors.time, "monotonic", lambda: clock[0])
    job = started_job(Workload.CHUNKED, items=10, chunk_size=10)
    assert selectors.job_accepts_work(job_id=str(job.id)) is True
    services.job_cancel(job_id=job.id)
    assert selectors.job_accepts_work(job_id=str(job.id)) is True, "cached: one query per half second"
    clock[0] += 0.5
    assert selectors.job_accepts_work(job_id=str(job.id)) is False


def test_ids_that_are_not_jobs_always_accept_work() -> None:
    assert selectors.job_accepts_work(job_id="probe") is True
    assert selectors.job_accepts_work(job_id=str(uuid.uuid4())) is True
