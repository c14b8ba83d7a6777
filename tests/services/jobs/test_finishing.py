"""Cancel and fail: one guarded UPDATE each, outstanding work revoked after the commit, metrics counted once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from celerity.jobs import services
from celerity.jobs.errors import JobNotFoundError, JobStateError
from celerity.jobs.models import Job, JobStatus, Workload
from celerity.jobs.registry import JobType, job_type_register, job_type_unregister
from celerity.observability.metrics import JOBS_TOTAL
from tests.services.jobs.outcomes import outcomes

pytestmark = pytest.mark.django_db(transaction=True)


def test_cancel_revokes_the_open_chunks_work(started_job: Callable[..., Job], sent: dict[str, list[Any]]) -> None:
    job = started_job(Workload.CHUNKED, items=40, chunk_size=10)
    services.job_chunk_record(job_id=str(job.id), chunk_index=1, outcomes=outcomes([i * i for i in range(10, 20)]))
    cancelled = services.job_cancel(job_id=job.id)
    assert cancelled.status == JobStatus.CANCELLED
    assert cancelled.finished_at is not None
    assert sent["revoked"] == [f"{job.id}-c0", f"{job.id}-c2", f"{job.id}-c3"], "chunk 1 was already recorded"


def test_cancelling_a_group_revokes_its_open_items(started_job: Callable[..., Job], sent: dict[str, list[Any]]) -> None:
    job = started_job(Workload.GROUP, items=5, chunk_size=2)
    services.job_item_record(job_id=str(job.id), index=0, outcome=(0, None))
    services.job_item_record(job_id=str(job.id), index=1, outcome=(1, None))
    services.job_cancel(job_id=job.id)
    assert sent["revoked"] == [f"{job.id}-i{i}" for i in (2, 3, 4)]


def test_cancelling_a_finished_job_is_a_conflict(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHUNKED, items=10, chunk_size=10)
    services.job_chunk_record(job_id=str(job.id), chunk_index=0, outcomes=outcomes([i * i for i in range(10)]))
    with pytest.raises(JobStateError, match="already succeeded"):
        services.job_cancel(job_id=job.id)
    with pytest.raises(JobNotFoundError):
        services.job_cancel(job_id="00000000-0000-0000-0000-000000000000")


def test_a_job_is_counted_once_however_it_ends(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.MAP, items=10, chunk_size=10)
    failed = JOBS_TOTAL.labels(workload="map", status="failed")
    before = failed._value.get()
    assert services.job_fail(job_id=job.id, error="SoftTimeLimitExceeded: ") is True
    assert services.job_fail(job_id=job.id, error="again") is False
    assert services.job_finish(job_id=job.id) is False
    with pytest.raises(JobStateError):
        services.job_cancel(job_id=job.id)
    finished = Job.objects.get(id=job.id)
    assert (finished.status, finished.error) == (JobStatus.FAILED, "SoftTimeLimitExceeded: ")
    assert finished.result == {"sum": 0, "count": 0}
    assert failed._value.get() == before + 1


@pytest.mark.parametrize(
    ("reduce", "error"),
    [
        (lambda outputs: 1 / 0, "reduce failed: ZeroDivisionError: division by zero"),
        (lambda outputs: set(outputs), "reduce failed: TypeError: Object of type set is not JSON serializable"),
    ],
)
def test_a_reduce_that_fails_fails_the_job_with_its_reason(
    started_job: Callable[..., Job], reduce: Callable[[Any], Any], error: str
) -> None:
    job_type_register(JobType(name="test-failing-reduce", function=lambda item: item, reduce=reduce))
    try:
        job = started_job(Workload.CHUNKED, items=3, chunk_size=3)
        Job.objects.filter(id=job.id).update(job_type="test-failing-reduce")
        services.job_chunk_record(job_id=str(job.id), chunk_index=0, outcomes=outcomes([1, 2, 3]))
        finished = Job.objects.get(id=job.id)
        assert (finished.status, finished.error) == (JobStatus.FAILED, error)
        assert finished.result == {"count": 3, "failed": 0}
    finally:
        job_type_unregister("test-failing-reduce")
